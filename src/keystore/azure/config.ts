/**
 * The `keystore.azure.keyvault` section (Azure Key Vault, protocol.md §13.2): parsed and checked; this version has no
 * connector for it yet.
 */
import { compact, type ConfigNode } from '../../config/config-node.js';

export type AzureConfig = { type: 'azure'; endpoint: string; credentials?: { tenantId: string; clientId: string; clientSecret: string }; managedIdentity?: { clientId: string } };

/**
 * `azure.keyvault`: endpoint required; at most one of `credentials` (tenant_id, client_id and
 * client_secret all required) and `managed_identity` (client_id required).
 */
export function readAzureConfig(keyvault: ConfigNode): AzureConfig {
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
