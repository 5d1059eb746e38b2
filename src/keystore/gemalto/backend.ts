/** `keystore.gemalto.keysecure`: Gemalto KeySecure. Recognised and checked; this version cannot connect to it. */
import { backend } from '../backend.js';
import { readGemaltoConfig, type GemaltoConfig } from './config.js';

export const gemaltoBackend = backend<GemaltoConfig>({
  type: 'gemalto',
  section: { key: 'gemalto', nested: 'keysecure' },
  read: readGemaltoConfig,
  describe: (config) => `Gemalto KeySecure: ${config.endpoint}`,
});
