/** `keystore.fortanix.sdkms`: Fortanix DSM / SDKMS (sdkms.ts). */
import { backend } from '../backend.js';
import { readFortanixConfig, type FortanixConfig } from './config.js';

export const fortanixBackend = backend<FortanixConfig>({
  type: 'fortanix',
  section: { key: 'fortanix', nested: 'sdkms' },
  read: readFortanixConfig,
  connect: async (config) => (await import('./sdkms.js')).FortanixKeyStore.connect(config),
  describe: (config) => `Fortanix SDKMS: ${config.endpoint}`,
});
