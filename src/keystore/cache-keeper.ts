/**
 * The keeper of a server's key cache: it makes the caches of a server behave as one, and keeps
 * them in step with the key store (docs/scale-out.md, "Consistency").
 *
 * A server holds its cached keys in one KeyCache per process that serves requests: the keeper's
 * replicas (one in a single-process server, one per worker in a cluster, whose primary runs the
 * keeper). The keeper
 * - passes a key one replica fetched from the store on to every other replica, so that all of
 *   them serve it, also while the store is offline;
 * - after a create, import or delete, has every replica drop the name before the request is
 *   answered;
 * - applies the `any`, `unused` (unused by every replica) and `offline` expiries to all replicas
 *   at once, from one clock, and decides with one status probe whether the store is offline;
 * - evicts a name everywhere when the store notifies a change (etcd watch, PostgreSQL LISTEN:
 *   writes of other servers), and when notifications resume after an interruption re-reads
 *   every cached key and drops those that changed.
 *
 * A cached entry is identified by a fingerprint of its stored bytes (the entry holds the key,
 * its creation time and creator), so that a different version read from the store (a miss
 * elsewhere, a resynchronisation) is recognized and the stale copies are replaced.
 *
 * Invalidations are numbered. A replica reports a fetch with the number of the last
 * invalidation it had seen when the fetch began, so that a fetch overtaken by an invalidation of
 * its name is never passed on to the other replicas (the replica itself drops it on the
 * invalidation).
 */
import { createHash } from 'node:crypto';
import { DEFAULT_STORE_TIMEOUT_MS, STORE_STATUS_INTERVAL_MS } from '../config/defaults.js';
import { isKesError } from '../api/errors.js';
import { KeyStoreUnreachableError, type KeyStore } from './keystore.js';

/** Cache expiry durations in milliseconds; 0 disables the expiry. */
export interface CacheExpiry {
  any: number;
  unused: number;
  offline: number;
}

export interface KeeperOptions {
  /** The expiries, complete: the config's (defaults applied where it was read). */
  expiry: Readonly<CacheExpiry>;
  /** Interval of the background store status probe (default 10 s; 0 disables it). */
  statusIntervalMs?: number;
  /** A probe that takes longer counts as a failure (default: the probe interval, or 10 s). */
  statusTimeoutMs?: number;
  /** Where interruptions, resynchronisations and store state changes are reported. */
  log?: KeeperLog;
  /** The number the invalidations continue from (the previous keeper's, on a reload). */
  firstSeq?: number;
}

export interface KeeperLog {
  info(message: string): void;
  warn(message: string): void;
}

/** Identifies a replica (a cluster worker); undefined for a cache in the keeper's process. */
export type ReplicaId = number | undefined;

/** The caches a keeper keeps, reached directly or through the cluster's IPC channels. */
export interface CacheReplicas {
  /** Gives every replica but `from` an entry `from` fetched from the store. */
  fill(name: string, entry: Buffer, from: ReplicaId): void;
  /**
   * Makes every replica drop the names (all entries for 'all') and forget its fetches of them
   * in flight, and learn the invalidation's number; resolves when every replica has done so.
   */
  evict(seq: number, names: readonly string[] | 'all'): Promise<void>;
  /**
   * The names any replica used since the previous call (each replica then clears its marks);
   * undefined when a replica did not answer.
   */
  takeUsed(): Promise<ReadonlySet<string> | undefined>;
  /** Tells every replica whether the store is offline. */
  offline(offline: boolean): void;
}

/** How a cache reaches its keeper. */
export interface CacheLink {
  /** The number of the last invalidation the cache's process has seen. */
  seen(): number;
  /** The cache fetched name from the store, having seen invalidations up to `seen`. */
  filled(name: string, entry: Buffer, seen: number): void;
  /** After a create, import or delete: resolves once every cache of the server dropped name. */
  written(name: string): Promise<void>;
  /** The last status probe of the store failed. */
  readonly offline: boolean;
}

/** The fingerprint of a stored entry: the first 128 bits of its SHA-256, base64url. */
export function fingerprintOf(entry: Uint8Array): string {
  return createHash('sha256').update(entry).digest('base64url').slice(0, 22);
}

/** Invalidations are remembered this long: far longer than any store call takes. */
const INVALIDATION_MEMORY_MS = 120_000;
/** Keys re-read at once by a resynchronisation. */
const RESYNC_CONCURRENCY = 8;

interface Kept {
  entry: Buffer;
  fingerprint: string;
}

export class CacheKeeper {
  readonly expiry: Readonly<CacheExpiry>;
  private readonly entries = new Map<string, Kept>();
  /** name → number and time of its last invalidation. */
  private readonly invalidations = new Map<string, { seq: number; at: number }>();
  /** Fetches that began before this number are not trusted (a resynchronisation, or forgotten invalidations). */
  private floor: number;
  private counter: number;
  private offlineNow = false;
  private probing = false;
  private sweeping = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly stopWatching: (() => void) | undefined;
  private readonly statusTimeoutMs: number;
  private readonly log: KeeperLog;

  constructor(
    readonly store: KeyStore,
    private readonly replicas: CacheReplicas,
    options: KeeperOptions,
  ) {
    this.expiry = options.expiry;
    this.counter = this.floor = options.firstSeq ?? 0;
    this.log = options.log ?? { info: () => undefined, warn: () => undefined };
    const statusInterval = options.statusIntervalMs ?? STORE_STATUS_INTERVAL_MS;
    this.statusTimeoutMs = options.statusTimeoutMs ?? (statusInterval > 0 ? statusInterval : DEFAULT_STORE_TIMEOUT_MS);
    const { any, unused, offline } = this.expiry;
    if (any > 0) this.every(any, () => this.expiryAllowed() && this.invalidate('all', false));
    if (unused > 0) this.every(unused / 2, () => this.sweep());
    if (offline > 0) this.every(offline, () => this.offlineNow && this.invalidate('all', false));
    if (statusInterval > 0) this.every(statusInterval, () => this.probe());
    this.every(INVALIDATION_MEMORY_MS / 2, () => this.forgetOldInvalidations());
    this.stopWatching = store.watch?.({
      changed: (name) => void this.invalidate([name]),
      interrupted: (reason) => this.log.warn(`key cache: key store notifications interrupted (${reason}): until they resume, changes made through other servers are seen when cached keys expire`),
      resumed: () => void this.resync(),
    });
  }

