/**
 * The key cache (protocol.md §10, §20.7): parsed keys (rings of versions) kept in memory between the
 * request handlers and the key store.
 *
 * - get: a hit marks the entry used; concurrent misses of one name share one store fetch.
 *   A missing key is never cached; a missing record (getRecord) is, as an empty record.
 * - create and list go to the store; delete goes to the store, then evicts the entry; after a
 *   create, import or delete every cache of the server has dropped the name before the call
 *   returns.
 * - Expiry (every `any`: all entries; every `unused / 2`: entries not used since the previous
 *   sweep; while the store is offline and `offline` > 0 only every `offline`), the store status
 *   probe and the store's change notifications are the {@link CacheKeeper}'s. A cache made with
 *   `new KeyCache(store, options)` has its own keeper; a cluster worker's cache is linked to
 *   the keeper of its primary, which keeps all workers' caches as one.
 */
import { isKesError, KesError } from '../api/errors.js';
import { DEFAULT_CACHE } from '../config/defaults.js';
import { parseKeyRing } from '../crypto/key-ring-entry.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { KeyStoreUnreachableError, type KeyStore, type KeyStoreState } from './keystore.js';
import { CacheKeeper, type CacheExpiry, type CacheLink, type CacheReplicas, type KeeperOptions } from './cache-keeper.js';
import { holdsKey } from './entry-names.js';
import type { CacheCounters } from '../metrics/metrics.js';

export type { CacheExpiry, CacheLink } from './cache-keeper.js';

/** The defaults KES documents (protocol.md §20.7: not the HEAD bug that sets `any` to 30 s). */
export const DEFAULT_CACHE_EXPIRY: Readonly<CacheExpiry> = DEFAULT_CACHE;

export interface KeyCacheOptions extends Omit<KeeperOptions, 'expiry'> {
  /** Expiries; a missing one gets its default, 0 turns it off. */
  expiry?: Partial<CacheExpiry>;
  /**
   * The keeper of this cache lives elsewhere (a cluster's primary): expiry, status probe and
   * notifications are its business, and the other options are ignored.
   */
  link?: CacheLink;
  /** Counts hits and misses (the server's metrics). */
  counters?: CacheCounters;
}

/** A link that delivers a remote keeper's fills and evictions to the cache attached to it. */
export interface ReplicaLink extends CacheLink {
  /** From now on, fills and evictions go to this cache (the current state's, after a reload). */
  attach(cache: KeyCache): void;
}

/**
 * A cached entry: a parsed key ring, or the bytes of one of openkes's own records (enclaves,
 * policies, identities: entry-names.ts), which their readers decode.
 */
type Value = KeyRing | Buffer;

interface Entry {
  value: Value;
  used: boolean;
}

interface Fetch {
  promise: Promise<Value>;
  stale: boolean; // set when the key was invalidated while it was being fetched
}

