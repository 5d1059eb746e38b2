/**
 * The HashiCorp Vault / OpenBao key store (protocol.md §9.3 `keystore.vault`): keys are secrets
 * of a KV engine (v1 or v2) in KES's layout, so keys written by KES are read and the other way
 * round, optionally wrapped by a transit key.
 *
 * Failures map onto the KeyStore contract:
 * - sealed or uninitialised Vault, network failures, time-outs, 429/502/503/504 answers →
 *   KeyStoreUnreachableError;
 * - 403 (token expired or revoked, or not allowed) → one new login and one retry, then an
 *   error;
 * - a replace whose check-and-set lost (KV v2) → KeyStoreConflictError;
 * - anything else → an error whose message starts with `vault: failed to <op> '<name>': `.
 * No message ever contains a token, a credential or a stored value.
 */
import { KesError } from '../../api/errors.js';
import type { VaultConfig } from './config.js';
import { compareNames, KeyStoreConflictError, KeyStoreUnreachableError, type KeyStore, type KeyStoreState } from '../keystore.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';
import { decodeEntry, encodeEntry, isTransitCiphertext } from './entry-encoding.js';
import { SEALED_MESSAGE, VaultHealth } from './health.js';
import { VaultHttpClient, VaultResponseError } from './http-client.js';
import { checkAndSetOf, kvEngine, type KvCheckAndSet, type KvEngine } from './kv.js';
import { isUnavailableStatus, loginMethodFor, normalizeNamespace } from './login.js';
import { TokenLifecycle } from './token-lifecycle.js';
import { TransitWrapping } from './transit.js';

/** The deadline of one Vault request when the config sets none. */
export const DEFAULT_VAULT_TIMEOUT_MS = DEFAULT_STORE_TIMEOUT_MS;

/** Tuning that is not part of the config file. */
export interface VaultKeyStoreOptions {
  /** Pause between failed logins and renewals (default 3 s). */
  retryMs?: number;
  /** Names asked for per LIST request from servers that paginate (default 1,000). */
  listPageSize?: number;
}

export class VaultKeyStore implements KeyStore {
  /**
   * Compare-and-swap (KeyStore.replace) with KV v2's check-and-set: read the current version,
   * compare its value with expected, write the new value with `options.cas` = that version.
   * KV v1 has no check-and-set, so a store on KV v1 has no `replace` property at all (`declare`
   * emits no field): the server sees `replace === undefined` and refuses to rotate its keys.
   */
  declare readonly replace?: (name: string, expected: Uint8Array, value: Uint8Array) => Promise<void>;

  private constructor(
    private readonly http: VaultHttpClient,
    private readonly health: VaultHealth,
    private readonly auth: TokenLifecycle,
    private readonly kv: KvEngine,
    private readonly transit: TransitWrapping | undefined,
    private readonly listPageSize: number,
  ) {
    const cas = checkAndSetOf(kv);
    if (cas) this.replace = (name, expected, value) => this.replaceEntry(cas, name, expected, value);
  }

  /**
   * Connects: logs in (or looks up the static token) and starts the background health checks
   * and token renewals. A Vault that is unreachable or sealed now does not fail the connect:
   * operations fail with KeyStoreUnreachableError until it is back, and the login is retried.
   * @throws Error for a config that cannot work (bad endpoint, unreadable TLS files) or
   *   credentials Vault refuses
   */
  static async connect(config: VaultConfig, options: VaultKeyStoreOptions = {}): Promise<VaultKeyStore> {
    const http = new VaultHttpClient(config.endpoint, { timeoutMs: config.timeoutMs ?? DEFAULT_VAULT_TIMEOUT_MS, tls: config.tls });
    const namespace = normalizeNamespace(config.namespace);
    const health = new VaultHealth(http);
    const auth = new TokenLifecycle(http, loginMethodFor(config), { retryMs: options.retryMs, isSealed: () => health.sealState !== 'unsealed' });
    const kv = kvEngine(config.version, http, { engine: config.engine, prefix: config.prefix ?? '', namespace });
    const transit = config.transit ? new TransitWrapping(http, config.transit.engine, config.transit.key, namespace) : undefined;
    const store = new VaultKeyStore(http, health, auth, kv, transit, Math.max(1, options.listPageSize ?? 1000));
    try {
      await auth.start();
    } catch (err) {
      if (!(err instanceof KeyStoreUnreachableError)) {
        await store.close();
        throw new Error(`vault: ${auth.method.kind} authentication failed: ${(err as Error).message}`, { cause: err });
      }
    }
    health.start(config.statusPingMs);
    return store;
  }

  /**
   * Vault's health (`GET /v1/sys/health`) and its round trip. Also fails while the store holds
   * no token because Vault refused the credentials.
   */
  async status(): Promise<KeyStoreState> {
    const state = await this.health.check();
    const failure = this.auth.lastError;
    if (!this.auth.hasValidToken && failure && !(failure instanceof KeyStoreUnreachableError)) {
      throw new Error(`vault: not authenticated: ${failure.message}`);
    }
    return state;
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    if (!isValidSecretName(name)) throw new Error(`vault: key name '${name}' cannot be a Vault secret name`);
    const copy = Uint8Array.from(value);
    await this.run('create', name, async (token) => {
      const stored = () => (this.transit ? this.transit.wrap(copy, token) : Promise.resolve(encodeEntry(copy)));
      if (!(await this.kv.create(name, stored, token))) throw new KesError('KES_ERR_KEY_EXISTS');
    });
  }

