/** `keystore.gemalto.keysecure`: Thales CipherTrust Manager / Gemalto KeySecure (keysecure.ts). */
import { backend } from '../backend.js';
import { readGemaltoConfig, type GemaltoConfig } from './config.js';

export const gemaltoBackend = backend<GemaltoConfig>({
  type: 'gemalto',
  section: { key: 'gemalto', nested: 'keysecure' },
  read: readGemaltoConfig,
  connect: async (config) => (await import('./keysecure.js')).KeySecureKeyStore.connect(config),
  describe: (config) => `Gemalto KeySecure: ${config.endpoint}`,
});
