/**
 * The `keystore.fortanix.sdkms` section (Fortanix DSM / SDKMS, protocol.md §13.2); the store is
 * sdkms.ts.
 */
import { compact, type ConfigNode } from '../../config/config-node.js';

export type FortanixConfig = { type: 'fortanix'; endpoint: string; groupId?: string; apiKey: string; caPath?: string };

/** `fortanix.sdkms`: endpoint and API key required. */
export function readFortanixConfig(sdkms: ConfigNode): FortanixConfig {
  return compact({
    type: 'fortanix' as const,
    endpoint: sdkms.required('endpoint'),
    groupId: sdkms.optional('group_id'),
    apiKey: sdkms.section('credentials').required('key'),
    caPath: sdkms.section('tls').optional('ca'),
  });
}
