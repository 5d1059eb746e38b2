/**
 * Snapshots of a whole key store, encrypted under the backup key (docs/backup.md): what
 * `GET /v1/db` answers and `PUT /v1/db` restores (MinKMS's ReadDB and WriteDB).
 *
 * A snapshot holds every entry `store.list('')` names, KES's keys and openkes's own entries
 * (names beginning with `-`) alike, as name and value, byte for byte. It is written as a stream
 * (memory bounded by one chunk and the reads in flight) and read back whole: a restore
 * authenticates every byte before it writes anything.
 *
 * Format, version 1 (integers big-endian):
 *
 *   header, 60 bytes, in the clear and authenticated as the associated data of every chunk:
 *      0  14  magic, ASCII `openkes-backup`
 *     14   2  format version, 1
 *     16   8  creation time, milliseconds since 1970-01-01 UTC
 *     24   4  chunk size: the largest plaintext of a data chunk (65536)
 *     28  32  salt, random per snapshot
 *   then chunks, each:
 *      4 bytes  bit 31: final chunk; bits 0-30: n, the length of the ciphertext
 *      n bytes  AES-256-GCM ciphertext
 *     16 bytes  GCM tag
 *
 * The chunk key is HKDF-SHA256(backup key, salt, "openkes backup v1"), new for every snapshot;
 * the nonce of chunk i (counted from 0) is i as 8 bytes ‖ 0x000000 ‖ the final flag (0 or 1).
 * Data chunks (flag 0) carry 1 to chunk-size bytes of the record stream, records running on
 * from one chunk into the next; each record is name length (4) ‖ name (UTF-8) ‖ value length
 * (4) ‖ value. The last chunk (flag 1) carries only the number of records (8 bytes), and
 * nothing follows it. So a changed byte anywhere fails a tag, and a chunk dropped, repeated or
 * moved fails its nonce; a snapshot cut after any chunk lacks the final one.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { isKesError, KesError } from '../api/errors.js';
import type { KeyStore } from '../keystore/keystore.js';
import { BackupKey } from './backup-key.js';

export const SNAPSHOT_MAGIC = Buffer.from('openkes-backup', 'ascii');
export const SNAPSHOT_VERSION = 1;
export const HEADER_SIZE = SNAPSHOT_MAGIC.length + 2 + 8 + 4 + 32;
/** The plaintext of a data chunk, at most. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** The largest chunk size a reader accepts (a bound on what one chunk allocates). */
const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const SALT_SIZE = 32;
const TAG_SIZE = 16;
const WORD_SIZE = 4;
const FINAL = 0x8000_0000;
const COUNT_SIZE = 8;
const KDF_INFO = `openkes backup v${SNAPSHOT_VERSION}`;

/** Options of {@link createSnapshot}. */
export interface SnapshotOptions {
  /** The creation time written into the header (default now). */
  now?: () => Date;
  /** Source of the salt (injectable for tests). */
  random?: (size: number) => Buffer;
  /** The largest plaintext of a data chunk (default 64 KiB). */
  chunkSize?: number;
  /** Store reads in flight (default 8). */
  concurrency?: number;
}

/** The chunks of a snapshot being written. */
export interface SnapshotStream extends AsyncIterable<Buffer> {
  /** The entries written so far: the snapshot's count once the stream has ended. */
  readonly entries: number;
}

/**
 * The snapshot of every entry of store, encrypted under key, as a stream of byte chunks (the
 * header first). Entries are read in name order while the stream is consumed; one deleted
 * between the listing and its read is left out. Entries written meanwhile may or may not be in
 * it: for a snapshot of one instant, stop the writers.
 * @throws (while iterating) the store's errors; an Error for a name that is not valid Unicode
 */
