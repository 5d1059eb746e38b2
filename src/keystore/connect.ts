/** Opens the key store a config names (kes-spec §9, §13.2). */
import type { KeyStoreConfig } from '../config/types.js';
import type { KeyStore } from './keystore.js';
import { MemKeyStore } from './memory.js';
import { FsKeyStore } from './fs/fs.js';
import { VaultKeyStore } from './vault/vault.js';
import { AwsSecretsManagerKeyStore } from './aws/secrets-manager.js';
import { PostgresKeyStore } from './postgres/postgres.js';
import { EtcdKeyStore } from './etcd/etcd.js';

/** Thrown for a key store section this version cannot connect to. */
export class UnsupportedKeyStoreError extends Error {
  override readonly name = 'UnsupportedKeyStoreError';
}

/**
 * Connects to the configured key store.
 * @throws UnsupportedKeyStoreError for backends this version does not implement
 */
export async function connectKeyStore(config: KeyStoreConfig): Promise<KeyStore> {
  switch (config.type) {
    case 'mem':
      return new MemKeyStore();
    case 'fs':
      return FsKeyStore.open(config.path);
    case 'vault':
      return VaultKeyStore.connect(config);
    case 'aws':
      return AwsSecretsManagerKeyStore.connect(config);
    case 'postgres':
      return PostgresKeyStore.connect(config);
    case 'etcd':
      return EtcdKeyStore.connect(config);
    default:
      throw new UnsupportedKeyStoreError(`keystore '${config.type}' is not supported by this version`);
  }
}
