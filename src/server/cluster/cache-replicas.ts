/**
 * The primary's side of the server's one key cache: the keeper (keystore/cache-keeper.ts) with
 * its own connection to the key store (for the status probe, the store's change notifications
 * and resynchronisation), whose replicas are the workers' caches, reached over IPC
 * (cache-link.ts is the other end).
 */
import type { Worker } from 'node:cluster';
import type { ServerConfig } from '../../config/types.js';
import { CacheKeeper, type CacheReplicas, type KeeperLog, type ReplicaId } from '../../keystore/cache-keeper.js';
import { connectKeyStore } from '../../keystore/registry.js';
import type { KeyStore } from '../../keystore/keystore.js';
import type { CacheToPrimary, CacheToWorker, Handlers } from './messages.js';

/** How long the primary waits for a worker to confirm an eviction or a sweep. */
const ANSWER_TIMEOUT_MS = 5_000;

type Send = (worker: Worker, message: CacheToWorker) => void;

interface Wait<T> {
  waiting: Set<number>;
  result: T;
  finish: () => void;
}

/** The workers' caches as the replicas of a keeper. */
class WorkerReplicas implements CacheReplicas {
  private readonly evictions = new Map<number, Wait<void>>();
  private readonly sweeps = new Map<number, Wait<Set<string> | undefined>>();
  private nextSweep = 1;
  offlineNow = false;

  constructor(
    private readonly workers: () => Worker[],
    private readonly send: Send,
    private readonly log: KeeperLog,
  ) {}

  fill(name: string, entry: Buffer, from: ReplicaId): void {
    const message: CacheToWorker = { type: 'cache-fill', name, entry: entry.toString('base64') };
    for (const w of this.workers()) if (w.id !== from) this.send(w, message);
  }

  evict(seq: number, names: readonly string[] | 'all'): Promise<void> {
    return this.ask(this.evictions, seq, undefined, { type: 'cache-evict', seq, names: names === 'all' ? 'all' : [...names] }, (late) =>
      this.log.warn(`key cache: workers ${late.join(', ')} did not confirm an eviction within ${ANSWER_TIMEOUT_MS / 1000} s`),
    );
  }

  takeUsed(): Promise<ReadonlySet<string> | undefined> {
    const id = this.nextSweep++;
    return this.ask(this.sweeps, id, new Set<string>(), { type: 'cache-sweep', id }, () => (this.sweeps.get(id)!.result = undefined));
  }

  offline(offline: boolean): void {
    this.offlineNow = offline;
    for (const w of this.workers()) this.send(w, { type: 'cache-offline', offline });
  }

  evicted(worker: Worker, seq: number): void {
    this.answered(this.evictions, seq, worker.id);
  }

  used(worker: Worker, id: number, names: string[]): void {
    const wait = this.sweeps.get(id);
    if (!wait) return;
    for (const name of names) wait.result?.add(name);
    this.answered(this.sweeps, id, worker.id);
  }

  /** A worker exited: nothing more is awaited from it. */
  gone(worker: Worker): void {
    for (const [id] of this.evictions) this.answered(this.evictions, id, worker.id);
    for (const [id] of this.sweeps) this.answered(this.sweeps, id, worker.id);
  }

  /** Sends message to every worker; resolves with the result once all answered or after the time-out. */
  private ask<T>(waits: Map<number, Wait<T>>, id: number, initial: T, message: CacheToWorker, onTimeout: (late: number[]) => void): Promise<T> {
    const targets = this.workers();
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => {
        onTimeout([...wait.waiting]);
        wait.finish();
      }, ANSWER_TIMEOUT_MS);
      timer.unref();
      const wait: Wait<T> = {
        waiting: new Set(targets.map((w) => w.id)),
        result: initial,
        finish: () => {
          clearTimeout(timer);
          waits.delete(id);
          resolve(wait.result);
        },
      };
      waits.set(id, wait);
      for (const w of targets) this.send(w, message);
      if (wait.waiting.size === 0) wait.finish();
    });
  }

  private answered<T>(waits: Map<number, Wait<T>>, id: number, worker: number): void {
    const wait = waits.get(id);
    if (!wait || !wait.waiting.delete(worker)) return;
    if (wait.waiting.size === 0) wait.finish();
  }
}

/** The keeper of a cluster's cache, its store connection and the workers as its replicas. */
export class PrimaryCache {
  private readonly replicas: WorkerReplicas;
  private keeper: CacheKeeper;

  private constructor(
    private store: KeyStore,
    config: ServerConfig,
    workers: () => Worker[],
    private readonly send: Send,
    private readonly log: KeeperLog,
  ) {
    this.replicas = new WorkerReplicas(workers, send, log);
    this.keeper = this.newKeeper(store, config, 0);
  }

  /**
   * Connects the key store of config and starts the keeper.
   * @throws what connecting the store throws (the server does not start)
   */
  static async start(config: ServerConfig, workers: () => Worker[], send: Send, log: KeeperLog): Promise<PrimaryCache> {
    return new PrimaryCache(await connectKeyStore(config.keystore), config, workers, send, log);
  }

  /** A new config (SIGHUP): a new store connection and keeper; the old ones are closed. */
  async reload(config: ServerConfig): Promise<void> {
    const store = await connectKeyStore(config.keystore);
    const old = { keeper: this.keeper, store: this.store };
    this.keeper = this.newKeeper(store, config, old.keeper.seq);
    this.store = store;
    old.keeper.close();
    await old.store.close().catch(() => undefined);
  }

  /** The cache messages of the workers, one handler each. */
  readonly handlers: Handlers<CacheToPrimary, [Worker]> = {
    'cache-fill': (m, w) => this.keeper.filled(m.name, Buffer.from(m.entry, 'base64'), m.seen, w.id),
    'cache-write': (m, w) => void this.keeper.invalidate([m.name]).then(() => this.send(w, { type: 'cache-written', id: m.id })),
    'cache-evicted': (m, w) => this.replicas.evicted(w, m.seq),
    'cache-used': (m, w) => this.replicas.used(w, m.id, m.names),
  };

  /** A worker serves: it gets every cached key and the store's state. */
  ready(worker: Worker): void {
    const { seq, entries } = this.keeper.snapshot();
    this.send(worker, { type: 'cache-snapshot', seq, entries: entries.map(([name, entry]) => [name, entry.toString('base64')]) });
    if (this.replicas.offlineNow) this.send(worker, { type: 'cache-offline', offline: true });
  }

  gone(worker: Worker): void {
    this.replicas.gone(worker);
  }

  async close(): Promise<void> {
    this.keeper.close();
    await this.store.close().catch(() => undefined);
  }

  private newKeeper(store: KeyStore, config: ServerConfig, firstSeq: number): CacheKeeper {
    return new CacheKeeper(store, this.replicas, { expiry: config.cache, firstSeq, log: this.log });
  }
}
