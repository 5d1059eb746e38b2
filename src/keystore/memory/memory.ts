/** An in-process key store, used by dev mode and tests. Entries are lost when it is closed. */
import { KesError } from '../../api/errors.js';
import { compareNames, KeyStoreConflictError, type KeyStore, type KeyStoreState } from '../keystore.js';

export class MemKeyStore implements KeyStore {
  private readonly entries = new Map<string, Buffer>();

  async status(): Promise<KeyStoreState> {
    return { latencyMs: 1 };
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    if (this.entries.has(name)) throw new KesError('KES_ERR_KEY_EXISTS');
    this.entries.set(name, Buffer.from(value));
  }

  async get(name: string): Promise<Uint8Array> {
    const value = this.entries.get(name);
    if (!value) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    return Buffer.from(value);
  }

  async replace(name: string, expected: Uint8Array, value: Uint8Array): Promise<void> {
    const current = this.entries.get(name);
    if (!current) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    if (!current.equals(expected)) throw new KeyStoreConflictError(`memory: '${name}' was changed by another writer`);
    this.entries.set(name, Buffer.from(value));
  }

  async delete(name: string): Promise<void> {
    if (!this.entries.delete(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
  }

  async *list(prefix: string, from = ''): AsyncIterable<string> {
    const names = [...this.entries.keys()].filter((n) => n.startsWith(prefix) && compareNames(n, from) >= 0).sort(compareNames);
    yield* names;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
