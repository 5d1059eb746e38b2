/** Opens the key store a config names (kes-spec §9, §13.2). */
import type { KeyStoreConfig } from '../config/types.js';
import type { KeyStore } from './keystore.js';
import { MemKeyStore } from './memory.js';
import { FsKeyStore } from './fs/fs.js';

/** Thrown for a key store section this version cannot connect to. */
export class UnsupportedKeyStoreError extends Error {
  override readonly name = 'UnsupportedKeyStoreError';
}

/**
 * Connects to the configured key store. Backends are loaded only when configured: their client
 * libraries (gRPC for etcd, the AWS SDK, pg) would otherwise slow every `kes` command's start.
 * @throws UnsupportedKeyStoreError for backends this version does not implement
 */
export async function connectKeyStore(config: KeyStoreConfig): Promise<KeyStore> {
  switch (config.type) {
    case 'mem':
      return new MemKeyStore();
    case 'fs':
      return FsKeyStore.open(config.path);
    case 'vault':
      return (await import('./vault/vault.js')).VaultKeyStore.connect(config);
    case 'aws':
      return (await import('./aws/secrets-manager.js')).AwsSecretsManagerKeyStore.connect(config);
    case 'postgres':
      return (await import('./postgres/postgres.js')).PostgresKeyStore.connect(config);
    case 'etcd':
      return (await import('./etcd/etcd.js')).EtcdKeyStore.connect(config);
    default:
      throw new UnsupportedKeyStoreError(`keystore '${config.type}' is not supported by this version`);
  }
}
