/**
 * `kes migrate` between two filesystem key stores in temporary directories: entries must be
 * byte-identical afterwards; existing keys, --force, --merge, patterns, interruption and errors.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KesError } from '../../src/api/errors.js';
import { FsKeyStore } from '../../src/keystore/fs/fs.js';
import { MemKeyStore } from '../../src/keystore/memory/memory.js';
import { listAll, type KeyStore } from '../../src/keystore/keystore.js';
import { compileGlob } from '../../src/cli/glob.js';
import { MigrateError, migrateKeys } from '../../src/cli/migrate-keys.js';
import { kes } from '../helpers/cli-io.js';
import { PROTOBUF_ENTRY } from '../helpers/vectors.js';
import { runCli, startCli } from './run-cli.js';

let dir: string;
let from: string;
let to: string;
let src: FsKeyStore;
let dst: FsKeyStore;
/** What the source holds, by name. */
let entries: Map<string, Buffer>;

const config = (name: string, path: string): string => {
  const file = join(dir, name);
  writeFileSync(file, `address: 0.0.0.0:7373\nadmin:\n  identity: disabled\ntls:\n  key: /nowhere/server.key\n  cert: /nowhere/server.crt\nkeystore:\n  fs:\n    path: ${path}\n`);
  return file;
};

async function contents(store: KeyStore): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of await listAll(store)) out.set(name, Buffer.from(await store.get(name)));
  return out;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kes-migrate-test-'));
  src = await FsKeyStore.open(join(dir, 'src'));
  dst = await FsKeyStore.open(join(dir, 'dst'));
  entries = new Map([
    ['app-1', Buffer.from(PROTOBUF_ENTRY)], // a KES v0.22+ entry, as stored
    ['app-2', randomBytes(64)], // arbitrary bytes, not UTF-8: copied as they are
    ['app-10', Buffer.from('{"bytes":"AAAA"}')],
    ['db-key', randomBytes(32)],
    ['key-a', randomBytes(16)],
    ['key-ab', randomBytes(16)],
  ]);
  for (const [name, value] of entries) await src.create(name, value);
  from = config('from.yml', join(dir, 'src'));
  to = config('to.yml', join(dir, 'dst'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('kes migrate', () => {
  test('copies every entry byte for byte; piped output is only the final line', async () => {
    const r = await kes(['migrate', '--from', from, '--to', to], {});
    assert.deepEqual(r, { code: 0, stdout: 'Done: 6 keys migrated, 0 skipped.\n', stderr: '' });
    assert.deepEqual(await contents(dst), entries);
    assert.deepEqual(await contents(src), entries, 'the source is unchanged');
  });

  test('on a terminal the last line is the result (after any progress line)', async () => {
    const r = await kes(['migrate', '--from', from, '--to', to], {}, { tty: true });
    assert.equal(r.code, 0);
    const last = r.stdout.split('\r\x1b[2K').at(-1);
    assert.equal(last, 'Done: 6 keys migrated, 0 skipped.\n');
  });

  test('PATTERN selects keys: * any run of characters, ? one character', async () => {
    const cases: [pattern: string, names: string[]][] = [
      ['app-*', ['app-1', 'app-10', 'app-2']],
      ['app-?', ['app-1', 'app-2']],
      ['key-?', ['key-a']],
      ['*-a*', ['key-a', 'key-ab']],
      ['db-key', ['db-key']],
      ['nothing*', []],
    ];
    for (const [pattern, names] of cases) {
      for (const name of await listAll(dst)) await dst.delete(name);
      const r = await kes(['migrate', '--from', from, '--to', to, pattern], {});
      assert.equal(r.stdout, `Done: ${names.length} ${names.length === 1 ? 'key' : 'keys'} migrated, 0 skipped.\n`, pattern);
      assert.deepEqual(await contents(dst), new Map(names.map((n) => [n, entries.get(n)!])), pattern);
    }
  });

  test('a key that exists in the destination stops the migration (exit 1) and is left alone', async () => {
    const theirs = Buffer.from('destination value');
    await dst.create('app-2', theirs);
    const r = await kes(['migrate', '--from', from, '--to', to], {});
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    // Names are copied in sorted order: app-1 and app-10 come before app-2.
    assert.equal(r.stderr, "Error: key 'app-2' already exists in the destination: use --merge to keep the existing keys or --force to replace them (2 keys migrated, 0 skipped before the error)\n");
    assert.deepEqual(await contents(dst), new Map([['app-1', entries.get('app-1')!], ['app-10', entries.get('app-10')!], ['app-2', theirs]]));
  });

  test('--merge keeps existing keys and counts them as skipped', async () => {
    const theirs = Buffer.from('destination value');
    await dst.create('app-2', theirs);
    await dst.create('only-in-destination', theirs);
    const r = await kes(['migrate', '--merge', '--from', from, '--to', to], {});
    assert.deepEqual([r.code, r.stdout], [0, 'Done: 5 keys migrated, 1 skipped.\n']);
    assert.deepEqual(await contents(dst), new Map([...entries, ['app-2', theirs], ['only-in-destination', theirs]]));
  });

  test('--force replaces existing keys with the source entries', async () => {
    await dst.create('app-2', Buffer.from('destination value'));
    await dst.create('only-in-destination', Buffer.from('kept'));
    const r = await kes(['migrate', '-f', '--from', from, '--to', to], {});
    assert.deepEqual([r.code, r.stdout], [0, 'Done: 6 keys migrated, 0 skipped.\n']);
    assert.deepEqual(await contents(dst), new Map([...entries, ['only-in-destination', Buffer.from('kept')]]));
  });

  test('the config files: only the keystore section is read, with ${VAR} references', async () => {
    const file = join(dir, 'env.yml');
    writeFileSync(file, 'keystore:\n  fs:\n    path: ${KES_TEST_DST}\n');
    const r = await kes(['migrate', '--from', from, '--to', file, 'db-*'], { KES_TEST_DST: join(dir, 'env-dst') });
    assert.deepEqual([r.code, r.stderr], [0, '']);
    assert.deepEqual(await contents(await FsKeyStore.open(join(dir, 'env-dst'))), new Map([['db-key', entries.get('db-key')!]]));
  });

  test('config errors name the file and field', async () => {
    let r = await kes(['migrate', '--from', join(dir, 'missing.yml'), '--to', to], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: .*missing\.yml: cannot read the config file: ENOENT/);
    const file = join(dir, 'bad.yml');
    writeFileSync(file, 'keystore:\n  fs:\n    path: ${KES_TEST_UNSET}\n');
    r = await kes(['migrate', '--from', from, '--to', file], {});
    assert.equal(r.stderr, `Error: ${file}:3: keystore.fs.path: referenced env. variable 'KES_TEST_UNSET' in line '3' not found\n`);
    writeFileSync(file, `keystore:\n  fs:\n    path: ${file}\n`); // a file, not a directory
    r = await kes(['migrate', '--from', from, '--to', file], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: cannot open the destination key store of '.*bad\.yml': EEXIST/);
  });

  test('usage errors exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--to', to], /missing --from CONFIG/],
      [['--from', from], /missing --to CONFIG: .*MinKMS \(-s\/-e\/-a\) is not supported/],
      [['--from', from, '-s', 'play.min.io:7373', '-e', 'enclave', '-a', 'k'], /migrating to MinKMS \(-s\/-e\/-a\) is not supported by this version: name the destination key store with --to CONFIG/],
      [['--from', from, '--to', to, '--force', '--merge'], /--force and --merge are mutually exclusive/],
      [['--from', from, '--to', to, 'app-1', 'app-2'], /too many arguments: give one PATTERN \(quote it/],
      [['--from', from, '--to', from], /name the same key store/],
      [['--from', from, '--to', config('same.yml', `${join(dir, 'src')}/./`)], /name the same key store/],
    ];
    for (const [args, error] of cases) {
      const r = await kes(['migrate', ...args], {});
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, error, args.join(' '));
    }
    assert.deepEqual(await listAll(dst), []);
  });

  test('Ctrl-C (an aborted signal) stops with exit 1 and says how many keys were migrated', async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await kes(['migrate', '--from', from, '--to', to], {}, { signal: controller.signal });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Interrupted: 0 keys migrated, 0 skipped before the migration was stopped.\n');
    assert.deepEqual(await listAll(dst), []);
  });

  test('--help describes the command', async () => {
    const r = await kes(['migrate', '--help'], {});
    assert.equal(r.code, 0);
    for (const text of ['--from CONFIG', '--to CONFIG', '--merge', '-f, --force', 'byte for byte', '* matches any run of characters, ? one character', 'Examples:']) {
      assert.ok(r.stdout.includes(text), text);
    }
  });

  test('as a process, Ctrl-C (SIGINT) stops after the current key and reports the count', async () => {
    // Enough keys that the migration is still running when the first one has arrived.
    const big = join(dir, 'big');
    mkdirSync(big);
    for (let i = 0; i < 3000; i++) writeFileSync(join(big, `k${i}`), `value ${i}`, { mode: 0o600 });
    const cli = startCli(['migrate', '--from', config('big.yml', big), '--to', to]);
    const copied = () => readdirSync(join(dir, 'dst')).filter((n) => !n.startsWith('.'));
    while (copied().length === 0 && cli.child.exitCode === null) await sleep(10);
    cli.child.kill('SIGINT');
    const code = await cli.exited;
    const m = /^Interrupted: ([\d,]+) keys? migrated, 0 skipped before the migration was stopped\.\n$/.exec(cli.stderr());
    assert.ok(m, `stderr: ${cli.stderr()}`);
    assert.equal(code, 1);
    assert.equal(cli.stdout(), '');
    const migrated = Number(m[1]!.replaceAll(',', ''));
    assert.ok(migrated > 0 && migrated < 3000, String(migrated));
    assert.equal(copied().length, migrated, 'exactly the reported keys are in the destination');
  });

  test('runs as a process', async () => {
    const r = await runCli(['migrate', '--from', from, '--to', to, 'key-*']);
    assert.deepEqual(r, { code: 0, stdout: 'Done: 2 keys migrated, 0 skipped.\n', stderr: '' });
    assert.deepEqual([...(await contents(dst)).keys()], ['key-a', 'key-ab']);
  });
});

