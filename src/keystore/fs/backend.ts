/** `keystore.fs`: one file per key in a directory (fs.ts). */
import { backend } from '../backend.js';

export interface FsConfig {
  type: 'fs';
  /** The directory holding the key files. */
  path: string;
}

export const fsBackend = backend<FsConfig>({
  type: 'fs',
  section: { key: 'fs' },
  read: (fs) => ({ type: 'fs', path: fs.required('path') }),
  connect: async (config) => (await import('./fs.js')).FsKeyStore.open(config.path),
  describe: (config) => `Filesystem: ${config.path}`,
});
