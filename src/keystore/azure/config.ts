/**
 * The `keystore.azure.keyvault` section (Azure Key Vault, protocol.md §13.2), connected by
 * key-vault.ts.
 */
import { compact, type ConfigNode } from '../../config/config-node.js';

export type AzureConfig = {
  type: 'azure';
  endpoint: string;
  credentials?: { tenantId: string; clientId: string; clientSecret: string; authorityHost?: string };
  managedIdentity?: { clientId: string };
};

/**
 * `azure.keyvault`: endpoint required; at most one of `credentials` (tenant_id, client_id and
 * client_secret all required; authority_host optional, an openkes addition, default
 * `https://login.microsoftonline.com`) and `managed_identity` (client_id required).
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
      : compact({
          tenantId: creds.required('tenant_id'),
          clientId: creds.required('client_id'),
          clientSecret: creds.required('client_secret'),
          authorityHost: creds.optional('authority_host') || undefined,
        }),
    managedIdentity: managed.isNull ? undefined : { clientId: managed.required('client_id') },
  });
}
