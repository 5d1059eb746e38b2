/**
 * The key store contract suite (protocol.md §9.1). Every backend runs it:
 *
 *   describeKeyStore('fs', async () => ({ store: await FsKeyStore.open(dir), cleanup }));
 *
 * Backends that cannot support a behaviour say so in `options` with the reason.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isKesError } from '../../src/api/errors.js';
import { KeyStoreConflictError, listAll, type KeyStore } from '../../src/keystore/keystore.js';

export interface KeyStoreFixture {
  store: KeyStore;
  /** Removes what the fixture created (temp dirs, tables, prefixes). */
  cleanup?: () => Promise<void>;
}

export interface ConformanceOptions {
  /** Deleting a missing key succeeds silently (KES allows it for e.g. Vault KV v1). */
  deleteMissingIsSilent?: string;
  /** How many keys the large-listing test creates (default 2,500). */
  manyKeys?: number;
  /** The store cannot replace entries (it has no compare-and-swap): why. */
  noReplace?: string;
  /** Skip the whole suite with this message (e.g. a service binary is missing). */
  skip?: string;
}

const isExists = (err: unknown) => isKesError(err, 'KES_ERR_KEY_EXISTS');
const isNotFound = (err: unknown) => isKesError(err, 'KES_ERR_KEY_NOT_FOUND');

