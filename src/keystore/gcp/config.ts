/**
 * The `keystore.gcp.secretmanager` section (GCP Secret Manager, protocol.md §13.2): parsed and checked; this version has no
 * connector for it yet.
 */
import type { ConfigNode } from '../../config/config-node.js';

/** The GCP Secret Manager endpoint when none is configured. */
export const DEFAULT_GCP_ENDPOINT = 'secretmanager.googleapis.com:443';

export type GcpConfig = { type: 'gcp'; projectId: string; endpoint: string; scopes: string[]; credentials: { clientEmail: string; clientId: string; privateKeyId: string; privateKey: string } };

/** `gcp.secretmanager`: project_id required; endpoint defaults to DEFAULT_GCP_ENDPOINT. */
export function readGcpConfig(sm: ConfigNode): GcpConfig {
  const creds = sm.section('credentials');
  return {
    type: 'gcp',
    projectId: sm.required('project_id'),
    endpoint: sm.optional('endpoint') ?? DEFAULT_GCP_ENDPOINT,
    scopes: sm.strings('scopes').filter((scope) => scope !== ''),
    credentials: {
      clientEmail: creds.string('client_email') ?? '',
      clientId: creds.string('client_id') ?? '',
      privateKeyId: creds.string('private_key_id') ?? '',
      privateKey: creds.string('private_key') ?? '',
    },
  };
}
