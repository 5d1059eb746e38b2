/** `keystore.entrust.keycontrol`: Entrust KeyControl (keycontrol.ts). */
import { backend } from '../backend.js';
import { readEntrustConfig, type EntrustConfig } from './config.js';

export const entrustBackend = backend<EntrustConfig>({
  type: 'entrust',
  section: { key: 'entrust', nested: 'keycontrol' },
  read: readEntrustConfig,
  connect: async (config) => (await import('./keycontrol.js')).KeyControlKeyStore.connect(config),
  describe: (config) => `Entrust KeyControl: ${config.endpoint}`,
});
