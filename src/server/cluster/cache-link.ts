/**
 * A worker's side of the server's one key cache: its KeyCache is a replica of the keeper in the
 * primary (keystore/cache-keeper.ts). Fetches and writes are reported to the primary; its
 * fills, evictions, sweeps and store state are applied to the cache of the current state.
 */
import type { KeyCache, ReplicaLink } from '../../keystore/cache.js';
import type { CacheToPrimary, CacheToWorker } from './messages.js';

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

  /** Applies a message of the primary's keeper. */
  receive(message: CacheToWorker): void {
    switch (message.type) {
      case 'cache-fill':
        return this.cache?.insert(message.name, Buffer.from(message.entry, 'base64'));
      case 'cache-evict':
        this.seenSeq = Math.max(this.seenSeq, message.seq);
        this.cache?.evict(message.names);
        return this.send({ type: 'cache-evicted', seq: message.seq });
      case 'cache-snapshot':
        this.seenSeq = Math.max(this.seenSeq, message.seq);
        for (const [name, entry] of message.entries) this.cache?.insert(name, Buffer.from(entry, 'base64'));
        return;
      case 'cache-sweep':
        return this.send({ type: 'cache-used', id: message.id, names: this.cache?.takeUsed() ?? [] });
      case 'cache-offline':
        this.offlineNow = message.offline;
        return;
      case 'cache-written':
        this.writes.get(message.id)?.();
        this.writes.delete(message.id);
        return;
    }
  }
}

/** Whether a message of the primary is for the cache link. */
export function isCacheMessage(message: { type: string }): message is CacheToWorker {
  return message.type.startsWith('cache-');
}
