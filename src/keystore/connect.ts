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
 * Connects to the configured key store.
 * @throws UnsupportedKeyStoreError for backends this version does not implement
 */
export async function connectKeyStore(config: KeyStoreConfig): Promise<KeyStore> {
  switch (config.type) {
    case 'mem':
      return new MemKeyStore();
    case 'fs':
      return FsKeyStore.open(config.path);
    default:
      throw new UnsupportedKeyStoreError(`keystore '${config.type}' is not supported by this version`);
  }
}
