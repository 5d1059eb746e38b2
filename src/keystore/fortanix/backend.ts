/** `keystore.fortanix.sdkms`: Fortanix SDKMS. Recognised and checked; this version cannot connect to it. */
import { backend } from '../backend.js';
import { readFortanixConfig, type FortanixConfig } from './config.js';

export const fortanixBackend = backend<FortanixConfig>({
  type: 'fortanix',
  section: { key: 'fortanix', nested: 'sdkms' },
  read: readFortanixConfig,
  describe: (config) => `Fortanix SDKMS: ${config.endpoint}`,
});
