/**
 * The key cache (kes-spec §10, decisions.md): parsed key versions kept in memory between the
 * request handlers and the key store.
 *
 * - get: a hit marks the entry used; concurrent misses of one name share one store fetch.
 *   Not-found is never cached.
 * - create and list go to the store; delete goes to the store, then evicts the entry.
 * - Every `any`: drop all entries. Every `unused / 2`: drop entries not used since the previous
 *   tick. Every `statusInterval`: probe the store; a failure marks the store offline, a success
 *   online. While offline, status() fails at once, and if `offline` > 0 the other expiries are
 *   suspended so cached keys keep serving; every `offline` the cache is then emptied.
 */
import { DEFAULT_CACHE } from '../config/defaults.js';
import { parseKeyVersion, type KeyVersion } from '../crypto/key-version.js';
import { KeyStoreUnreachableError, type KeyStore, type KeyStoreState } from './keystore.js';

/** Cache expiry durations in milliseconds; 0 disables the expiry. */
export interface CacheExpiry {
  any: number;
  unused: number;
  offline: number;
}

/** The defaults KES documents (decisions.md: not the HEAD bug that sets `any` to 30 s). */
export const DEFAULT_CACHE_EXPIRY: Readonly<CacheExpiry> = DEFAULT_CACHE;

export interface KeyCacheOptions {
  expiry?: Partial<CacheExpiry>;
  /** Interval of the background store status probe (default 10 s; 0 disables it). */
  statusIntervalMs?: number;
  /** A probe that takes longer counts as a failure (default: the probe interval, or 10 s). */
  statusTimeoutMs?: number;
}

interface Entry {
  version: KeyVersion;
  used: boolean;
}

interface Fetch {
  promise: Promise<KeyVersion>;
  stale: boolean; // set when the key was deleted while it was being fetched
}

export class KeyCache {
  readonly expiry: Readonly<CacheExpiry>;
  private readonly entries = new Map<string, Entry>();
  private readonly fetches = new Map<string, Fetch>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly statusTimeoutMs: number;
  private offline = false;
  private probing = false;
  private closed = false;

  constructor(
    readonly store: KeyStore,
    options: KeyCacheOptions = {},
  ) {
    this.expiry = { ...DEFAULT_CACHE_EXPIRY, ...options.expiry };
    const statusInterval = options.statusIntervalMs ?? 10_000;
    this.statusTimeoutMs = options.statusTimeoutMs ?? (statusInterval > 0 ? statusInterval : 10_000);
    const { any, unused, offline } = this.expiry;
    if (any > 0) this.every(any, () => this.expiryAllowed() && this.entries.clear());
    if (unused > 0) this.every(unused / 2, () => this.expiryAllowed() && this.evictUnused());
    if (offline > 0) this.every(offline, () => this.offline && this.entries.clear());
    if (statusInterval > 0) this.every(statusInterval, () => void this.probe());
  }

  /** True while the last background probe of the store failed. */
  get isOffline(): boolean {
    return this.offline;
  }

  /** Number of cached keys. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The key version stored under name, from the cache or fetched (once) from the store.
   * @throws KesError KES_ERR_KEY_NOT_FOUND; store errors; KeyVersionError for corrupt entries.
   */
  async get(name: string): Promise<KeyVersion> {
    return this.peek(name) ?? this.load(name);
  }

  /** The cached version of name (marked used), or undefined: the synchronous fast path of get. */
  peek(name: string): KeyVersion | undefined {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    entry.used = true;
    return entry.version;
  }

  private async load(name: string): Promise<KeyVersion> {
    const pending = this.fetches.get(name);
    if (pending) return pending.promise;

    const fetch: Fetch = { promise: this.fetch(name), stale: false };
    this.fetches.set(name, fetch);
    try {
      const version = await fetch.promise;
      if (!fetch.stale && !this.closed) this.entries.set(name, { version, used: true });
      return version;
    } finally {
      this.fetches.delete(name);
    }
  }

  /** Stores an encoded key version. @throws KesError KES_ERR_KEY_EXISTS */
  async create(name: string, entry: Uint8Array): Promise<void> {
    await this.store.create(name, entry);
  }

  /** Deletes a key from the store, then from the cache. @throws KesError KES_ERR_KEY_NOT_FOUND */
  async delete(name: string): Promise<void> {
    await this.store.delete(name);
    this.entries.delete(name);
    const pending = this.fetches.get(name);
    if (pending) pending.stale = true;
  }

  list(prefix: string): AsyncIterable<string> {
    return this.store.list(prefix);
  }

  /**
   * The store's status; fails at once with KeyStoreUnreachableError while the background probe
   * reports the store offline.
   */
  async status(): Promise<KeyStoreState> {
    if (this.offline) throw new KeyStoreUnreachableError('key store is offline');
    return this.store.status();
  }

  /** Stops the background tasks and drops every entry. Does not close the store. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.entries.clear();
  }

  private async fetch(name: string): Promise<KeyVersion> {
    return parseKeyVersion(await this.store.get(name));
  }

  private every(ms: number, task: () => unknown): void {
    const t = setInterval(task, ms);
    t.unref?.();
    this.timers.push(t);
  }

  // Normal expiry is suspended while the store is offline and offline caching is on.
  private expiryAllowed(): boolean {
    return !(this.offline && this.expiry.offline > 0);
  }

  private evictUnused(): void {
    for (const [name, entry] of this.entries) {
      if (entry.used) entry.used = false;
      else this.entries.delete(name);
    }
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new KeyStoreUnreachableError('key store status timed out')), this.statusTimeoutMs);
        timer.unref?.();
      });
      await Promise.race([this.store.status(), timeout]);
      this.offline = false;
    } catch {
      if (!this.closed) this.offline = true;
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }
}
