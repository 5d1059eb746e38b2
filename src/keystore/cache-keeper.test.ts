/**
 * The keeper with several caches in one process, standing in for the workers of a cluster (the
 * IPC between them is tested end to end in test/cli/cache-coherence.test.ts).
 */
import { describe, test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { CacheKeeper, fingerprintOf, type CacheReplicas } from './cache-keeper.js';
import { KeyCache } from './cache.js';
import { MemKeyStore } from './memory/memory.js';
import type { KeyStoreChanges } from './keystore.js';
import { encodeKeyVersion } from '../crypto/key-version.js';
import { SecretKey } from '../crypto/secret-key.js';
import { HmacKey } from '../crypto/hmac-key.js';
import { Timestamp } from '../util/time.js';

/** A memory store that notifies like etcd or PostgreSQL, and whose reads can be held. */
class NotifyingStore extends MemKeyStore {
  listener: KeyStoreChanges | undefined;
  gate: Promise<void> | undefined;

  override async get(name: string): Promise<Uint8Array> {
    const value = await super.get(name);
    await this.gate;
    return value;
  }

  watch(listener: KeyStoreChanges): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }

  /** Another server's write: the store changes and (unless silent) notifies. */
  async overwrite(name: string, value: Uint8Array, silent = false): Promise<void> {
    await super.delete(name).catch(() => undefined);
    await super.create(name, value);
    if (!silent) this.listener?.changed(name);
  }
}

/** The caches of one server, each linked to the keeper as a worker's would be. */
class Caches implements CacheReplicas {
  caches: KeyCache[] = [];
  offlineNow = false;
  fill(name: string, entry: Buffer, from: number | undefined): void {
    this.caches.forEach((c, i) => i !== from && c.insert(name, entry));
  }
  async evict(_seq: number, names: readonly string[] | 'all'): Promise<void> {
    for (const c of this.caches) c.evict(names);
  }
  async takeUsed(): Promise<ReadonlySet<string>> {
    return new Set(this.caches.flatMap((c) => c.takeUsed()));
  }
  offline(offline: boolean): void {
    this.offlineNow = offline;
  }
}

const entry = () => encodeKeyVersion({ key: SecretKey.generate('AES256'), hmacKey: HmacKey.generate(), createdAt: Timestamp.now(), createdBy: 'admin' });
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('CacheKeeper', () => {
  let store: NotifyingStore;
  let replicas: Caches;
  let keeper: CacheKeeper;
  let logs: string[];
  let a: KeyCache;
  let b: KeyCache;

  beforeEach(async () => {
    mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
    store = new NotifyingStore();
    await store.create('k', entry());
    replicas = new Caches();
    logs = [];
    keeper = new CacheKeeper(store, replicas, { expiry: { any: 0, unused: 60_000, offline: 0 }, statusIntervalMs: 0, log: { info: (m) => logs.push(m), warn: (m) => logs.push(m) } });
    a = new KeyCache(store, { link: keeper.link(0) });
    b = new KeyCache(store, { link: keeper.link(1) });
    replicas.caches = [a, b];
  });
  afterEach(() => {
    keeper.close();
    mock.timers.reset();
  });

  test('a key one cache fetched is cached by the others', async () => {
    await a.get('k');
    assert.ok(b.peek('k'), 'b has it without a fetch');
    assert.equal(keeper.size, 1);
  });

  test('a delete through one cache evicts the name from every cache before it returns', async () => {
    await a.get('k');
    await b.delete('k');
    assert.equal(a.peek('k'), undefined);
    assert.equal(b.peek('k'), undefined);
    assert.equal(keeper.size, 0);
  });

  test('a create or import through one cache drops a stale copy in the others', async () => {
    await a.get('k');
    await store.delete('k'); // deleted behind the server's back (no notification)
    await b.create('k', entry());
    assert.equal(a.peek('k'), undefined);
  });

  test('a fetch overtaken by an invalidation of its name is not passed on', async () => {
    let release!: () => void;
    store.gate = new Promise((resolve) => (release = resolve));
    const fetching = a.get('k'); // reads the old entry, then waits
    await flush();
    store.gate = undefined;
    await b.delete('k'); // while a's fetch is in flight
    release();
    await fetching;
    assert.equal(a.peek('k'), undefined, 'the fetching cache does not keep it');
    assert.equal(b.peek('k'), undefined, 'nor is it passed on');
    assert.equal(keeper.size, 0);
  });

  test('unused expiry: a key used by any cache stays everywhere; one used by none goes', async () => {
    await store.create('other', entry());
    await a.get('k');
    await a.get('other');
    mock.timers.tick(30_000); // first sweep: both were used (fetched) since the start
    await flush();
    b.peek('k'); // only b uses k; nobody uses other
    mock.timers.tick(30_000);
    await flush();
    assert.ok(a.peek('k') && b.peek('k'), 'k was used by b');
    assert.equal(a.peek('other'), undefined);
    assert.equal(b.peek('other'), undefined);
  });

  test('a store notification evicts the name everywhere', async () => {
    await a.get('k');
    await store.overwrite('k', entry());
    await flush();
    assert.equal(a.peek('k'), undefined);
    assert.equal(b.peek('k'), undefined);
  });

  test('a different version read from the store replaces the stale copies (fingerprints)', async () => {
    await a.get('k');
    const stale = a.peek('k');
    await store.overwrite('k', entry(), true); // no notification
    a.evict(['k']); // a misses (e.g. evicted by expiry) and reads the new version
    const fresh = await a.get('k');
    assert.notDeepEqual(fresh.current.key.bytes(), stale!.current.key.bytes());
    assert.deepEqual(b.peek('k')!.current.key.bytes(), fresh.current.key.bytes(), 'b now holds the new version');
    assert.match(logs.join('\n'), /key 'k' changed in the key store without a notification/);
  });

  test('when notifications resume, every cached key is re-read and changed ones are dropped', async () => {
    await store.create('same', entry());
    await store.create('gone', entry());
    for (const name of ['k', 'same', 'gone']) await a.get(name);
    store.listener!.interrupted('connection lost');
    await store.overwrite('k', entry(), true);
    await store.delete('gone');
    store.listener!.resumed();
    for (let i = 0; i < 5; i++) await flush();
    assert.equal(b.peek('k'), undefined);
    assert.equal(b.peek('gone'), undefined);
    assert.ok(b.peek('same'), 'an unchanged key stays cached');
    assert.match(logs.join('\n'), /notifications interrupted \(connection lost\)/);
    assert.match(logs.join('\n'), /re-read 3 cached keys, dropped 2/);
  });

  test('the fingerprint is a digest of the stored bytes', () => {
    const e = entry();
    assert.equal(fingerprintOf(e), fingerprintOf(Buffer.from(e)));
    assert.notEqual(fingerprintOf(e), fingerprintOf(entry()));
  });
});
