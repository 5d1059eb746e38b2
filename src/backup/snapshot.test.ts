import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKesError } from '../api/errors.js';
import { listAll, type KeyStore } from '../keystore/keystore.js';
import { MemKeyStore } from '../keystore/memory/memory.js';
import { FsKeyStore } from '../keystore/fs/fs.js';
import { BackupKey } from './backup-key.js';
import { createSnapshot, HEADER_SIZE, inspectSnapshot, openSnapshot, RestoreError, restoreSnapshot, type SnapshotOptions } from './snapshot.js';

const KEY = BackupKey.fromBytes(Buffer.alloc(32, 0x42));
const OTHER_KEY = BackupKey.fromBytes(Buffer.alloc(32, 0x43));
const NOW = new Date('2026-05-01T12:00:00.123Z');

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
async function fsStore(): Promise<FsKeyStore> {
  const dir = mkdtempSync(join(tmpdir(), 'kes-backup-'));
  dirs.push(dir);
  return FsKeyStore.open(join(dir, 'keys'));
}

/** A few hundred entries: KES keys, openkes's own entries (names beginning with '-'), binary values. */
function dataset({ dots = true } = {}): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < 300; i++) entries.set(`key-${String(i).padStart(3, '0')}`, randomBytes(1 + (i % 97)));
  const sep = dots ? '.' : '_';
  entries.set(`-enclave${sep}default`, Buffer.from('{"created":"2026-01-01T00:00:00Z"}'));
  entries.set(`-enclave${sep}tenant-1`, Buffer.from([0, 1, 2, 0xff]));
  entries.set(`-key${sep}tenant-1${sep}k1`, randomBytes(64));
  entries.set(`-policy${sep}tenant-1${sep}minio`, Buffer.from('allow: [/v1/kms/*]'));
  entries.set(`-identity${sep}tenant-1${sep}${'ab'.repeat(32)}`, Buffer.alloc(0));
  entries.set('binary-zeros', Buffer.alloc(300));
  entries.set('large', randomBytes(200_000)); // spans several 64 KiB chunks
  return entries;
}

async function fill(store: KeyStore, entries: Map<string, Buffer>): Promise<KeyStore> {
  for (const [name, value] of entries) await store.create(name, value);
  return store;
}

async function contentsOf(store: KeyStore): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of await listAll(store)) out.set(name, Buffer.from(await store.get(name)));
  return out;
}

