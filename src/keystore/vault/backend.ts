/** `keystore.vault`: HashiCorp Vault or OpenBao KV (vault.ts). */
import { backend } from '../backend.js';
import { readVaultConfig, type VaultConfig } from './config.js';

export const vaultBackend = backend<VaultConfig>({
  type: 'vault',
  section: { key: 'vault' },
  read: readVaultConfig,
  connect: async (config) => (await import('./vault.js')).VaultKeyStore.connect(config),
  describe: (config) => `Hashicorp Vault: ${config.endpoint}`,
});