let counter = 0;
/** A fresh, valid key name. */
const fresh = (base = 'key') => `${base}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

export function describeKeyStore(name: string, open: () => Promise<KeyStoreFixture>, options: ConformanceOptions = {}): void {
  describe(`KeyStore conformance: ${name}`, { skip: options.skip ?? false }, () => {
    let fixture: KeyStoreFixture;
    let store: KeyStore;
    before(async () => {
      fixture = await open();
      store = fixture.store;
    });
    after(async () => {
      await fixture?.store.close();
      await fixture?.cleanup?.();
    });

    test('status reports a latency', async () => {
      const s = await store.status();
      assert.ok(Number.isFinite(s.latencyMs) && s.latencyMs >= 0, `latency ${s.latencyMs}`);
    });

    test('create then get returns the same bytes', async () => {
      const n = fresh();
      const value = Buffer.from('a stored key entry');
      await store.create(n, value);
      assert.deepEqual(Buffer.from(await store.get(n)), value);
    });

    test('binary values round trip unchanged', async () => {
      const n = fresh();
      const value = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(2000)]);
      await store.create(n, value);
      assert.deepEqual(Buffer.from(await store.get(n)), value);
    });

    test('create never overwrites: KES_ERR_KEY_EXISTS and the first value stays', async () => {
      const n = fresh();
      await store.create(n, Buffer.from('first'));
      await assert.rejects(store.create(n, Buffer.from('second')), isExists);
      assert.equal(Buffer.from(await store.get(n)).toString(), 'first');
    });

    test('concurrent creates of one name: exactly one succeeds', async () => {
      const n = fresh();
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.create(n, Buffer.from(`value-${i}`))));
      const ok = results.filter((r) => r.status === 'fulfilled');
      assert.equal(ok.length, 1, 'exactly one create succeeds');
      for (const r of results) if (r.status === 'rejected') assert.ok(isExists(r.reason), String(r.reason));
      const winner = results.findIndex((r) => r.status === 'fulfilled');
      assert.equal(Buffer.from(await store.get(n)).toString(), `value-${winner}`);
    });

    test('concurrent creates of different names all succeed', async () => {
      const names = Array.from({ length: 20 }, () => fresh());
      await Promise.all(names.map((n) => store.create(n, Buffer.from(n))));
      for (const n of names) assert.equal(Buffer.from(await store.get(n)).toString(), n);
    });

    test('get of a missing key fails with KES_ERR_KEY_NOT_FOUND', async () => {
      await assert.rejects(store.get(fresh('missing')), isNotFound);
    });

    test('delete removes the key; the name can be created again', async () => {
      const n = fresh();
      await store.create(n, Buffer.from('one'));
      await store.delete(n);
      await assert.rejects(store.get(n), isNotFound);
      await store.create(n, Buffer.from('two'));
      assert.equal(Buffer.from(await store.get(n)).toString(), 'two');
    });

    test('delete of a missing key', async () => {
      if (options.deleteMissingIsSilent) await store.delete(fresh('missing'));
      else await assert.rejects(store.delete(fresh('missing')), isNotFound);
    });

    test('values are copied: later changes to buffers do not reach the store', async () => {
      const n = fresh();
      const value = Buffer.from('original');
      await store.create(n, value);
      value.fill(0);
      const got = await store.get(n);
      got.fill?.(0);
      assert.equal(Buffer.from(await store.get(n)).toString(), 'original');
    });

    test('list by prefix is sorted, complete and exact', async () => {
      const prefix = fresh('list');
      const names = ['_-___---_', '0-Z', '_0', 'my_key-0', 'abc123', 'A', 'a', 'Z9', 'my-key', 'my-key2'].map((s) => `${prefix}-${s}`);
      for (const n of names) await store.create(n, Buffer.from('x'));
      await store.create(`${prefix.slice(0, -1)}`, Buffer.from('not under the prefix'));
      const expected = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(await listAll(store, `${prefix}-`), expected);
      assert.deepEqual(await listAll(store, `${prefix}-my-key`), [`${prefix}-my-key`, `${prefix}-my-key2`]);
      assert.deepEqual(await listAll(store, `${prefix}-nothing`), []);
      const all = await listAll(store, '');
      for (const n of names) assert.ok(all.includes(n), `${n} in full listing`);
      assert.deepEqual(all, [...all].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), 'full listing sorted');
    });

    test('a deleted key disappears from listings', async () => {
      const prefix = fresh('gone');
      await store.create(`${prefix}-a`, Buffer.from('x'));
      await store.create(`${prefix}-b`, Buffer.from('x'));
      await store.delete(`${prefix}-a`);
      assert.deepEqual(await listAll(store, prefix), [`${prefix}-b`]);
    });

    test('listing many keys pages through all of them in order', async () => {
      const count = options.manyKeys ?? 2500;
      const prefix = fresh('many');
      const names = Array.from({ length: count }, (_, i) => `${prefix}-${String((i * 7919) % count).padStart(5, '0')}`);
      for (let i = 0; i < names.length; i += 100) await Promise.all(names.slice(i, i + 100).map((n) => store.create(n, Buffer.from('x'))));
      const listed = await listAll(store, `${prefix}-`);
      assert.equal(listed.length, count);
      assert.deepEqual(listed, [...names].sort());
    });

    test('a listing from a start name holds every later name once, in order (the store may start there)', async () => {
      const prefix = fresh('from');
      const names = Array.from({ length: 300 }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
      for (let i = 0; i < names.length; i += 100) await Promise.all(names.slice(i, i + 100).map((n) => store.create(n, Buffer.from('x'))));
      for (const start of [names[150]!, `${prefix}-1505`, `${prefix}-`, `${prefix}-999`]) {
        const listed: string[] = [];
        for await (const n of store.list(`${prefix}-`, start)) listed.push(n);
        assert.deepEqual(listed, [...listed].sort(), `sorted from ${start}`);
        assert.deepEqual(listed.filter((n) => n >= start), names.filter((n) => n >= start), `complete from ${start}`);
        assert.ok(listed.every((n) => names.includes(n)), `only the prefix's names from ${start}`);
      }
      // A start outside the prefix is no reason to list other names.
      const other: string[] = [];
      for await (const n of store.list(`${prefix}-`, 'zzz')) other.push(n);
      assert.ok(other.every((n) => names.includes(n)));
    });

    if (options.noReplace) {
      test(`has no replace: ${options.noReplace}`, () => {
        assert.equal(store.replace, undefined);
      });
    } else {
      const isConflict = (err: unknown) => err instanceof KeyStoreConflictError;
      const replace = (n: string, expected: Uint8Array, value: Uint8Array) => {
        assert.ok(store.replace, 'the store has replace');
        return store.replace.call(store, n, expected, value);
      };

      test('replace: swaps the value it expects', async () => {
        const n = fresh();
        await store.create(n, Buffer.from('one'));
        await replace(n, Buffer.from('one'), Buffer.from('two'));
        assert.deepEqual(Buffer.from(await store.get(n)), Buffer.from('two'));
        await replace(n, Buffer.from('two'), Buffer.from('three'));
        assert.deepEqual(Buffer.from(await store.get(n)), Buffer.from('three'));
        assert.deepEqual((await listAll(store, n)).filter((x) => x === n), [n], 'listed once');
      });

      test('replace: refuses a stale expectation and keeps the value', async () => {
        const n = fresh();
        await store.create(n, Buffer.from('current'));
        await assert.rejects(replace(n, Buffer.from('stale'), Buffer.from('lost')), isConflict);
        await assert.rejects(replace(n, Buffer.from('current-but-longer'), Buffer.from('lost')), isConflict);
        assert.deepEqual(Buffer.from(await store.get(n)), Buffer.from('current'));
      });

      test('replace: a missing entry is not found, and not created', async () => {
        const n = fresh();
        await assert.rejects(replace(n, Buffer.from('x'), Buffer.from('y')), isNotFound);
        await assert.rejects(store.get(n), isNotFound);
      });

      test('replace: of 10 concurrent replaces from the same value exactly one succeeds', async () => {
        const n = fresh();
        const first = randomBytes(64);
        await store.create(n, first);
        const values = Array.from({ length: 10 }, () => randomBytes(64));
        const results = await Promise.allSettled(values.map((v) => replace(n, first, v)));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        assert.equal(won.length, 1, `winners: ${won.join(', ')}`);
        for (const r of results) if (r.status === 'rejected') assert.ok(isConflict(r.reason), String(r.reason));
        assert.deepEqual(Buffer.from(await store.get(n)), values[won[0]!]);
      });
    }

  });
}
