/**
 * The etcd v3 key store (`keystore.etcd`, an openkes addition): one etcd key per KES key,
 * `<prefix><name>`, holding the stored entry as opaque bytes.
 *
 * - create: one transaction, "if the key's create revision is 0 (it does not exist), put it";
 *   a failed comparison is KES_ERR_KEY_EXISTS. Nothing is ever overwritten.
 * - get: a linearizable range of the key; no key is KES_ERR_KEY_NOT_FOUND.
 * - delete: a delete range of the key; zero keys deleted is KES_ERR_KEY_NOT_FOUND.
 * - list: keys-only ranges of at most `pageSize` keys, each starting right after the last key
 *   of the previous page, so memory is bounded by one page. etcd returns keys in byte order,
 *   which is the UTF-8 order listings use.
 * - status: the answering member's status (it must know a leader and report no alarm), then a
 *   linearizable read, which needs a quorum.
 * - watch: an etcd watch on the prefix reports every change, other servers' included.
 *
 * Every call, the etcd3 client's retries over the endpoints included, ends by its deadline
 * (`timeoutMs`: the config's `timeout`, default 10 s). A failed connection, a missed deadline,
 * a cluster without quorum or leader are KeyStoreUnreachableError; anything else etcd answers
 * is a plain Error.
 */
import type { Etcd3 } from 'etcd3';
import { KesError } from '../../api/errors.js';
import { KeyStoreConflictError, KeyStoreUnreachableError, type KeyStore, type KeyStoreChanges, type KeyStoreState } from '../keystore.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';
import { watchPrefix } from './watch.js';
import { endpointUrls } from './endpoints.js';
import { errorMessage, isUnreachable } from './errors.js';
import { etcdKey, keyAfter, nameOf, prefixRange } from './keys.js';
import { readEtcdTls } from './tls-files.js';

/** The gRPC options of one call (the etcd3 client's type). */
type CallOptions = NonNullable<Parameters<Etcd3['kv']['range']>[1]>;

/** The `keystore.etcd` section of the config. */
export type { EtcdConfig } from './config.js';
import type { EtcdConfig } from './config.js';

/** Tuning of the store; the defaults suit production. */
export interface EtcdKeyStoreOptions {
  /**
   * Deadline of every store call, the client's retries included, in ms (default: the config's
   * `timeout`, else 10 s).
   */
  timeoutMs?: number;
  /** Keys fetched per listing request (default 1,000). */
  pageSize?: number;
}

/**
 * A key store on an etcd v3 cluster; open it with {@link EtcdKeyStore.connect}.
 * @example
 * const store = await EtcdKeyStore.connect({ type: 'etcd', endpoints: ['http://127.0.0.1:2379'], prefix: 'kes/keys/' });
 */
export class EtcdKeyStore implements KeyStore {
  private readonly prefix: Buffer;
  private readonly timeoutMs: number;
  private readonly pageSize: number;