  /** The number of the last invalidation. */
  get seq(): number {
    return this.counter;
  }

  /** True while the last status probe of the store failed. */
  get isOffline(): boolean {
    return this.offlineNow;
  }

  /** Number of keys cached by the server. */
  get size(): number {
    return this.entries.size;
  }

  /** The link of a cache to this keeper; `replica` names the cache, undefined for one in this process. */
  link(replica?: ReplicaId): CacheLink {
    const keeper = this;
    return {
      seen: () => keeper.counter,
      filled: (name, entry, seen) => keeper.filled(name, entry, seen, replica),
      written: (name) => keeper.invalidate([name]),
      get offline() {
        return keeper.offlineNow;
      },
    };
  }

  /** Every cached entry and the number of the last invalidation, for a replica that starts. */
  snapshot(): { seq: number; entries: [string, Buffer][] } {
    return { seq: this.counter, entries: [...this.entries].map(([name, kept]) => [name, kept.entry]) };
  }

  /** A replica fetched name from the store, having seen invalidations up to `seen`. */
  filled(name: string, entry: Buffer, seen: number, from: ReplicaId): void {
    if (this.closed) return;
    // Fetched before a resynchronisation: it may hold a change that was not notified.
    if (seen < this.floor) return void this.invalidate([name], false);
    // Overtaken by an invalidation of the name: the replica drops it on that invalidation.
    const last = this.invalidations.get(name);
    if (last && last.seq > seen) return;
    const fingerprint = fingerprintOf(entry);
    const known = this.entries.get(name);
    if (known?.fingerprint === fingerprint) return;
    if (known) this.log.warn(`key cache: key '${name}' changed in the key store without a notification: the cached copies are replaced`);
    this.entries.set(name, { entry, fingerprint });
    this.replicas.fill(name, entry, from);
  }

  /**
   * Makes every cache of the server drop the names (all for 'all'); resolves when all did.
   * @param remember fetches of the names that began before are not passed on (false for expiry)
   */
  async invalidate(names: readonly string[] | 'all', remember = true): Promise<void> {
    const seq = ++this.counter;
    if (names === 'all') {
      this.entries.clear();
      if (remember) this.floor = seq;
    } else {
      const at = Date.now();
      for (const name of names) {
        this.entries.delete(name);
        if (remember) this.invalidations.set(name, { seq, at });
      }
    }
    await this.replicas.evict(seq, names);
  }

  /** Stops the timers, the probe and the store notifications. Does not close the store. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.stopWatching?.();
    this.entries.clear();
  }

  /**
   * After notifications resumed: re-reads every cached key and drops those that changed, are
   * gone or cannot be read. Fetches that began before are not passed on.
   */
  private async resync(): Promise<void> {
    if (this.closed) return;
    const seq = ++this.counter;
    this.floor = seq;
    await this.replicas.evict(seq, []);
    const names = [...this.entries.keys()];
    const stale: string[] = [];
    let next = 0;
    const check = async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const kept = this.entries.get(name);
        if (!kept) continue;
        try {
          if (fingerprintOf(await this.store.get(name)) !== kept.fingerprint) stale.push(name);
        } catch (err) {
          stale.push(name); // gone (KES_ERR_KEY_NOT_FOUND) or not readable: not verified
          if (!isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) this.log.warn(`key cache: cannot re-read key '${name}': ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: RESYNC_CONCURRENCY }, check));
    if (stale.length > 0) await this.invalidate(stale);
    this.log.info(`key cache: key store notifications resumed: re-read ${names.length} cached keys, dropped ${stale.length} that changed or could not be read`);
  }

  /** Every `unused / 2`: drops the keys no replica used since the previous sweep. */
  private async sweep(): Promise<void> {
    if (!this.expiryAllowed() || this.sweeping) return;
    this.sweeping = true;
    try {
      const used = await this.replicas.takeUsed();
      if (!used) return; // a replica did not answer: keep everything this time
      const unused = [...this.entries.keys()].filter((name) => !used.has(name));
      if (unused.length > 0) await this.invalidate(unused, false);
    } finally {
      this.sweeping = false;
    }
  }

  private forgetOldInvalidations(): void {
    const before = Date.now() - INVALIDATION_MEMORY_MS;
    for (const [name, { seq, at }] of this.invalidations) {
      if (at >= before) continue;
      this.invalidations.delete(name);
      this.floor = Math.max(this.floor, seq);
    }
  }

  private every(ms: number, task: () => unknown): void {
    const t = setInterval(() => void task(), ms);
    t.unref?.();
    this.timers.push(t);
  }

  // Normal expiry is suspended while the store is offline and offline caching is on.
  private expiryAllowed(): boolean {
    return !(this.offlineNow && this.expiry.offline > 0);
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let offline = false;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new KeyStoreUnreachableError('key store status timed out')), this.statusTimeoutMs);
        timer.unref?.();
      });
      await Promise.race([this.store.status(), timeout]);
    } catch {
      offline = true;
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
    if (this.closed || offline === this.offlineNow) return;
    this.offlineNow = offline;
    this.replicas.offline(offline);
  }
}