async function snapshot(store: KeyStore, options: SnapshotOptions = {}, key = KEY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createSnapshot(store, key, { now: () => NOW, ...options })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The byte ranges of a snapshot: the header, then each chunk (length word, ciphertext, tag). */
function chunkRanges(bytes: Buffer): { start: number; end: number; final: boolean }[] {
  const ranges: { start: number; end: number; final: boolean }[] = [];
  for (let at = HEADER_SIZE; at < bytes.length; ) {
    const word = bytes.readUInt32BE(at);
    const end = at + 4 + (word & 0x7fffffff) + 16;
    ranges.push({ start: at, end, final: word >= 0x80000000 });
    at = end;
  }
  return ranges;
}

/** Asserts that restoring bytes fails as an invalid backup and writes nothing. */
async function assertInvalid(bytes: Uint8Array | AsyncIterable<Uint8Array>, title: string, key = KEY): Promise<void> {
  const target = new MemKeyStore();
  await assert.rejects(
    restoreSnapshot(target, bytes, key),
    (err: unknown) => {
      assert.ok(isKesError(err, 'KMS_ERR_BACKUP_INVALID'), `${title}: ${String(err)}`);
      assert.equal(err.status, 400);
      assert.equal(err.message, 'invalid backup: not an openkes backup, damaged, or encrypted under another key');
      return true;
    },
    title,
  );
  assert.deepEqual(await listAll(target), [], `${title}: nothing is written`);
}

describe('round trips', () => {
  test('memory store → memory store: every entry, byte for byte, and the creation time', async () => {
    const entries = dataset();
    const source = await fill(new MemKeyStore(), entries);
    const bytes = await snapshot(source);
    const target = new MemKeyStore();
    const result = await restoreSnapshot(target, bytes, KEY);
    assert.deepEqual(result, { entries: entries.size, createdAt: NOW });
    assert.deepEqual(await contentsOf(target), await contentsOf(source));
    assert.ok(!bytes.includes(entries.get('-policy.tenant-1.minio')!), 'values are not in the clear');
    assert.ok(!bytes.includes(Buffer.from('key-000')), 'names are not in the clear');
  });

  test('records span chunks: a chunk size of 100 bytes, and of 1 byte', async () => {
    const entries = new Map([...dataset()].filter(([name]) => name !== 'large').slice(0, 40));
    const source = await fill(new MemKeyStore(), entries);
    for (const chunkSize of [100, 1]) {
      const bytes = await snapshot(source, { chunkSize });
      assert.ok(chunkRanges(bytes).length > 10, `${chunkSize}: many chunks`);
      const target = new MemKeyStore();
      await restoreSnapshot(target, bytes, KEY);
      assert.deepEqual(await contentsOf(target), entries, String(chunkSize));
    }
  });

  test('fs store → fs store (temp dirs), and across store types: memory → fs, fs → memory', async () => {
    const entries = dataset({ dots: false }); // fs file names cannot hold '.'
    const fsSource = await fill(await fsStore(), entries);
    const fsTarget = await fsStore();
    assert.equal((await restoreSnapshot(fsTarget, await snapshot(fsSource), KEY)).entries, entries.size);
    assert.deepEqual(await contentsOf(fsTarget), entries);

    const memTarget = new MemKeyStore();
    await restoreSnapshot(memTarget, await snapshot(fsTarget), KEY);
    assert.deepEqual(await contentsOf(memTarget), entries);

    const fsTarget2 = await fsStore();
    await restoreSnapshot(fsTarget2, await snapshot(memTarget), KEY);
    assert.deepEqual(await contentsOf(fsTarget2), entries);
  });

  test('an empty store: a snapshot of no entries restores to nothing', async () => {
    const bytes = await snapshot(new MemKeyStore());
    assert.equal(bytes.length, HEADER_SIZE + 4 + 8 + 16);
    const target = new MemKeyStore();
    assert.deepEqual(await restoreSnapshot(target, bytes, KEY), { entries: 0, createdAt: NOW });
    assert.deepEqual(await listAll(target), []);
  });

  test('restores from a stream of small pieces, as a request body arrives', async () => {
    const entries = dataset();
    const bytes = await snapshot(await fill(new MemKeyStore(), entries));
    async function* pieces() {
      for (let at = 0; at < bytes.length; at += 7777) yield bytes.subarray(at, at + 7777);
      yield new Uint8Array(0);
    }
    const target = new MemKeyStore();
    await restoreSnapshot(target, pieces(), KEY);
    assert.deepEqual(await contentsOf(target), entries);
  });

  test('the stream counts its entries and keeps chunks bounded by the chunk size', async () => {
    const entries = dataset();
    const stream = createSnapshot(await fill(new MemKeyStore(), entries), KEY, { chunkSize: 4096 });
    let first = true;
    for await (const chunk of stream) {
      assert.ok(first ? chunk.length === HEADER_SIZE : chunk.length <= 4 + 4096 + 16, String(chunk.length));
      first = false;
    }
    assert.equal(stream.entries, entries.size);
  });

  test('each snapshot has its own salt: two snapshots of one store differ', async () => {
    const source = await fill(new MemKeyStore(), new Map([['a', Buffer.from('x')]]));
    assert.notDeepEqual(await snapshot(source), await snapshot(source));
  });
});

describe('the format', () => {
  test('decodes as docs/backup.md describes it (an independent reader)', async () => {
    const entries = new Map([
      ['a', Buffer.from('one')],
      ['-enclave.default', Buffer.from([0, 255])],
    ]);
    const bytes = await snapshot(await fill(new MemKeyStore(), entries), { chunkSize: 5 });
    const header = bytes.subarray(0, 60);
    assert.equal(header.subarray(0, 14).toString('ascii'), 'openkes-backup');
    assert.equal(header.readUInt16BE(14), 1);
    assert.equal(Number(header.readBigUInt64BE(16)), NOW.getTime());
    assert.equal(header.readUInt32BE(24), 5);
    const key = Buffer.from(hkdfSync('sha256', Buffer.alloc(32, 0x42), header.subarray(28, 60), 'openkes backup v1', 32));
    const plain: Buffer[] = [];
    let count: bigint | undefined;
    chunkRanges(bytes).forEach(({ start, end, final }, i) => {
      const nonce = Buffer.alloc(12);
      nonce.writeBigUInt64BE(BigInt(i));
      nonce[11] = final ? 1 : 0;
      const d = createDecipheriv('aes-256-gcm', key, nonce);
      d.setAAD(header);
      d.setAuthTag(bytes.subarray(end - 16, end));
      const p = Buffer.concat([d.update(bytes.subarray(start + 4, end - 16)), d.final()]);
      if (final) count = p.readBigUInt64BE(0);
      else plain.push(p);
    });
    assert.equal(count, 2n);
    const records = Buffer.concat(plain);
    const decoded: [string, Buffer][] = [];
    for (let at = 0; at < records.length; ) {
      const n = records.readUInt32BE(at);
      const name = records.subarray(at + 4, at + 4 + n).toString('utf8');
      const v = records.readUInt32BE(at + 4 + n);
      decoded.push([name, records.subarray(at + 8 + n, at + 8 + n + v)]);
      at += 8 + n + v;
    }
    // Name order of the store: '-' (0x2d) sorts before 'a'.
    assert.deepEqual(decoded, [['-enclave.default', Buffer.from([0, 255])], ['a', Buffer.from('one')]]);
  });

  test('known answer: a fixed key, salt, time and store give these bytes (older snapshots keep restoring)', async () => {
    const store = await fill(new MemKeyStore(), new Map([['my-key', Buffer.from('{"bytes":"AAAA"}')]]));
    const bytes = await snapshot(store, { random: (n) => Buffer.alloc(n, 0x5a), now: () => new Date(1_700_000_000_000) });
    const vector = Buffer.from(KNOWN_SNAPSHOT, 'hex');
    assert.equal(bytes.toString('hex'), KNOWN_SNAPSHOT);
    const opened = await openSnapshot(vector, KEY);
    assert.deepEqual(opened, { createdAt: new Date(1_700_000_000_000), entries: [{ name: 'my-key', value: Buffer.from('{"bytes":"AAAA"}') }] });
  });

  test('inspectSnapshot tells a complete snapshot from a cut or foreign file, without the key', async () => {
    const bytes = await snapshot(await fill(new MemKeyStore(), dataset()));
    assert.deepEqual(inspectSnapshot(bytes), { version: 1, createdAt: NOW, chunkSize: 65536 });
    for (const cut of [0, 10, HEADER_SIZE, HEADER_SIZE + 3, bytes.length - 1]) assert.equal(inspectSnapshot(bytes.subarray(0, cut)), undefined, String(cut));
    assert.equal(inspectSnapshot(Buffer.concat([bytes, Buffer.of(0)])), undefined);
    assert.equal(inspectSnapshot(Buffer.from('{"message":"not a backup"}\n')), undefined);
  });
});

describe('invalid backups: nothing is written', () => {
  test('another key', async () => {
    const bytes = await snapshot(await fill(new MemKeyStore(), dataset()));
    await assertInvalid(bytes, 'another key', OTHER_KEY);
  });

  test('every single byte changed: header, length words, ciphertexts and tags', async () => {
    const entries = new Map([...dataset()].filter(([name]) => name !== 'large').slice(0, 12));
    const bytes = await snapshot(await fill(new MemKeyStore(), entries), { chunkSize: 64 });
    const ranges = chunkRanges(bytes);
    const classOf = (i: number): string => {
      if (i < HEADER_SIZE) return `header byte ${i}`;
      const r = ranges.findIndex(({ start, end }) => i >= start && i < end);
      const { start, end } = ranges[r]!;
      const part = i < start + 4 ? 'length word' : i >= end - 16 ? 'tag' : 'ciphertext';
      return `${part} of chunk ${r}${ranges[r]!.final ? ' (final)' : ''}, byte ${i}`;
    };
    for (let i = 0; i < bytes.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const damaged = Buffer.from(bytes);
        damaged[i]! ^= flip;
        await assertInvalid(damaged, `${classOf(i)} ^ ${flip}`);
      }
    }
  });

  test('cut short at every length, or with bytes appended', async () => {
    const entries = new Map([...dataset()].slice(0, 20));
    const bytes = await snapshot(await fill(new MemKeyStore(), entries), { chunkSize: 256 });
    for (let n = 0; n < bytes.length; n++) await assertInvalid(bytes.subarray(0, n), `cut at ${n} of ${bytes.length}`);
    await assertInvalid(Buffer.concat([bytes, Buffer.of(0)]), 'a byte appended');
    await assertInvalid(Buffer.concat([bytes, bytes.subarray(HEADER_SIZE)]), 'the chunks appended again');
  });

  test('chunks reordered, dropped, repeated, or taken from another snapshot under the same key', async () => {
    const source = await fill(new MemKeyStore(), new Map([...dataset()].slice(0, 30)));
    const bytes = await snapshot(source, { chunkSize: 128 });
    const header = bytes.subarray(0, HEADER_SIZE);
    const chunks = chunkRanges(bytes).map(({ start, end }) => bytes.subarray(start, end));
    const data = chunks.slice(0, -1);
    const final = chunks.at(-1)!;
    assert.ok(data.length >= 4);
    const cases: Array<[string, Buffer[]]> = [
      ['two data chunks swapped', [data[1]!, data[0]!, ...data.slice(2), final]],
      ['a data chunk dropped', [...data.slice(0, 2), ...data.slice(3), final]],
      ['the last data chunk dropped', [...data.slice(0, -1), final]],
      ['a data chunk repeated', [...data.slice(0, 2), data[1]!, ...data.slice(2), final]],
      ['the final chunk moved forward', [...data.slice(0, 2), final, ...data.slice(2)]],
      ['the final chunk dropped', data],
      ['no chunks', []],
    ];
    const other = await snapshot(source, { chunkSize: 128 });
    const otherChunks = chunkRanges(other).map(({ start, end }) => other.subarray(start, end));
    cases.push(['a chunk of another snapshot', [data[0]!, otherChunks[1]!, ...data.slice(2), final]]);
    for (const [title, parts] of cases) await assertInvalid(Buffer.concat([header, ...parts]), title);
    await assertInvalid(Buffer.concat([other.subarray(0, HEADER_SIZE), ...chunks]), "another snapshot's header");
  });

  test('not a backup at all', async () => {
    await assertInvalid(Buffer.alloc(0), 'empty');
    await assertInvalid(Buffer.from('{"message":"backup is not configured"}\n'), 'an error answer');
    await assertInvalid(randomBytes(4096), 'random bytes');
  });
});

