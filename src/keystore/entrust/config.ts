/** The `keystore.entrust.keycontrol` section (Entrust KeyControl, protocol.md §13.2); the store is keycontrol.ts. */
import { compact, type ConfigNode } from '../../config/config-node.js';

export type EntrustConfig = { type: 'entrust'; endpoint: string; vaultId: string; boxId: string; username: string; password: string; caPath?: string };

/** `entrust.keycontrol`: endpoint, vault_id, box_id, username and password required. */
export function readEntrustConfig(keycontrol: ConfigNode): EntrustConfig {
  const creds = keycontrol.section('credentials');
  return compact({
    type: 'entrust' as const,
    endpoint: keycontrol.required('endpoint'),
    vaultId: keycontrol.required('vault_id'),
    boxId: keycontrol.required('box_id'),
    username: creds.required('username'),
    password: creds.required('password'),
    caPath: keycontrol.section('tls').optional('ca'),
  });
}