export function createSnapshot(store: KeyStore, key: BackupKey, options: SnapshotOptions = {}): SnapshotStream {
  let entries = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new RangeError(`chunk size must be from 1 to ${MAX_CHUNK_SIZE}`);
    const salt = (options.random ?? randomBytes)(SALT_SIZE);
    const header = encodeHeader((options.now?.() ?? new Date()).getTime(), chunkSize, salt);
    const sealer = new ChunkSealer(key.derive(salt, KDF_INFO), header);
    const plain = Buffer.alloc(chunkSize);
    let filled = 0;
    try {
      yield header;
      /** Appends bytes to the record stream, yielding every chunk that fills up. */
      const append = function* (bytes: Uint8Array): Generator<Buffer> {
        for (let at = 0; at < bytes.length; ) {
          const n = Math.min(bytes.length - at, chunkSize - filled);
          plain.set(bytes.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled === chunkSize) {
            yield sealer.seal(plain, false);
            filled = 0;
          }
        }
      };
      for await (const [name, value] of readEntries(store, options.concurrency ?? 8)) {
        const nameBytes = Buffer.from(name, 'utf8');
        if (nameBytes.toString('utf8') !== name) throw new Error('backup: an entry name is not valid Unicode');
        yield* append(uint32(nameBytes.length));
        yield* append(nameBytes);
        yield* append(uint32(value.length));
        yield* append(value);
        entries++;
      }
      if (filled > 0) yield sealer.seal(plain.subarray(0, filled), false);
      const count = Buffer.alloc(COUNT_SIZE);
      count.writeBigUInt64BE(BigInt(entries));
      yield sealer.seal(count, true);
    } finally {
      plain.fill(0);
      sealer.close();
    }
  }
  return {
    get entries() {
      return entries;
    },
    [Symbol.asyncIterator]: () => chunks(),
  };
}

/** A snapshot read back and authenticated. */
export interface SnapshotContents {
  /** When the snapshot was made (the server's clock). */
  createdAt: Date;
  /** Every entry, in the snapshot's order (the store's name order). */
  entries: { name: string; value: Buffer }[];
}

/** A snapshot's bytes: all at once, or as a stream of chunks (a request body). */
export type SnapshotSource = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * Reads a whole snapshot, authenticating every chunk, into memory.
 * @throws KesError KMS_ERR_BACKUP_INVALID for anything but a complete, unchanged snapshot made
 *   under key (its cause says what, for the error log); the source's own errors
 */
export async function openSnapshot(source: SnapshotSource, key: BackupKey): Promise<SnapshotContents> {
  const input = new ByteReader(source);
  const header = await input.take(HEADER_SIZE);
  const { createdAt, chunkSize, salt } = decodeHeader(header);
  const opener = new ChunkOpener(key.derive(salt, KDF_INFO), header);
  const records = new RecordReader();
  const entries: { name: string; value: Buffer }[] = [];
  try {
    for (;;) {
      const word = (await input.take(WORD_SIZE)).readUInt32BE(0);
      const final = (word & FINAL) !== 0;
      const n = word & ~FINAL;
      if (final ? n !== COUNT_SIZE : n < 1 || n > chunkSize) throw invalid(`chunk ${opener.index} has an impossible length`);
      const plain = opener.open(await input.take(n + TAG_SIZE), final);
      if (!final) {
        records.push(plain, entries);
        continue;
      }
      if (!(await input.atEnd())) throw invalid('bytes follow the final chunk');
      if (!records.atBoundary) throw invalid('the last record is incomplete');
      const count = plain.readBigUInt64BE(0);
      if (count !== BigInt(entries.length)) throw invalid(`the final chunk counts ${count} entries, the snapshot holds ${entries.length}`);
      return { createdAt, entries };
    }
  } catch (err) {
    for (const entry of entries) entry.value.fill(0);
    throw err;
  } finally {
    opener.close();
  }
}

/** What a restore wrote. */
export interface RestoreResult {
  /** Entries written (all of the snapshot's). */
  entries: number;
  /** When the snapshot was made. */
  createdAt: Date;
}

/**
 * A restore stopped after writing some of the entries: the store holds the first `written`
 * ones (in the snapshot's order) and `failed` is the entry it could not create (cause).
 */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
  constructor(
    readonly written: number,
    readonly total: number,
    readonly failed: string,
    options: ErrorOptions,
  ) {
    super(`restore stopped after ${written} of ${total} entries: cannot create '${failed}'`, options);
  }
}

/**
 * Restores a snapshot into store, which must be empty: authenticates the whole snapshot first,
 * then checks that `store.list('')` names nothing, then creates every entry.
 * @throws KesError KMS_ERR_BACKUP_INVALID (nothing written) for a snapshot that is not complete,
 *   unchanged and made under key; KesError KMS_ERR_STORE_NOT_EMPTY (nothing written);
 *   RestoreError when a create fails midway (its counts say what was written); the store's
 *   errors from the listing
 */
export async function restoreSnapshot(store: Pick<KeyStore, 'list' | 'create'>, source: SnapshotSource, key: BackupKey): Promise<RestoreResult> {
  const { createdAt, entries } = await openSnapshot(source, key);
  try {
    if (!(await isEmpty(store))) throw new KesError('KMS_ERR_STORE_NOT_EMPTY');
    for (let i = 0; i < entries.length; i++) {
      const { name, value } = entries[i]!;
      try {
        await store.create(name, value);
      } catch (err) {
        throw new RestoreError(i, entries.length, name, { cause: err });
      }
    }
    return { entries: entries.length, createdAt };
  } finally {
    for (const entry of entries) entry.value.fill(0);
  }
}

