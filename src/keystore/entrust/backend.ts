/** `keystore.entrust.keycontrol`: Entrust KeyControl. Recognised and checked; this version cannot connect to it. */
import { backend } from '../backend.js';
import { readEntrustConfig, type EntrustConfig } from './config.js';

export const entrustBackend = backend<EntrustConfig>({
  type: 'entrust',
  section: { key: 'entrust', nested: 'keycontrol' },
  read: readEntrustConfig,
  describe: (config) => `Entrust KeyControl: ${config.endpoint}`,
});
