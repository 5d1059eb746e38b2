/**
 * The `keystore.gcp.secretmanager` section (GCP Secret Manager, protocol.md §13.2); the store
 * that connects with it is secret-manager.ts.
 */
import type { ConfigNode } from '../../config/config-node.js';

/** The GCP Secret Manager endpoint when none is configured (KES's default). */
export const DEFAULT_GCP_ENDPOINT = 'https://secretmanager.googleapis.com';

/** Google's OAuth 2.0 token endpoint, the `token_uri` of every service-account key file. */
export const DEFAULT_GCP_TOKEN_URI = 'https://oauth2.googleapis.com/token';

export type GcpConfig = {
  type: 'gcp';
  projectId: string;
  endpoint: string;
  scopes: string[];
  credentials: {
    clientEmail: string;
    clientId: string;
    privateKeyId: string;
    privateKey: string;
    /** `token_uri` of the service-account key file; absent: DEFAULT_GCP_TOKEN_URI. */
    tokenUri?: string;
  };
};

/**
 * `gcp.secretmanager`: project_id required; endpoint defaults to DEFAULT_GCP_ENDPOINT;
 * `credentials.token_uri` (an openkes addition, named as in Google's service-account key files)
 * overrides the OAuth token endpoint.
 */
export function readGcpConfig(sm: ConfigNode): GcpConfig {
  const creds = sm.section('credentials');
  const tokenUri = creds.optional('token_uri');
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
      ...(tokenUri !== undefined ? { tokenUri } : {}),
    },
  };
}