  async get(name: string): Promise<Uint8Array> {
    if (!isValidSecretName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    return this.run('get', name, async (token) => {
      const stored = await this.kv.read(name, token);
      if (stored === undefined) throw new KesError('KES_ERR_KEY_NOT_FOUND');
      return this.valueOf(stored, token);
    });
  }

  async delete(name: string): Promise<void> {
    if (!isValidSecretName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    await this.run('delete', name, async (token) => {
      if (!(await this.kv.delete(name, token))) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    });
  }

  /**
   * The names in the prefix folder that start with prefix, sorted by bytes. Servers that
   * paginate lists (OpenBao) are read page by page from the first name that can match, so
   * memory is bounded by a page; Vault answers a folder in one response, which is then
   * filtered and sorted once.
   */
  async *list(prefix: string): AsyncIterable<string> {
    // Start just before the prefix: every name ≥ prefix is > prefix minus its last character.
    let after: string | undefined = prefix === '' ? undefined : [...prefix].slice(0, -1).join('');
    for (;;) {
      const from = after;
      const page = await this.run('list', undefined, (token) => this.kv.list(from, this.listPageSize, token));
      const sorted = page.filter((n) => from === undefined || compareNames(n, from) > 0).sort(compareNames);
      for (const name of sorted) {
        if (name.endsWith('/')) continue; // a sub-folder, not a key
        if (name.startsWith(prefix)) yield name;
        else if (compareNames(name, prefix) > 0) return; // past every name with the prefix
      }
      // A short page is the last one; a longer one came from a server that does not paginate.
      if (page.length !== this.listPageSize || sorted.length === 0) return;
      after = sorted[sorted.length - 1];
    }
  }

  async close(): Promise<void> {
    this.health.close();
    this.auth.close();
    this.http.close();
  }

  private async replaceEntry(cas: KvCheckAndSet, name: string, expected: Uint8Array, value: Uint8Array): Promise<void> {
    if (!isValidSecretName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const want = Buffer.from(expected);
    const copy = Uint8Array.from(value);
    await this.run('replace', name, async (token) => {
      let stored: string | undefined;
      // A refused write means the version moved since the read: read again. Deleted → not
      // found (the refused write created nothing); another value → conflict; the expected
      // value again (written back by another writer) → the swap is still due on the new version.
      for (;;) {
        const current = await cas.readVersion(name, token);
        if (current === undefined) throw new KesError('KES_ERR_KEY_NOT_FOUND');
        if (!want.equals(await this.valueOf(current.stored, token))) throw new KeyStoreConflictError(`vault: '${name}' was changed by another writer`);
        stored ??= this.transit ? await this.transit.wrap(copy, token) : encodeEntry(copy);
        if (await cas.writeIfCurrent(name, stored, current.version, token)) return;
      }
    });
  }

  /** The value of a stored string: unwrapped by transit, or decoded. */
  private async valueOf(stored: string, token: string): Promise<Uint8Array> {
    if (!isTransitCiphertext(stored)) return decodeEntry(stored);
    if (!this.transit) throw new Error('the entry is wrapped by a transit key, but keystore.vault.transit is not configured');
    return this.transit.unwrap(stored, token);
  }

  /** Runs one operation with the current token, once more with a new one after a 403. */
  private async run<T>(op: string, name: string | undefined, fn: (token: string) => Promise<T>): Promise<T> {
    try {
      this.health.assertUnsealed();
      const token = await this.auth.token();
      try {
        return await fn(token);
      } catch (err) {
        if (!(err instanceof VaultResponseError && err.status === 403)) throw err;
        const fresh = await this.auth.refresh(token);
        if (fresh === undefined) throw err;
        return await fn(fresh);
      }
    } catch (err) {
      throw this.translate(err, name === undefined ? `failed to ${op}` : `failed to ${op} '${name}'`);
    }
  }

  private translate(err: unknown, context: string): Error {
    if (err instanceof KesError || err instanceof KeyStoreConflictError) return err;
    if (err instanceof KeyStoreUnreachableError) {
      return err.message.startsWith('vault: key store is') ? err : new KeyStoreUnreachableError(`vault: ${context}: ${err.message}`, { cause: err });
    }
    if (err instanceof VaultResponseError) {
      if (err.status === 503 && err.errors.some((e) => /sealed/i.test(e))) {
        this.health.markSealed();
        return new KeyStoreUnreachableError(SEALED_MESSAGE, { cause: err });
      }
      if (isUnavailableStatus(err.status)) return new KeyStoreUnreachableError(`vault: ${context}: ${err.message}`, { cause: err });
    }
    return new Error(`vault: ${context}: ${(err as Error).message}`, { cause: err });
  }
}

/** Names that map to exactly one secret: not empty, no `/`, not `.` or `..`. */
export function isValidSecretName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/');
}
