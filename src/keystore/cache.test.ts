import { describe, test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { KeyCache } from './cache.js';
import { MemKeyStore } from './memory/memory.js';
import { KeyStoreUnreachableError, type KeyStore } from './keystore.js';
import { isKesError } from '../api/errors.js';
import { encodeKeyVersion } from '../crypto/key-version.js';
import { SecretKey } from '../crypto/secret-key.js';
import { HmacKey } from '../crypto/hmac-key.js';
import { Timestamp } from '../util/time.js';

/** A memory store that counts calls and can be switched off or made to block. */
class TestStore extends MemKeyStore implements KeyStore {
  gets = 0;
  down = false;
  gate: Promise<void> | undefined;

  override async get(name: string): Promise<Uint8Array> {
    this.gets++;
    await this.gate;
    if (this.down) throw new KeyStoreUnreachableError('down');
    return super.get(name);
  }

  override async status() {
    if (this.down) throw new KeyStoreUnreachableError('down');
    return super.status();
  }
}

const entry = (createdBy = 'admin') =>
  encodeKeyVersion({ key: SecretKey.generate('AES256'), hmacKey: HmacKey.generate(), createdAt: Timestamp.now(), createdBy });

// Let pending promise callbacks (the background probe) run.
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('KeyCache', () => {
  let store: TestStore;
  let cache: KeyCache | undefined;

  beforeEach(async () => {
    mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
    store = new TestStore();
    await store.create('k', entry());
  });
  afterEach(() => {
    cache?.close();
    mock.timers.reset();
  });

  test('defaults are any 5m, unused 30s, offline 0 (protocol.md §20.7)', () => {
    cache = new KeyCache(store);
    assert.deepEqual(cache.expiry, { any: 300_000, unused: 30_000, offline: 0 });
  });

  test('a hit does not touch the store; parsed versions are returned', async () => {
    cache = new KeyCache(store);
    const v = await cache.get('k');
    assert.equal(v.current.createdBy, 'admin');
    assert.equal(await cache.get('k'), v);
    assert.equal(store.gets, 1);
  });

  test('concurrent misses of one name share one store fetch', async () => {
    cache = new KeyCache(store);
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const pending = Array.from({ length: 50 }, () => cache!.get('k'));
    await flush();
    open();
    const versions = await Promise.all(pending);
    assert.equal(store.gets, 1);
    assert.ok(versions.every((v) => v === versions[0]));
  });

  test('not-found is never cached', async () => {
    cache = new KeyCache(store);
    await assert.rejects(cache.get('missing'), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND'));
    await assert.rejects(cache.get('missing'), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND'));
    assert.equal(store.gets, 2);
  });

  test('a missing record is cached until it is created; a record is its bytes', async () => {
    cache = new KeyCache(store);
    const name = '-identity@default@' + 'ab'.repeat(32);
    const notFound = (e: unknown) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND');
    await assert.rejects(cache.getRecord(name), notFound);
    await assert.rejects(cache.getRecord(name), notFound);
    assert.equal(store.gets, 1, 'one store read for both');
    await cache.create(name, Buffer.from('{"v":1}'));
    assert.equal((await cache.getRecord(name)).toString(), '{"v":1}');
    assert.equal(store.gets, 2);
    await cache.delete(name);
    await assert.rejects(cache.getRecord(name), notFound);
    // Keys are no records, and the reverse.
    await assert.rejects(cache.getRecord('k'), /names a key/);
  });

  test('every `any` the cache is emptied', async () => {
    cache = new KeyCache(store, { expiry: { any: 60_000, unused: 0 }, statusIntervalMs: 0 });
    await cache.get('k');
    mock.timers.tick(59_999);
    await cache.get('k');
    assert.equal(store.gets, 1);
    mock.timers.tick(1);
    assert.equal(cache.size, 0);
    await cache.get('k');
    assert.equal(store.gets, 2);
  });

  test('an entry unused for `unused` is evicted; a used one stays', async () => {
    await store.create('other', entry());
    cache = new KeyCache(store, { expiry: { any: 0, unused: 30_000 }, statusIntervalMs: 0 });
    await cache.get('k');
    await cache.get('other');
    for (let i = 0; i < 6; i++) {
      mock.timers.tick(15_000);
      await cache.get('k'); // keeps 'k' in use
    }
    assert.equal(cache.size, 1);
    assert.equal(store.gets, 2, "'k' never left the cache");
  });

  test('create goes to the store only; delete evicts', async () => {
    cache = new KeyCache(store);
    await cache.create('new', entry('someone'));
    assert.equal(cache.size, 0);
    assert.equal((await cache.get('new')).current.createdBy, 'someone');
    await cache.delete('new');
    assert.equal(cache.size, 0);
    await assert.rejects(cache.get('new'), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND'));
    await assert.rejects(cache.create('k', entry()), (e) => isKesError(e, 'KES_ERR_KEY_EXISTS'));
  });

  test('a key deleted while it is being fetched is not cached', async () => {
    cache = new KeyCache(store);
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const fetching = cache.get('k');
    await flush();
    await cache.delete('k');
    open();
    await fetching.catch(() => undefined);
    assert.equal(cache.size, 0);
  });

  test('the status probe marks the store offline and online again', async () => {
    cache = new KeyCache(store);
    await cache.status();
    store.down = true;
    mock.timers.tick(10_000);
    await flush();
    assert.equal(cache.isOffline, true);
    await assert.rejects(cache.status(), KeyStoreUnreachableError);
    store.down = false;
    mock.timers.tick(10_000);
    await flush();
    assert.equal(cache.isOffline, false);
    await cache.status();
  });

  test('a hung status probe counts as a failure after its time-out', async () => {
    cache = new KeyCache(store, { statusIntervalMs: 10_000, statusTimeoutMs: 2_000 });
    store.status = () => new Promise(() => undefined);
    mock.timers.tick(10_000);
    await flush();
    assert.equal(cache.isOffline, false);
    mock.timers.tick(2_000);
    await flush();
    assert.equal(cache.isOffline, true);
  });

  test('offline caching: cached keys keep serving while the store is down, until `offline`', async () => {
    cache = new KeyCache(store, { expiry: { any: 60_000, unused: 20_000, offline: 600_000 } });
    await cache.get('k');
    store.down = true;
    mock.timers.tick(10_000);
    await flush();
    assert.equal(cache.isOffline, true);
    // Well past `any` and `unused`: the entry is still served, the store is not asked.
    for (let i = 0; i < 50; i++) mock.timers.tick(10_000);
    await flush();
    assert.ok(await cache.get('k'));
    assert.equal(store.gets, 1);
    // The offline expiry empties the cache; the key then needs the (down) store.
    mock.timers.tick(100_000);
    await flush();
    await assert.rejects(cache.get('k'), KeyStoreUnreachableError);
  });

  test('without offline caching, normal expiry goes on while the store is down', async () => {
    cache = new KeyCache(store, { expiry: { any: 60_000, unused: 0, offline: 0 } });
    await cache.get('k');
    store.down = true;
    mock.timers.tick(60_000);
    await flush();
    assert.equal(cache.isOffline, true);
    assert.equal(cache.size, 0);
    await assert.rejects(cache.get('k'), KeyStoreUnreachableError);
  });

  test('close stops the background tasks', async () => {
    cache = new KeyCache(store);
    cache.close();
    store.down = true;
    mock.timers.tick(60_000);
    await flush();
    assert.equal(cache.isOffline, false);
  });
});