export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly fetches = new Map<string, Fetch>();
  private readonly keeper: CacheKeeper | undefined;
  private readonly link: CacheLink;
  private closed = false;
  private readonly counters: CacheCounters | undefined;

  constructor(
    readonly store: KeyStore,
    options: KeyCacheOptions = {},
  ) {
    this.counters = options.counters;
    if (options.link) {
      this.keeper = undefined;
      this.link = options.link;
    } else {
      this.keeper = new CacheKeeper(store, replicasOf(this), { ...options, expiry: { ...DEFAULT_CACHE_EXPIRY, ...options.expiry } });
      this.link = this.keeper.link();
    }
  }

  /** The expiries of this cache's own keeper (the defaults for a linked cache). */
  get expiry(): Readonly<CacheExpiry> {
    return this.keeper?.expiry ?? DEFAULT_CACHE_EXPIRY;
  }

  /** True while the last status probe of the store failed. */
  get isOffline(): boolean {
    return this.link.offline;
  }

  /** Number of cached keys. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The key stored under name, from the cache or fetched (once) from the store.
   * @throws KesError KES_ERR_KEY_NOT_FOUND; store errors; KeyVersionError for corrupt entries.
   */
  async get(name: string): Promise<KeyRing> {
    const cached = this.peek(name);
    if (cached) return cached;
    this.counters?.cacheMiss();
    return this.load(name) as Promise<KeyRing>;
  }

  /** The cached key name (marked used), or undefined: the synchronous fast path of get. */
  peek(name: string): KeyRing | undefined {
    const entry = this.entries.get(name);
    if (!entry || !holdsKey(name)) return undefined;
    entry.used = true;
    this.counters?.cacheHit();
    return entry.value as KeyRing;
  }

  /**
   * The bytes of one of openkes's own records (entry-names.ts), cached like keys.
   * @throws KesError KES_ERR_KEY_NOT_FOUND; store errors
   */
  async getRecord(name: string): Promise<Buffer> {
    if (holdsKey(name)) throw new Error(`'${name}' names a key, not a record`);
    const entry = this.entries.get(name);
    let value: Buffer;
    if (entry) {
      entry.used = true;
      this.counters?.cacheHit();
      value = entry.value as Buffer;
    } else {
      this.counters?.cacheMiss();
      value = (await this.load(name, true)) as Buffer;
    }
    if (value.length === 0) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    return value;
  }

  /**
   * @param absentToo cache a missing entry too (as an empty record), for records: a request of an
   *   identity that is no runtime identity looks its record up every time, and must not cost a
   *   store read each time. Creates evict it like any entry.
   */
  private async load(name: string, absentToo = false): Promise<Value> {
    const pending = this.fetches.get(name);
    if (pending) return pending.promise;

    const seen = this.link.seen();
    let stored: Buffer | undefined;
    const fetch: Fetch = {
      promise: this.store.get(name).then(
        (bytes) => {
          stored = Buffer.from(bytes);
          return parseEntry(name, stored);
        },
        (err: unknown) => {
          if (!absentToo || !isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) throw err;
          stored = ABSENT;
          return ABSENT;
        },
      ),
      stale: false,
    };
    this.fetches.set(name, fetch);
    try {
      const value = await fetch.promise;
      if (!fetch.stale && !this.closed) {
        this.entries.set(name, { value, used: true });
        this.link.filled(name, stored!, seen);
      }
      return value;
    } finally {
      this.fetches.delete(name);
    }
  }

  /** Stores an encoded key. @throws KesError KES_ERR_KEY_EXISTS */
  async create(name: string, entry: Uint8Array): Promise<void> {
    await this.store.create(name, entry);
    await this.link.written(name);
  }

  /**
   * Replaces a key's entry by compare-and-swap (a rotation), then drops the name from every
   * cache of the server before it returns.
   * @throws KeyStoreConflictError, KesError KES_ERR_KEY_NOT_FOUND (KeyStore.replace)
   */
  async replace(name: string, expected: Uint8Array, entry: Uint8Array): Promise<void> {
    if (!this.store.replace) throw new Error('the key store cannot change entries');
    await this.store.replace(name, expected, entry);
    this.evict([name]);
    await this.link.written(name);
  }

  /**
   * Deletes a key from the store, then from every cache of the server. A name the store does
   * not know is dropped from the caches too (a copy deleted elsewhere).
   * @throws KesError KES_ERR_KEY_NOT_FOUND
   */
  async delete(name: string): Promise<void> {
    try {
      await this.store.delete(name);
    } catch (err) {
      if (!isKesError(err, 'KES_ERR_KEY_NOT_FOUND') || !this.entries.has(name)) throw err;
      this.evict([name]);
      await this.link.written(name);
      throw err;
    }
    this.evict([name]);
    await this.link.written(name);
  }

  list(prefix: string, from?: string): AsyncIterable<string> {
    return this.store.list(prefix, from);
  }

  /**
   * The store's status; fails at once with KeyStoreUnreachableError while the background probe
   * reports the store offline.
   */
  async status(): Promise<KeyStoreState> {
    if (this.link.offline) throw new KeyStoreUnreachableError('key store is offline');
    return this.store.status();
  }

  /** Stops the background tasks (of its own keeper) and drops every entry. Does not close the store. */
  close(): void {
    this.closed = true;
    this.keeper?.close();
    this.entries.clear();
  }

  // The replica side: what a keeper does to this cache.

  /** Caches an entry another cache of the server fetched (not marked used). */
  insert(name: string, entry: Buffer): void {
    if (this.closed) return;
    let value: Value;
    try {
      value = parseEntry(name, entry);
    } catch {
      return; // its fetcher parsed it: cannot happen, and a corrupt entry is never cached
    }
    this.entries.set(name, { value, used: this.entries.get(name)?.used ?? false });
  }

  /** Drops the names (every entry for 'all'); fetches of them in flight will not be cached. */
  evict(names: readonly string[] | 'all'): void {
    if (names === 'all') {
      this.entries.clear();
      for (const fetch of this.fetches.values()) fetch.stale = true;
      return;
    }
    for (const name of names) {
      this.entries.delete(name);
      const pending = this.fetches.get(name);
      if (pending) pending.stale = true;
    }
  }

  /** The names used since the previous call; clears the marks. */
  takeUsed(): string[] {
    const used: string[] = [];
    for (const [name, entry] of this.entries) {
      if (!entry.used) continue;
      used.push(name);
      entry.used = false;
    }
    return used;
  }
}

/** A record known to be missing (records are never empty). */
const ABSENT = Buffer.alloc(0);

/** A key's entry parsed as a ring; a record's kept as bytes. */
function parseEntry(name: string, stored: Buffer): Value {
  return holdsKey(name) ? parseKeyRing(stored) : stored;
}

/** The replicas of a cache's own keeper: the cache alone. */
function replicasOf(cache: KeyCache): CacheReplicas {
  return {
    fill: () => undefined, // the only replica filled itself
    evict: async (_seq, names) => cache.evict(names),
    takeUsed: async () => new Set(cache.takeUsed()),
    offline: () => undefined, // read through the link
  };
}