  private constructor(
    private readonly client: Etcd3,
    /** The endpoints, with scheme. */
    readonly endpoints: readonly string[],
    prefix: string,
    options: EtcdKeyStoreOptions,
  ) {
    this.prefix = Buffer.from(prefix, 'utf8');
    this.timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS);
    this.pageSize = Math.max(1, Math.trunc(options.pageSize ?? 1_000));
  }

  /**
   * Creates a client for the cluster and checks its status (see {@link status}), so that a
   * server does not start on a cluster it cannot use.
   * @throws KeyStoreUnreachableError when the cluster cannot be reached or has no quorum
   * @throws Error for unreadable TLS files, bad endpoints, failed authentication and other
   *   answers of the cluster
   */
  static async connect(config: EtcdConfig, options: EtcdKeyStoreOptions = {}): Promise<EtcdKeyStore> {
    const hosts = endpointUrls(config.endpoints, config.tls !== undefined);
    const timeoutMs = Math.max(1, options.timeoutMs ?? config.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS);
    const credentials = config.tls ? await readEtcdTls(config.tls) : undefined;
    // Loaded here, not at module load: gRPC is heavy, and most users of this module never connect.
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({
      hosts,
      ...(credentials ? { credentials } : {}),
      ...(config.username !== undefined ? { auth: { username: config.username, password: config.password ?? '' } } : {}),
      // Bounds the calls that do not take per-call options, e.g. fetching an auth token.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    });
    const store = new EtcdKeyStore(client, hosts, config.prefix, { ...options, timeoutMs });
    try {
      await store.status();
    } catch (err) {
      await store.close();
      const message = `etcd: cannot use the cluster at ${hosts.join(', ')}: ${(err as Error).message.replace(/^etcd: (status: )?/, '')}`;
      throw err instanceof KeyStoreUnreachableError ? new KeyStoreUnreachableError(message, { cause: err }) : new Error(message, { cause: err });
    }
    return store;
  }

  /**
   * Asks the member that answers for its status, then reads one key linearizably. All within one
   * deadline.
   * @throws KeyStoreUnreachableError when the cluster cannot be reached, the member knows no
   *   leader, or the read gets no quorum in time
   * @throws Error when the member reports an alarm (e.g. NOSPACE) or refuses the read
   */
  async status(): Promise<KeyStoreState> {
    const start = performance.now();
    const deadline = this.deadline();
    const member = await this.call('status', (o) => this.client.maintenance.status(o), deadline);
    if (member.leader === '0') throw new KeyStoreUnreachableError(`etcd: member ${member.header.member_id} knows no leader (no quorum)`);
    if (member.errors.length > 0) throw new Error(`etcd: member ${member.header.member_id} reports: ${member.errors.join('; ')}`);
    await this.call('status', (o) => this.client.kv.range({ key: this.prefix.length > 0 ? this.prefix : Buffer.from([0]), count_only: true }, o), deadline);
    return { latencyMs: performance.now() - start };
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    const key = etcdKey(this.prefix, name);
    const put = { key, value: Buffer.from(value) };
    const res = await this.call(`failed to create '${name}'`, (o) =>
      this.client.kv.txn({ compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }], success: [{ request_put: put }], failure: [] }, o),
    );
    if (!res.succeeded) throw new KesError('KES_ERR_KEY_EXISTS');
  }

  async get(name: string): Promise<Uint8Array> {
    const res = await this.call(`failed to get '${name}'`, (o) => this.client.kv.range({ key: etcdKey(this.prefix, name) }, o));
    const kv = res.kvs[0];
    if (!kv) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    return Buffer.from(kv.value);
  }

  /** Compare-and-swap in one transaction: the value must still be expected. */
  async replace(name: string, expected: Uint8Array, value: Uint8Array): Promise<void> {
    const key = etcdKey(this.prefix, name);
    const res = await this.call(`failed to replace '${name}'`, (o) =>
      this.client.kv.txn(
        {
          compare: [{ key, target: 'Value', result: 'Equal', value: Buffer.from(expected) }],
          success: [{ request_put: { key, value: Buffer.from(value) } }],
          // Tells a changed entry from a missing one.
          failure: [{ request_range: { key, count_only: true } }],
        },
        o,
      ),
    );
    if (res.succeeded) return;
    const count = Number(res.responses[0]?.response_range?.count ?? 0);
    if (count === 0) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    throw new KeyStoreConflictError(`etcd: '${name}' was changed by another writer`);
  }

  async delete(name: string): Promise<void> {
    const res = await this.call(`failed to delete '${name}'`, (o) => this.client.kv.deleteRange({ key: etcdKey(this.prefix, name) }, o));
    if (Number(res.deleted) === 0) throw new KesError('KES_ERR_KEY_NOT_FOUND');
  }

  /**
   * Lists page by page. Each page is a fresh read: a key created or deleted during a listing
   * may or may not appear, but no name appears twice and the order holds.
   */
  async *list(prefix: string, from = ''): AsyncIterable<string> {
    const range = prefixRange(etcdKey(this.prefix, prefix));
    let start = from !== '' && from.startsWith(prefix) ? etcdKey(this.prefix, from) : range.key;
    for (;;) {
      // Without a sort order etcd returns keys in ascending byte order, and applies the limit
      // while reading (with a sort order it would read the whole range first).
      const res = await this.call(`failed to list '${prefix}'`, (o) =>
        this.client.kv.range({ key: start, range_end: range.rangeEnd, limit: this.pageSize, keys_only: true }, o),
      );
      for (const kv of res.kvs) {
        const name = nameOf(this.prefix, kv.key);
        if (name !== undefined) yield name;
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) return;
      start = keyAfter(last.key);
    }
  }

  /** Notifies every change under the prefix, by any writer (an etcd watch: watch.ts). */
  watch(listener: KeyStoreChanges): () => void {
    return watchPrefix(this.client, this.prefix, listener);
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private deadline(): number {
    return Date.now() + this.timeoutMs;
  }

  /**
   * Runs one etcd call with the deadline (the client applies it to each of its retries) and
   * a timer at the same instant, so that the call ends by then whatever the client does.
   * Translates the failure: KeyStoreUnreachableError or a plain Error, prefixed `etcd: <what>`.
   */
  private async call<T>(what: string, run: (options: CallOptions) => Promise<T>, deadline = this.deadline()): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KeyStoreUnreachableError(`etcd: ${what}: no answer within ${this.timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
      timer.unref?.();
    });
    try {
      return await Promise.race([run({ deadline }), expired]);
    } catch (err) {
      if (err instanceof KeyStoreUnreachableError) throw err;
      const message = `etcd: ${what}: ${errorMessage(err)}`;
      throw isUnreachable(err) ? new KeyStoreUnreachableError(message, { cause: err }) : new Error(message, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}