describe('restore', () => {
  test('into a store that is not empty: refused, nothing written', async () => {
    const bytes = await snapshot(await fill(new MemKeyStore(), dataset()));
    for (const existing of ['zzz-last', '-enclave.default', 'key-000']) {
      const target = await fill(new MemKeyStore(), new Map([[existing, Buffer.from('old')]]));
      await assert.rejects(restoreSnapshot(target, bytes, KEY), (err: unknown) => isKesError(err, 'KMS_ERR_STORE_NOT_EMPTY') && err.status === 409);
      assert.deepEqual(await contentsOf(target), new Map([[existing, Buffer.from('old')]]), existing);
    }
  });

  test('an invalid backup is reported before the store is looked at', async () => {
    const target = await fill(new MemKeyStore(), new Map([['a', Buffer.from('x')]]));
    await assert.rejects(restoreSnapshot(target, Buffer.from('nope'), KEY), (err: unknown) => isKesError(err, 'KMS_ERR_BACKUP_INVALID'));
  });

  test('a create failing midway reports how many entries were written and which failed', async () => {
    const entries = dataset();
    const bytes = await snapshot(await fill(new MemKeyStore(), entries));
    const names = [...entries.keys()].sort();
    const inner = new MemKeyStore();
    const failing = names[42]!;
    const broken = new Error('disk full');
    const target: KeyStore = Object.assign(Object.create(inner) as KeyStore, {
      create: async (name: string, value: Uint8Array) => {
        if (name === failing) throw broken;
        return inner.create(name, value);
      },
      list: (prefix: string) => inner.list(prefix),
    });
    await assert.rejects(restoreSnapshot(target, bytes, KEY), (err: unknown) => {
      assert.ok(err instanceof RestoreError);
      assert.equal(err.written, 42);
      assert.equal(err.total, entries.size);
      assert.equal(err.failed, failing);
      assert.equal(err.cause, broken);
      assert.equal(err.message, `restore stopped after 42 of ${entries.size} entries: cannot create '${failing}'`);
      return true;
    });
    assert.deepEqual(await listAll(inner), names.slice(0, 42));
  });

  test('into a store that cannot hold a name (fs: no dots): stops there, with the count', async () => {
    const bytes = await snapshot(await fill(new MemKeyStore(), dataset()));
    const target = await fsStore();
    await assert.rejects(restoreSnapshot(target, bytes, KEY), (err: unknown) => {
      assert.ok(err instanceof RestoreError);
      // '-enclave.default' sorts first and is the first that fails.
      assert.equal(err.written, 0);
      assert.equal(err.failed, '-enclave.default');
      return true;
    });
    assert.equal(readdirSync(join(dirs.at(-1)!, 'keys')).length, 0);
  });
});

