/**
 * A worker's side of the server's one key cache: its KeyCache is a replica of the keeper in the
 * primary (keystore/cache-keeper.ts). Fetches and writes are reported to the primary; its
 * fills, evictions, sweeps and store state are applied to the cache of the current state.
 */
import type { KeyCache, ReplicaLink } from '../../keystore/cache.js';
import type { CacheToPrimary, CacheToWorker, Handlers } from './messages.js';

export class WorkerCacheLink implements ReplicaLink {
  private cache: KeyCache | undefined;
  private seenSeq = 0;
  private offlineNow = false;
  private nextId = 1;
  private readonly writes = new Map<number, () => void>();

  constructor(private readonly send: (message: CacheToPrimary) => void) {}

  attach(cache: KeyCache): void {
    this.cache = cache;
  }

  seen(): number {
    return this.seenSeq;
  }

  get offline(): boolean {
    return this.offlineNow;
  }

  filled(name: string, entry: Buffer, seen: number): void {
    this.send({ type: 'cache-fill', name, entry: entry.toString('base64'), seen });
  }

  written(name: string): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.writes.set(id, resolve);
      this.send({ type: 'cache-write', id, name });
    });
  }

  /** The messages of the primary's keeper, one handler each. */
  readonly handlers: Handlers<CacheToWorker> = {
    'cache-fill': (m) => this.cache?.insert(m.name, Buffer.from(m.entry, 'base64')),
    'cache-evict': (m) => {
      this.seenSeq = Math.max(this.seenSeq, m.seq);
      this.cache?.evict(m.names);
      this.send({ type: 'cache-evicted', seq: m.seq });
    },
    'cache-snapshot': (m) => {
      this.seenSeq = Math.max(this.seenSeq, m.seq);
      for (const [name, entry] of m.entries) this.cache?.insert(name, Buffer.from(entry, 'base64'));
    },
    'cache-sweep': (m) => this.send({ type: 'cache-used', id: m.id, names: this.cache?.takeUsed() ?? [] }),
    'cache-offline': (m) => void (this.offlineNow = m.offline),
    'cache-written': (m) => {
      this.writes.get(m.id)?.();
      this.writes.delete(m.id);
    },
  };
}
