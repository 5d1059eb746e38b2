/**
 * MinKMS's enclaves, policies and identities, kept in the key store next to the keys
 * (keystore/entry-names.ts) and read through the key cache, so that every server sharing the
 * store sees a change as it sees a changed key (docs/minkms.md "Storage"). The default enclave
 * always exists: its keys are KES's keys.
 */
import { KesError, isKesError } from '../api/errors.js';
import { KeyStoreConflictError } from '../keystore/keystore.js';
import type { KeyCache } from '../keystore/cache.js';
import {
  DEFAULT_ENCLAVE,
  enclaveContents,
  enclaveEntries,
  enclaveEntry,
  identityEntries,
  identityEntry,
  policyEntries,
  policyEntry,
} from '../keystore/entry-names.js';
import type { Timestamp } from '../util/time.js';
import {
  decodeEnclave,
  decodeIdentity,
  decodePolicy,
  encodeEnclave,
  encodeIdentity,
  encodePolicy,
  type EnclaveRecord,
  type IdentityRecord,
  type PolicyRecord,
} from './records.js';

/** Compare-and-swap attempts of an overwrite before it gives up. */
const ATTEMPTS = 10;

export class Enclaves {
  /**
   * @param cache the server's key cache
   * @param defaultCreatedAt when the default enclave "was created" (the server's start)
   */
  constructor(
    private readonly cache: KeyCache,
    private readonly defaultCreatedAt: Timestamp,
  ) {}

  // Enclaves.

  /** The enclave's record, or undefined when there is none. */
  async enclave(name: string): Promise<EnclaveRecord | undefined> {
    if (name === DEFAULT_ENCLAVE) return { createdAt: this.defaultCreatedAt, createdBy: '' };
    const bytes = await this.read(enclaveEntry(name));
    return bytes && decodeEnclave(bytes);
  }

  /** @throws KesError KMS_ERR_ENCLAVE_EXISTS */
  async createEnclave(name: string, record: EnclaveRecord): Promise<void> {
    try {
      await this.cache.create(enclaveEntry(name), encodeEnclave(record));
    } catch (err) {
      if (isKesError(err, 'KES_ERR_KEY_EXISTS')) throw new KesError('KMS_ERR_ENCLAVE_EXISTS');
      throw err;
    }
  }

  /**
   * Deletes an enclave with its keys, policies and identities. The contents go first, the
   * enclave last: an interrupted delete leaves the enclave, and deleting it again finishes.
   * @throws KesError KMS_ERR_ENCLAVE_NOT_FOUND
   */
  async deleteEnclave(name: string): Promise<void> {
    if (!(await this.enclave(name))) throw new KesError('KMS_ERR_ENCLAVE_NOT_FOUND');
    for (const prefix of enclaveContents(name)) {
      for (const entry of await collect(this.cache.list(prefix))) await this.remove(entry);
    }
    await this.remove(enclaveEntry(name));
  }

  /** The enclave names starting with prefix, sorted, the default enclave among them. */
  async *enclaveNames(prefix: string): AsyncIterable<string> {
    const offset = enclaveEntries().length;
    let pending = DEFAULT_ENCLAVE.startsWith(prefix) ? DEFAULT_ENCLAVE : undefined;
    for await (const entry of this.cache.list(enclaveEntries(prefix))) {
      const name = entry.slice(offset);
      if (pending !== undefined && pending < name) {
        yield pending;
        pending = undefined;
      }
      yield name;
    }
    if (pending !== undefined) yield pending;
  }

  // Policies.

  async policy(enclave: string, name: string): Promise<PolicyRecord | undefined> {
    const bytes = await this.read(policyEntry(enclave, name));
    return bytes && decodePolicy(bytes);
  }

  /** Creates or overwrites a policy. */
  async putPolicy(enclave: string, name: string, record: PolicyRecord): Promise<void> {
    await this.put(policyEntry(enclave, name), encodePolicy(record));
  }

  /** @throws KesError KES_ERR_POLICY_NOT_FOUND */
  async deletePolicy(enclave: string, name: string): Promise<void> {
    try {
      await this.cache.delete(policyEntry(enclave, name));
    } catch (err) {
      if (isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) throw new KesError('KES_ERR_POLICY_NOT_FOUND');
      throw err;
    }
  }

