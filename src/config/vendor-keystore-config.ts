/**
 * The `keystore:` sections of vendor services (kes-spec §13.2): Fortanix SDKMS, AWS Secrets
 * Manager, Gemalto KeySecure, GCP Secret Manager, Azure Key Vault and Entrust KeyControl.
 */
import { compact, type ConfigNode } from './config-node.js';
import type { AwsSecretsManagerConfig, KeyStoreConfig } from './types.js';

/** The GCP Secret Manager endpoint when none is configured. */
export const DEFAULT_GCP_ENDPOINT = 'secretmanager.googleapis.com:443';

/** `fortanix.sdkms`: endpoint and API key required. */
export function readFortanixConfig(sdkms: ConfigNode): KeyStoreConfig {
  return compact({
    type: 'fortanix' as const,
    endpoint: sdkms.required('endpoint'),
    groupId: sdkms.optional('group_id'),
    apiKey: sdkms.section('credentials').required('key'),
    caPath: sdkms.section('tls').optional('ca'),
  });
}

/** `aws.secretsmanager`: endpoint and region required; credentials only when some are set. */
export function readAwsConfig(sm: ConfigNode): AwsSecretsManagerConfig {
  const creds = sm.section('credentials');
  const credentials = compact({ accessKey: creds.optional('accesskey'), secretKey: creds.optional('secretkey'), sessionToken: creds.optional('token') });
  return compact({
    type: 'aws' as const,
    endpoint: sm.required('endpoint'),
    region: sm.required('region'),
    kmsKey: sm.optional('kmskey'),
    credentials: Object.keys(credentials).length > 0 ? credentials : undefined,
  });
}

/** `gemalto.keysecure`: endpoint and token required (`credentials.retry` is ignored). */
export function readGemaltoConfig(keysecure: ConfigNode): KeyStoreConfig {
  const creds = keysecure.section('credentials');
  return compact({
    type: 'gemalto' as const,
    endpoint: keysecure.required('endpoint'),
    token: creds.required('token'),
    domain: creds.optional('domain'),
    caPath: keysecure.section('tls').optional('ca'),
  });
}

/** `gcp.secretmanager`: project_id required; endpoint defaults to DEFAULT_GCP_ENDPOINT. */
export function readGcpConfig(sm: ConfigNode): KeyStoreConfig {
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

/**
 * `azure.keyvault`: endpoint required; at most one of `credentials` (tenant_id, client_id and
 * client_secret all required) and `managed_identity` (client_id required).
 */
export function readAzureConfig(keyvault: ConfigNode): KeyStoreConfig {
  const endpoint = keyvault.required('endpoint');
  const creds = keyvault.section('credentials');
  const managed = keyvault.section('managed_identity');
  if (!creds.isNull && !managed.isNull) keyvault.fail('credentials and managed_identity are mutually exclusive: specify at most one');
  return compact({
    type: 'azure' as const,
    endpoint,
    credentials: creds.isNull
      ? undefined
      : { tenantId: creds.required('tenant_id'), clientId: creds.required('client_id'), clientSecret: creds.required('client_secret') },
    managedIdentity: managed.isNull ? undefined : { clientId: managed.required('client_id') },
  });
}

/** `entrust.keycontrol`: endpoint, vault_id, box_id, username and password required. */
export function readEntrustConfig(keycontrol: ConfigNode): KeyStoreConfig {
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