/** A store that runs a hook before delegating create and get, e.g. to abort or fail mid-run. */
class HookedStore implements KeyStore {
  constructor(
    private readonly inner: KeyStore,
    private readonly hooks: { create?: (name: string) => void; get?: (name: string) => void | Promise<void> } = {},
  ) {}
  status() {
    return this.inner.status();
  }
  async create(name: string, value: Uint8Array) {
    this.hooks.create?.(name);
    return this.inner.create(name, value);
  }
  async get(name: string) {
    await this.hooks.get?.(name);
    return this.inner.get(name);
  }
  delete(name: string) {
    return this.inner.delete(name);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  close() {
    return this.inner.close();
  }
}

describe('migrateKeys', () => {
  const memWith = async (names: string[]): Promise<MemKeyStore> => {
    const store = new MemKeyStore();
    for (const n of names) await store.create(n, Buffer.from(`value of ${n}`));
    return store;
  };

  test('stops after the key being copied when the signal is aborted mid-run', async () => {
    const from = await memWith(['a', 'b', 'c', 'd', 'e']);
    const to = new MemKeyStore();
    const controller = new AbortController();
    let creates = 0;
    const progress: number[] = [];
    const hooked = new HookedStore(to, { create: () => void (++creates === 2 && controller.abort()) });
    const result = await migrateKeys(from, hooked, { signal: controller.signal, onProgress: (c) => progress.push(c.migrated) });
    assert.deepEqual(result, { migrated: 2, skipped: 0, interrupted: true });
    assert.deepEqual(await listAll(to), ['a', 'b']);
    assert.deepEqual(progress, [1, 2]);
  });

  test('a key deleted from the source after listing is passed over', async () => {
    const from = await memWith(['a', 'b', 'c']);
    const to = new MemKeyStore();
    const hooked = new HookedStore(from, { get: async (name) => void (name === 'b' && (await from.delete('b'))) });
    assert.deepEqual(await migrateKeys(hooked, to), { migrated: 2, skipped: 0, interrupted: false });
    assert.deepEqual(await listAll(to), ['a', 'c']);
  });

  test('a failing store stops the migration with the key, the cause and the counts', async () => {
    const from = await memWith(['a', 'b', 'c']);
    const failing = new HookedStore(new MemKeyStore(), {
      create: (name) => {
        if (name === 'b') throw new Error('fs: disk full');
      },
    });
    await assert.rejects(migrateKeys(from, failing), (err: unknown) => {
      assert.ok(err instanceof MigrateError);
      assert.equal(err.message, "failed to create the key 'b': fs: disk full");
      assert.deepEqual(err.counts, { migrated: 1, skipped: 0 });
      return true;
    });
    const unreadable = new HookedStore(from, {
      get: () => {
        throw new KesError('KES_ERR_STORE_FAILED');
      },
    });
    await assert.rejects(migrateKeys(unreadable, new MemKeyStore()), /^MigrateError: failed to read the source key 'a': key store is unavailable$/);
  });
});

describe('compileGlob', () => {
  test('matches whole names; the prefix is the text before the first wildcard', () => {
    const cases: [pattern: string, prefix: string, yes: string[], no: string[]][] = [
      ['*', '', ['', 'a', 'any-thing'], []],
      ['app-*', 'app-', ['app-', 'app-1', 'app-x-y'], ['app', 'my-app-1']],
      ['a?c', 'a', ['abc', 'a-c', 'aéc'], ['ac', 'abbc']],
      ['*.key', '', ['x.key', '.key'], ['xkey', 'x.keys']],
      ['k(1)+[2]', 'k(1)+[2]', ['k(1)+[2]'], ['k1+2', 'k(1)(1)+[2]']],
      ['😀?', '😀', ['😀x', '😀😀'], ['😀', '😀xy']],
    ];
    for (const [pattern, prefix, yes, no] of cases) {
      const glob = compileGlob(pattern);
      assert.equal(glob.prefix, prefix, pattern);
      for (const name of yes) assert.equal(glob.matches(name), true, `${pattern} ~ ${name}`);
      for (const name of no) assert.equal(glob.matches(name), false, `${pattern} !~ ${name}`);
    }
  });
});
