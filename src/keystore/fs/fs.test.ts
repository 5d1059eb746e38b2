import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsKeyStore, isValidFileName, MAX_ENTRY_SIZE, type FsOps } from './fs.js';
import { KeyStoreConflictError } from '../keystore.js';
import { isKesError } from '../../api/errors.js';
import { listAll } from '../keystore.js';
import { parseKeyVersion } from '../../crypto/key-version.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../../../test/helpers/vectors.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'kes-fs-'));

describeKeyStore('fs', async () => {
  const dir = tempDir();
  // A small page makes the large-listing test take many directory passes.
  return { store: await FsKeyStore.open(join(dir, 'keys'), { pageSize: 97 }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('FsKeyStore', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('creates the directory (0755) and key files with mode 0600', async () => {
    const path = join(dir, 'modes', 'nested');
    const store = await FsKeyStore.open(path);
    assert.equal((await fsp.stat(path)).mode & 0o777, 0o755 & ~process.umask());
    await store.create('my-key', Buffer.from('x'));
    assert.equal((await fsp.stat(join(path, 'my-key'))).mode & 0o777, 0o600);
    assert.deepEqual(await fsp.readdir(path), ['my-key'], 'no temporary file is left behind');
  });

  test('reads key files written by KES (one file per key, content = entry)', async () => {
    const path = join(dir, 'kes');
    await fsp.mkdir(path);
    await fsp.writeFile(join(path, 'minio-key'), PROTOBUF_ENTRY, { mode: 0o600 });
    await fsp.writeFile(join(path, 'legacy-key'), '{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}', { mode: 0o600 });
    const store = await FsKeyStore.open(path);
    const v = parseKeyVersion(await store.get('minio-key'));
    assert.equal(v.createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
    assert.equal(parseKeyVersion(await store.get('legacy-key')).key.type, 'AES256');
    assert.deepEqual(await listAll(store), ['legacy-key', 'minio-key']);
  });

  test('rejects names containing /, \\ or . (test-vectors.md §5)', async () => {
    const store = await FsKeyStore.open(join(dir, 'names'));
    for (const name of ['', '.', '..', '.my-key', 'my.key', '/my-key', '\\my-key', 'my-key/', 'my/key', './my-key', './../my-key']) {
      assert.equal(isValidFileName(name), false, name);
      await assert.rejects(store.create(name, Buffer.from('x')), /not a valid file name/, name);
      await assert.rejects(store.get(name), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND'), name);
      await assert.rejects(store.delete(name), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND'), name);
    }
    assert.equal(isValidFileName('my-key'), true);
    assert.deepEqual(await fsp.readdir(join(dir, 'names')), []);
  });

  test('listing skips hidden files and directories', async () => {
    const path = join(dir, 'hidden');
    const store = await FsKeyStore.open(path);
    await store.create('visible', Buffer.from('x'));
    await fsp.writeFile(join(path, '.kes-tmp-0123'), 'partial');
    await fsp.writeFile(join(path, '.hidden'), 'x');
    await fsp.mkdir(join(path, 'subdir'));
    assert.deepEqual(await listAll(store), ['visible']);
  });

  test('refuses to read a key file larger than 1 MiB', async () => {
    const path = join(dir, 'large');
    const store = await FsKeyStore.open(path);
    await fsp.writeFile(join(path, 'big'), Buffer.alloc(MAX_ENTRY_SIZE + 1));
    await assert.rejects(store.get('big'), /larger than/);
  });

  test('status fails when the directory is gone', async () => {
    const path = join(dir, 'vanishing');
    const store = await FsKeyStore.open(path);
    await store.status();
    await fsp.rm(path, { recursive: true });
    await assert.rejects(store.status());
  });

  test('stale temporary files are removed at open, recent ones are kept', async () => {
    const path = join(dir, 'stale');
    await fsp.mkdir(path);
    await fsp.writeFile(join(path, '.kes-tmp-old'), 'partial');
    const old = new Date(Date.now() - 10 * 60_000);
    await fsp.utimes(join(path, '.kes-tmp-old'), old, old);
    await fsp.writeFile(join(path, '.kes-tmp-new'), 'in progress');
    await FsKeyStore.open(path);
    assert.deepEqual(await fsp.readdir(path), ['.kes-tmp-new']);
  });
});

/**
 * Simulated crashes: the file operations stop working after the n-th step of a create (as if
 * the process died), then a new store instance opens the directory as after a restart.
 */
describe('FsKeyStore crash safety', () => {
  class Crash extends Error {}

  function crashingOps(crashAfter: number): { ops: FsOps; steps: string[] } {
    const steps: string[] = [];
    let crashed = false;
    const step = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      if (crashed || steps.length >= crashAfter) {
        crashed = true;
        return Promise.reject(new Crash(`crashed before ${name}`));
      }
      steps.push(name);
      return fn();
    };
    const wrapHandle = (h: fsp.FileHandle): fsp.FileHandle =>
      new Proxy(h, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (prop === 'writeFile' || prop === 'sync' || prop === 'close') {
            // A crashed process still has its descriptors closed by the kernel.
            return (...args: unknown[]) => (prop === 'close' && crashed ? target.close() : step(`handle.${String(prop)}`, () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args)));
          }
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    const ops: FsOps = {
      ...fsp,
      open: ((...args: Parameters<typeof fsp.open>) => step('open', () => fsp.open(...args)).then(wrapHandle)) as typeof fsp.open,
      link: ((...args: Parameters<typeof fsp.link>) => step('link', () => fsp.link(...args))) as typeof fsp.link,
      unlink: ((...args: Parameters<typeof fsp.unlink>) => step('unlink', () => fsp.unlink(...args))) as typeof fsp.unlink,
      rename: ((...args: Parameters<typeof fsp.rename>) => step('rename', () => fsp.rename(...args))) as typeof fsp.rename,
    };
    return { ops, steps };
  }

  test('a crash at any step of a create leaves no key or a complete one, and nothing that blocks the name', async () => {
    const dir = tempDir();
    try {
      const value = Buffer.from(PROTOBUF_ENTRY);
      // Count the steps of an uninterrupted create first.
      const full = crashingOps(Infinity);
      await (await FsKeyStore.open(join(dir, 'count'))).create('k', value);
      const probe = await FsKeyStore.open(join(dir, 'count2'), { ops: full.ops });
      await probe.create('k', value);
      assert.deepEqual(full.steps, ['open', 'handle.writeFile', 'handle.sync', 'handle.close', 'link', 'unlink', 'open', 'handle.sync', 'handle.close']);

      for (let n = 0; n < full.steps.length; n++) {
        const path = join(dir, `crash-${n}`);
        await fsp.mkdir(path);
        const { ops } = crashingOps(n);
        const crashing = await FsKeyStore.open(path, { ops: { ...ops, mkdir: fsp.mkdir, opendir: fsp.opendir, stat: fsp.stat } });
        await assert.rejects(crashing.create('my-key', value), Crash, `step ${n}`);

        // Restart: a fresh store on the same directory, temp files now "stale".
        const restarted = await FsKeyStore.open(path, { staleTempAgeMs: -1 });
        const names = await listAll(restarted);
        if (names.length === 0) {
          await assert.rejects(restarted.get('my-key'), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND'), `step ${n}`);
          await restarted.create('my-key', value); // the name is not blocked
        } else {
          assert.deepEqual(names, ['my-key'], `step ${n}`);
        }
        assert.deepEqual(Buffer.from(await restarted.get('my-key')), value, `step ${n}: complete key`);
        assert.deepEqual(await fsp.readdir(path), ['my-key'], `step ${n}: no leftover temporary file`);
        // A key that exists after the link step must have been complete before it.
        if (n > full.steps.indexOf('link')) assert.deepEqual(names, ['my-key'], `step ${n}: key present after link`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a crash at any step of a replace leaves the old value or the new one, and no lock that blocks the key', async () => {
    const dir = tempDir();
    try {
      const before = Buffer.from('version one');
      const after = Buffer.from('version one and two');
      const full = crashingOps(Infinity);
      const probe = await FsKeyStore.open(join(dir, 'count'), { ops: full.ops });
      await probe.create('k', before);
      full.steps.length = 0;
      await probe.replace('k', before, after);
      assert.ok(full.steps.includes('rename'), full.steps.join(', '));

      for (let n = 0; n < full.steps.length; n++) {
        const path = join(dir, `crash-${n}`);
        await (await FsKeyStore.open(path)).create('k', before);
        const { ops } = crashingOps(n);
        const crashing = await FsKeyStore.open(path, { ops: { ...ops, mkdir: fsp.mkdir, opendir: fsp.opendir, stat: fsp.stat } });
        // A crash while releasing the lock comes after the replace took effect: it resolves.
        const outcome = await crashing.replace('k', before, after).then(() => 'replaced', (e: unknown) => e);
        assert.ok(outcome instanceof Crash || (outcome === 'replaced' && n > full.steps.indexOf('rename')), `step ${n}: ${String(outcome)}`);

        const restarted = await FsKeyStore.open(path, { staleTempAgeMs: -1 });
        const value = Buffer.from(await restarted.get('k'));
        assert.ok(value.equals(before) || value.equals(after), `step ${n}: ${value.toString()}`);
        if (n > full.steps.indexOf('rename')) assert.deepEqual(value, after, `step ${n}: replaced after the rename`);
        assert.deepEqual(await fsp.readdir(path), ['k'], `step ${n}: no leftover temporary or lock file`);
        await restarted.replace('k', value, Buffer.from('next'));
        assert.deepEqual(Buffer.from(await restarted.get('k')), Buffer.from('next'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a lock left by a process of this host that no longer runs is broken at once', async () => {
    const dir = tempDir();
    try {
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      await fsp.writeFile(join(dir, '.kes-lock-k'), String(dead));
      const store = await FsKeyStore.open(dir, { staleLockAgeMs: 60_000 });
      await store.create('k', Buffer.from('a'));
      await store.replace('k', Buffer.from('a'), Buffer.from('b'));
      await store.delete('k');
      assert.deepEqual(await fsp.readdir(dir), []);
      // One left empty (a crash between creating it and writing the process id) is broken after a second.
      await store.create('k', Buffer.from('a'));
      await fsp.writeFile(join(dir, '.kes-lock-k'), '');
      const old = new Date(Date.now() - 2_000);
      await fsp.utimes(join(dir, '.kes-lock-k'), old, old);
      await store.replace('k', Buffer.from('a'), Buffer.from('b'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a lock left by a crashed writer is broken once it is stale; a fresh one makes a replace conflict', async () => {
    const dir = tempDir();
    try {
      // A lock of a running process (this one) that is never released.
      await fsp.writeFile(join(dir, '.kes-lock-k'), String(process.pid));
      const store = await FsKeyStore.open(dir, { staleLockAgeMs: 60_000 });
      await store.create('k', Buffer.from('a'));
      await assert.rejects(store.replace('k', Buffer.from('a'), Buffer.from('b')), (e) => e instanceof KeyStoreConflictError);
      const old = new Date(Date.now() - 120_000);
      await fsp.utimes(join(dir, '.kes-lock-k'), old, old);
      await store.replace('k', Buffer.from('a'), Buffer.from('b'));
      assert.deepEqual(Buffer.from(await store.get('k')), Buffer.from('b'));
      assert.deepEqual(await fsp.readdir(dir), ['k']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