/** Reports whether store.list('') names nothing. */
async function isEmpty(store: Pick<KeyStore, 'list'>): Promise<boolean> {
  const names = store.list('')[Symbol.asyncIterator]();
  const first = await names.next();
  if (!first.done) await names.return?.();
  return first.done === true;
}

/** The header of a snapshot, without decrypting anything (for tools without the key). */
export interface SnapshotHeader {
  version: number;
  createdAt: Date;
  chunkSize: number;
}

/**
 * Reads a snapshot's header and walks its chunks without the key: tells a complete snapshot
 * from a cut or foreign file before it is sent anywhere (it cannot tell a changed byte).
 * @returns the header; undefined when bytes is not a complete snapshot of this format
 */
export function inspectSnapshot(bytes: Uint8Array): SnapshotHeader | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: SnapshotHeader;
  try {
    const { createdAt, chunkSize } = decodeHeader(buf.subarray(0, HEADER_SIZE));
    header = { version: SNAPSHOT_VERSION, createdAt, chunkSize };
  } catch {
    return undefined;
  }
  for (let at = HEADER_SIZE; at + WORD_SIZE <= buf.length; ) {
    const word = buf.readUInt32BE(at);
    const n = word & ~FINAL;
    at += WORD_SIZE + n + TAG_SIZE;
    if ((word & FINAL) !== 0) return at === buf.length && n === COUNT_SIZE ? header : undefined;
  }
  return undefined;
}

// ---- format --------------------------------------------------------------------------------

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function encodeHeader(createdMs: number, chunkSize: number, salt: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  let at = SNAPSHOT_MAGIC.copy(header, 0);
  at = header.writeUInt16BE(SNAPSHOT_VERSION, at);
  at = header.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(createdMs))), at);
  at = header.writeUInt32BE(chunkSize, at);
  salt.copy(header, at);
  return header;
}

/** The fields of a header. @throws KesError KMS_ERR_BACKUP_INVALID */
function decodeHeader(header: Buffer): { createdAt: Date; chunkSize: number; salt: Buffer } {
  if (header.length < HEADER_SIZE || !header.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) throw invalid('no openkes backup header');
  let at = SNAPSHOT_MAGIC.length;
  const version = header.readUInt16BE(at);
  if (version !== SNAPSHOT_VERSION) throw invalid(`format version ${version} is not supported (only ${SNAPSHOT_VERSION})`);
  const createdMs = header.readBigUInt64BE((at += 2));
  const chunkSize = header.readUInt32BE((at += 8));
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw invalid('impossible chunk size');
  const salt = header.subarray((at += 4), at + SALT_SIZE);
  // Beyond what a Date holds the header is damaged; the tags will say so.
  const createdAt = new Date(createdMs <= 8_640_000_000_000_000n ? Number(createdMs) : 0);
  return { createdAt, chunkSize, salt };
}

function nonce(index: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 0);
  n[11] = final ? 1 : 0;
  return n;
}

/** Encrypts the chunks of one snapshot in order. */
class ChunkSealer {
  private index = 0;
  constructor(
    private readonly key: Buffer,
    private readonly header: Buffer,
  ) {}

  seal(plain: Buffer, final: boolean): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.index++, final));
    cipher.setAAD(this.header);
    const out = Buffer.allocUnsafe(WORD_SIZE + plain.length + TAG_SIZE);
    out.writeUInt32BE((final ? FINAL : 0) + plain.length, 0);
    let at = WORD_SIZE + cipher.update(plain).copy(out, WORD_SIZE);
    at += cipher.final().copy(out, at);
    cipher.getAuthTag().copy(out, at);
    return out;
  }

  close(): void {
    this.key.fill(0);
  }
}

/** Decrypts the chunks of one snapshot in order. */
class ChunkOpener {
  index = 0;
  constructor(
    private readonly key: Buffer,
    private readonly header: Buffer,
  ) {}

  /** @throws KesError KMS_ERR_BACKUP_INVALID when the chunk is not authentic here */
  open(sealed: Buffer, final: boolean): Buffer {
    const i = this.index++;
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(i, final));
    decipher.setAAD(this.header);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE));
    try {
      decipher.final();
    } catch {
      plain.fill(0);
      throw invalid(`chunk ${i} is not authentic (another key, or damaged)`);
    }
    return plain;
  }

  close(): void {
    this.key.fill(0);
  }
}

