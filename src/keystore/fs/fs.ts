/**
 * The filesystem key store (protocol.md §9.3 `keystore.fs`): one file per key, named after the key.
 *
 * Files are compatible with KES in both directions: the file content is the stored entry, files
 * have mode 0600 and the directory is created with mode 0755 if missing.
 *
 * Writes are atomic and create-only: the entry is written to a temporary file, fsynced, then
 * hard-linked to its name (link(2) fails if the name exists, so nothing is ever overwritten),
 * and the directory is fsynced. A crash at any instant leaves either no key or a complete one.
 * Temporary files start with a dot, which no key name may contain, so a leftover from a crash
 * never blocks a name and is never listed; stale ones are removed when the store is opened.
 *
 * Replacing an entry (a key ring's rotation) is a compare-and-swap under a per-key lock file
 * (`.kes-lock-<name>`, created with O_EXCL): read, compare, write a temporary file, fsync,
 * rename(2) it over the entry, fsync the directory. Deletes take the same lock, so a replace never
 * brings a deleted key back. A lock records its process id: a lock left by a crashed process of
 * this host is broken at once (one left empty by a crash after a second), any other once it is
 * older than `staleLockAgeMs`. The locks work between the processes of one host; several hosts on one
 * network filesystem are not supported, as with KES.
 */
import * as fsp from 'node:fs/promises';
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KesError } from '../../api/errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { compareNames, KeyStoreConflictError, type KeyStore, type KeyStoreState } from '../keystore.js';

/** The largest key file read, as in KES. */
export const MAX_ENTRY_SIZE = 1 << 20;

const TEMP_PREFIX = '.kes-tmp-';
const LOCK_PREFIX = '.kes-lock-';
/** How long a replace waits for another writer's lock before it reports a conflict. */
const REPLACE_WAIT_MS = 1_000;
/** A lock file still without its writer's process id after this long was left by a crash. */
const UNWRITTEN_LOCK_MS = 1_000;
/** How long a delete waits for a replace in progress. */
const DELETE_WAIT_MS = 5_000;

/** The filesystem operations the store uses; replaceable to inject faults. */
export type FsOps = Pick<typeof fsp, 'open' | 'link' | 'rename' | 'unlink' | 'stat' | 'opendir' | 'mkdir'>;

export interface FsKeyStoreOptions {
  /** Names kept in memory per listing pass; memory stays bounded by it (default 10,000). */
  pageSize?: number;
  /** Temporary and lock files older than this are removed at open (default 5 minutes). */
  staleTempAgeMs?: number;
  /** A lock file older than this was left by a crashed writer and is broken (default 30 s). */
  staleLockAgeMs?: number;
  /** Filesystem operations (default: node:fs/promises). */
  ops?: FsOps;
}

export class FsKeyStore implements KeyStore {
  private readonly pageSize: number;
  private readonly ops: FsOps;
  private readonly staleLockAgeMs: number;

  private constructor(
    readonly dir: string,
    options: FsKeyStoreOptions,
  ) {
    this.pageSize = Math.max(1, options.pageSize ?? 10_000);
    this.ops = options.ops ?? fsp;
    this.staleLockAgeMs = options.staleLockAgeMs ?? 30_000;
  }

  /**
   * Opens the store in dir, creating the directory (mode 0755) if needed and removing stale
   * temporary files left by a crash.
   */
  static async open(dir: string, options: FsKeyStoreOptions = {}): Promise<FsKeyStore> {
    const store = new FsKeyStore(dir, options);
    await store.ops.mkdir(dir, { recursive: true, mode: 0o755 });
    await store.removeStaleTempFiles(options.staleTempAgeMs ?? 5 * 60_000);
    return store;
  }