  /** The policy names of an enclave starting with prefix, sorted. */
  async *policyNames(enclave: string, prefix: string): AsyncIterable<string> {
    const offset = policyEntries(enclave).length;
    for await (const entry of this.cache.list(policyEntries(enclave, prefix))) yield entry.slice(offset);
  }

  // Identities (hex).

  async identity(enclave: string, id: string): Promise<IdentityRecord | undefined> {
    const bytes = await this.read(identityEntry(enclave, id));
    return bytes && decodeIdentity(bytes);
  }

  /** Creates or overwrites an identity. */
  async putIdentity(enclave: string, id: string, record: IdentityRecord): Promise<void> {
    await this.put(identityEntry(enclave, id), encodeIdentity(record));
  }

  /**
   * Changes an identity's record by compare-and-swap.
   * @throws KesError KES_ERR_IDENTITY_NOT_FOUND
   */
  async updateIdentity(enclave: string, id: string, edit: (r: IdentityRecord) => IdentityRecord): Promise<void> {
    const name = identityEntry(enclave, id);
    await this.change(name, (bytes) => {
      if (!bytes) throw new KesError('KES_ERR_IDENTITY_NOT_FOUND');
      return encodeIdentity(edit(decodeIdentity(bytes)));
    });
  }

  /**
   * Deletes an identity and its service accounts.
   * @throws KesError KES_ERR_IDENTITY_NOT_FOUND
   */
  async deleteIdentity(enclave: string, id: string): Promise<void> {
    if (!(await this.identity(enclave, id))) throw new KesError('KES_ERR_IDENTITY_NOT_FOUND');
    for (const account of await this.serviceAccounts(enclave, id)) await this.remove(identityEntry(enclave, account));
    await this.remove(identityEntry(enclave, id));
  }

  /** The hex identities of an enclave, sorted. */
  async identities(enclave: string): Promise<string[]> {
    const offset = identityEntries(enclave).length;
    return (await collect(this.cache.list(identityEntries(enclave)))).map((entry) => entry.slice(offset));
  }

  /** The service accounts whose parent is id. */
  async serviceAccounts(enclave: string, id: string): Promise<string[]> {
    const accounts: string[] = [];
    for (const other of await this.identities(enclave)) {
      const r = await this.identity(enclave, other);
      if (r?.serviceAccount && r.parent === id) accounts.push(other);
    }
    return accounts;
  }

  // Entries.

  private async read(name: string): Promise<Buffer | undefined> {
    try {
      return await this.cache.getRecord(name);
    } catch (err) {
      if (isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  private async remove(name: string): Promise<void> {
    try {
      await this.cache.delete(name);
    } catch (err) {
      if (!isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) throw err;
    }
  }

  /** Creates or overwrites an entry. */
  private put(name: string, value: Buffer): Promise<void> {
    return this.change(name, () => value);
  }

  /**
   * Writes what next makes of an entry's stored bytes (undefined: no entry): created when there
   * is none, else replaced by compare-and-swap, read again when another writer came first. A
   * store without compare-and-swap gets a delete and a create.
   */
  private async change(name: string, next: (stored: Buffer | undefined) => Buffer): Promise<void> {
    const { store } = this.cache;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      let stored: Buffer | undefined;
      try {
        stored = Buffer.from(await store.get(name));
      } catch (err) {
        if (!isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) throw err;
      }
      const value = next(stored);
      try {
        if (stored === undefined) await this.cache.create(name, value);
        else if (store.replace) await this.cache.replace(name, stored, value);
        else {
          await this.remove(name);
          await this.cache.create(name, value);
        }
        return;
      } catch (err) {
        if (!(err instanceof KeyStoreConflictError) && !isKesError(err, 'KES_ERR_KEY_EXISTS') && !isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) throw err;
      }
    }
    throw new KesError('KES_ERR_KEY_CHANGED');
  }
}

async function collect(names: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const name of names) all.push(name);
  return all;
}
