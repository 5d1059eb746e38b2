/** `keystore.azure.keyvault`: Azure Key Vault (key-vault.ts). */
import { backend } from '../backend.js';
import { readAzureConfig, type AzureConfig } from './config.js';

export const azureBackend = backend<AzureConfig>({
  type: 'azure',
  section: { key: 'azure', nested: 'keyvault' },
  read: readAzureConfig,
  connect: async (config) => (await import('./key-vault.js')).AzureKeyVaultKeyStore.connect(config),
  describe: (config) => `Azure Key Vault: ${config.endpoint}`,
});
