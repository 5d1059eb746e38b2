/** `keystore.azure.keyvault`: Azure Key Vault. Recognised and checked; this version cannot connect to it. */
import { backend } from '../backend.js';
import { readAzureConfig, type AzureConfig } from './config.js';

export const azureBackend = backend<AzureConfig>({
  type: 'azure',
  section: { key: 'azure', nested: 'keyvault' },
  read: readAzureConfig,
  describe: (config) => `Azure Key Vault: ${config.endpoint}`,
});