  async status(): Promise<KeyStoreState> {
    const start = performance.now();
    const st = await this.ops.stat(this.dir);
    if (!st.isDirectory()) throw new Error(`fs: '${this.dir}' is not a directory`);
    return { latencyMs: performance.now() - start };
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    if (!isValidFileName(name)) throw new Error(`fs: key name '${name}' is not a valid file name`);
    const tmp = await this.writeTemp(value);
    try {
      await this.ops.link(tmp, join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KesError('KES_ERR_KEY_EXISTS');
      throw err;
    } finally {
      await this.ops.unlink(tmp).catch(() => undefined);
    }
    await this.syncDir();
  }

  async get(name: string): Promise<Uint8Array> {
    if (!isValidFileName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    let file: fsp.FileHandle;
    try {
      file = await this.ops.open(join(this.dir, name), constants.O_RDONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KesError('KES_ERR_KEY_NOT_FOUND');
      throw err;
    }
    try {
      const st = await file.stat();
      if (!st.isFile()) throw new Error(`fs: '${name}' is not a regular file`);
      if (st.size > MAX_ENTRY_SIZE) throw new Error(`fs: key file '${name}' is larger than ${MAX_ENTRY_SIZE} bytes`);
      return await file.readFile();
    } finally {
      await file.close();
    }
  }

  async replace(name: string, expected: Uint8Array, value: Uint8Array): Promise<void> {
    if (!isValidFileName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const unlock = await this.lock(name, REPLACE_WAIT_MS);
    try {
      const current = Buffer.from(await this.get(name));
      if (!current.equals(expected)) throw new KeyStoreConflictError(`fs: '${name}' was changed by another writer`);
      const tmp = await this.writeTemp(value);
      try {
        await this.ops.rename(tmp, join(this.dir, name));
      } catch (err) {
        await this.ops.unlink(tmp).catch(() => undefined);
        throw err;
      }
      await this.syncDir();
    } finally {
      await unlock();
    }
  }

  async delete(name: string): Promise<void> {
    if (!isValidFileName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const unlock = await this.lock(name, DELETE_WAIT_MS);
    try {
      await this.ops.unlink(join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KesError('KES_ERR_KEY_NOT_FOUND');
      throw err;
    } finally {
      await unlock();
    }
    await this.syncDir();
  }

  /** Writes value to a new temporary file (mode 0600) and fsyncs it; returns its path. */
  private async writeTemp(value: Uint8Array): Promise<string> {
    const tmp = join(this.dir, TEMP_PREFIX + randomBytes(12).toString('hex'));
    const file = await this.ops.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await file.writeFile(value);
      await file.sync();
    } catch (err) {
      await file.close().catch(() => undefined);
      await this.ops.unlink(tmp).catch(() => undefined);
      throw err;
    }
    await file.close();
    return tmp;
  }

  /**
   * Takes the key's lock file, waiting up to waitMs for another writer's; returns the function
   * that releases it.
   * @throws KeyStoreConflictError when another writer holds it longer
   */
  private async lock(name: string, waitMs: number): Promise<() => Promise<void>> {
    const path = join(this.dir, LOCK_PREFIX + name);
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const file = await this.ops.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        try {
          await file.writeFile(String(process.pid));
        } finally {
          await file.close();
        }
        return () => this.ops.unlink(path).catch(() => undefined);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (await this.isStaleLock(path)) {
        await this.ops.unlink(path).catch(() => undefined);
        continue;
      }
      if (Date.now() >= deadline) throw new KeyStoreConflictError(`fs: '${name}' is being changed by another writer`);
      await sleep(5);
    }
  }

  /**
   * Lists names in sorted order. Directory order is arbitrary, so each pass scans the directory
   * and keeps only the next pageSize names after the last one produced: memory is bounded by
   * the page size, and a directory holding at most one page is scanned once.
   */
  async *list(prefix: string, from = ''): AsyncIterable<string> {
    let after: string | undefined;
    for (;;) {
      const page = await this.nextPage(prefix, after, from);
      yield* page;
      if (page.length < this.pageSize) return;
      after = page[page.length - 1];
    }
  }

  async close(): Promise<void> {}

  /** The next names after `after` (exclusive) and from `from` (inclusive). */
  private async nextPage(prefix: string, after: string | undefined, from: string): Promise<string[]> {
    let names: string[] = [];
    const dir = await this.ops.opendir(this.dir, { bufferSize: 256 });
    for await (const entry of dir) {
      const name = entry.name;
      if (name.startsWith('.') || entry.isDirectory() || !name.startsWith(prefix)) continue;
      if (after !== undefined ? compareNames(name, after) <= 0 : compareNames(name, from) < 0) continue;
      names.push(name);
      if (names.length >= 2 * this.pageSize) names = names.sort(compareNames).slice(0, this.pageSize);
    }
    return names.sort(compareNames).slice(0, this.pageSize);
  }

  /**
   * A lock whose writer is gone: older than staleLockAgeMs, or taken by a process of this host
   * that no longer runs (a crashed server: its lock must not block the key until it ages).
   */
  private async isStaleLock(path: string): Promise<boolean> {
    const st = await this.ops.stat(path).catch(() => undefined);
    if (!st) return false; // released meanwhile: try again
    if (Date.now() - st.mtimeMs > this.staleLockAgeMs) return true;
    const text = await fsp.readFile(path, 'utf8').catch(() => '');
    const pid = Number(text);
    // Without a process id: being written (a writer writes it right after creating the file), or
    // left by a crash between the two.
    if (text === '' || !Number.isSafeInteger(pid) || pid <= 0) return Date.now() - st.mtimeMs > UNWRITTEN_LOCK_MS;
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }

  private async syncDir(): Promise<void> {
    const dir = await this.ops.open(this.dir, constants.O_RDONLY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private async removeStaleTempFiles(maxAgeMs: number): Promise<void> {
    const cutoff = Date.now() - maxAgeMs;
    const dir = await this.ops.opendir(this.dir);
    for await (const entry of dir) {
      if (!entry.name.startsWith(TEMP_PREFIX) && !entry.name.startsWith(LOCK_PREFIX)) continue;
      const path = join(this.dir, entry.name);
      const st = await this.ops.stat(path).catch(() => undefined);
      if (st && st.mtimeMs < cutoff) await this.ops.unlink(path).catch(() => undefined);
    }
  }
}

/** Key names the store accepts: non-empty, without `/`, `\` or `.` (test-vectors.md §5). */
export function isValidFileName(name: string): boolean {
  return name.length > 0 && !/[/\\.\0]/.test(name);
}