describe('snapshot of a changing or failing store', () => {
  test('an entry deleted between the listing and its read is left out', async () => {
    const inner = await fill(new MemKeyStore(), new Map([['a', Buffer.from('1')], ['b', Buffer.from('2')], ['c', Buffer.from('3')]]));
    const store: KeyStore = Object.assign(Object.create(inner) as KeyStore, {
      list: (prefix: string) => inner.list(prefix),
      get: async (name: string) => {
        if (name === 'b') await inner.delete('b');
        return inner.get(name);
      },
    });
    const stream = createSnapshot(store, KEY);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(stream.entries, 2);
    const opened = await openSnapshot(Buffer.concat(chunks), KEY);
    assert.deepEqual(opened.entries.map((e) => e.name), ['a', 'c']);
  });

  test('a read that fails ends the stream with the error, naming the entry; no final chunk is written', async () => {
    const inner = await fill(new MemKeyStore(), dataset());
    const store: KeyStore = Object.assign(Object.create(inner) as KeyStore, {
      list: (prefix: string) => inner.list(prefix),
      get: async (name: string) => {
        if (name === 'key-100') throw new Error('connection reset');
        return inner.get(name);
      },
    });
    const chunks: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of createSnapshot(store, KEY)) chunks.push(c);
      })(),
      (err: unknown) => err instanceof Error && err.message === "backup: cannot read 'key-100'" && (err.cause as Error).message === 'connection reset',
    );
    await assertInvalid(Buffer.concat(chunks), 'what was written before the failure');
  });
});

/** `createSnapshot` of { my-key: {"bytes":"AAAA"} }, key 0x42 × 32, salt 0x5a × 32, at 1,700,000,000,000 ms. */
const KNOWN_SNAPSHOT =
  '6f70656e6b65732d6261636b757000010000018bcfe56800000100005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' +
  '0000001eae74962f467cf2e26af9a4b2b0e2dc83652e9c71ab4e847b16049ec40241f2c7825d7ec36f8099b823433500da9480000008400f126dc456a16c839fd89b248678f7084a869916b1e2b3';