/** Parses the record stream across chunk boundaries. */
class RecordReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly names = new Set<string>();
  private static readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  get atBoundary(): boolean {
    return this.pending.length === 0;
  }

  /** Adds the plaintext of a data chunk; appends every record it completes to out. */
  push(plain: Buffer, out: { name: string; value: Buffer }[]): void {
    let buf = this.pending.length === 0 ? plain : Buffer.concat([this.pending, plain]);
    if (buf !== plain) {
      this.pending.fill(0);
      plain.fill(0);
    }
    let at = 0;
    for (;;) {
      if (buf.length - at < 4) break;
      const nameLength = buf.readUInt32BE(at);
      if (nameLength === 0) throw invalid('an entry without a name');
      if (buf.length - at < 8 + nameLength) break;
      const valueLength = buf.readUInt32BE(at + 4 + nameLength);
      const end = at + 8 + nameLength + valueLength;
      if (buf.length < end) break;
      let name: string;
      try {
        name = RecordReader.utf8.decode(buf.subarray(at + 4, at + 4 + nameLength));
      } catch {
        throw invalid('an entry name is not UTF-8');
      }
      if (this.names.has(name)) throw invalid('an entry name occurs twice');
      this.names.add(name);
      out.push({ name, value: Buffer.from(buf.subarray(at + 8 + nameLength, end)) });
      at = end;
    }
    const rest = Buffer.from(buf.subarray(at));
    buf.fill(0);
    buf = rest;
    this.pending = rest;
  }
}

/** Reads exact byte counts from a buffer or a stream of chunks. */
class ByteReader {
  private readonly parts: Buffer[] = [];
  private buffered = 0;
  private readonly it: AsyncIterator<Uint8Array> | undefined;

  constructor(source: SnapshotSource) {
    if (source instanceof Uint8Array) {
      this.parts.push(Buffer.from(source.buffer, source.byteOffset, source.byteLength));
      this.buffered = source.byteLength;
      this.it = undefined;
    } else {
      this.it = source[Symbol.asyncIterator]();
    }
  }

  /** The next n bytes. @throws KesError KMS_ERR_BACKUP_INVALID when the input ends before */
  async take(n: number): Promise<Buffer> {
    while (this.buffered < n) {
      if (!(await this.pull())) throw invalid('the snapshot is cut short');
    }
    const first = this.parts[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.parts[0] = first.subarray(n);
      if (this.parts[0].length === 0) this.parts.shift();
      this.buffered -= n;
      return out;
    }
    const joined = Buffer.concat(this.parts);
    this.parts.length = 0;
    this.parts.push(joined.subarray(n));
    this.buffered -= n;
    return joined.subarray(0, n);
  }

  /** Reports whether the input has ended with nothing left. */
  async atEnd(): Promise<boolean> {
    while (this.buffered === 0) if (!(await this.pull())) return true;
    return false;
  }

  private async pull(): Promise<boolean> {
    if (this.it === undefined) return false;
    const next = await this.it.next();
    if (next.done) return false;
    const chunk = next.value;
    if (chunk.byteLength > 0) {
      this.parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.buffered += chunk.byteLength;
    }
    return true;
  }
}

/** The store's entries in name order, read with up to `concurrency` reads in flight. */
async function* readEntries(store: KeyStore, concurrency: number): AsyncGenerator<[string, Buffer]> {
  const inFlight: { name: string; value: Promise<Buffer | undefined> }[] = [];
  const read = (name: string) => {
    const value = store.get(name).then(
      (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength),
      (err: unknown) => {
        // Deleted since it was listed: not part of the store any more.
        if (isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) return undefined;
        throw new Error(`backup: cannot read '${name}'`, { cause: err });
      },
    );
    value.catch(() => undefined); // awaited in order below; not unhandled meanwhile
    inFlight.push({ name, value });
  };
  for await (const name of store.list('')) {
    read(name);
    while (inFlight.length >= Math.max(1, concurrency)) {
      const next = inFlight.shift()!;
      const value = await next.value;
      if (value !== undefined) yield [next.name, value];
    }
  }
  while (inFlight.length > 0) {
    const next = inFlight.shift()!;
    const value = await next.value;
    if (value !== undefined) yield [next.name, value];
  }
}

function invalid(detail: string): KesError {
  return new KesError('KMS_ERR_BACKUP_INVALID', undefined, { cause: new Error(`invalid backup: ${detail}`) });
}
