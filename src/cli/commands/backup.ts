/**
 * `kes backup [FILE]` and `kes restore FILE` (docs/backup.md): a snapshot of the server's whole
 * key store, encrypted by the server under its backup key (`backup.key`), saved to a file; and
 * such a file restored into a server whose key store is empty. The CLI never sees the backup
 * key nor any plaintext entry: it moves ciphertext.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import type { Command } from '../command.js';
import { isKesError } from '../../api/errors.js';
import { inspectSnapshot } from '../../backup/snapshot.js';
import { clientFlags } from '../client-env.js';
import { cliErrorMessage } from '../errors.js';
import { UsageError } from '../flags.js';
import { isTTY } from '../output.js';
import { systemErrorText } from '../../util/system-error.js';
import { expectArgs, withClient } from './common.js';

const ABOUT_KEY = [
  'The server encrypts the snapshot under its backup key, `backup.key` in its config file: 32',
  'random bytes in base64, made once with "openssl rand -base64 32" and usually set as',
  '"key: ${KES_BACKUP_KEY}". Without it the server answers "backup is not configured". Keep a',
  'copy of the key apart from the backups: a backup restores only on a server with the same key.',
].join('\n');

export const backupCommand: Command = {
  name: 'backup',
  usage: 'kes backup [options] [FILE]',
  description: [
    "Saves a snapshot of the server's whole key store to FILE: every key, and the enclaves,",
    'policies and identities openkes keeps there (not the policies and the admin of the config',
    'file). FILE is created with mode 0600 and written whole or not at all (a temporary file,',
    'then renamed); an existing FILE is replaced. Without FILE the snapshot goes to standard',
    'output, which must not be a terminal. Needs the admin identity.',
    '',
    ABOUT_KEY,
  ].join('\n'),
  flags: clientFlags(),
  examples: ['kes backup kes-$(date +%F).backup', 'kes backup | ssh backup-host "cat > kes.backup"'],
  async run(ctx) {
    const [file] = expectArgs(ctx, 0, 1, 'kes backup [FILE]');
    if (file === undefined && isTTY(ctx.io.stdout)) {
      throw new UsageError('a backup is binary and is not written to a terminal: give a FILE (kes backup kes.backup), or redirect standard output (kes backup > kes.backup)');
    }
    const snapshot = await withClient(ctx, (c) => c.backup({ signal: ctx.io.signal })).catch((err: unknown) => {
      throw new Error(`backup failed: ${cliErrorMessage(err)}${hint(err)}`, { cause: err });
    });
    const header = inspectSnapshot(snapshot);
    if (header === undefined) throw new Error('backup failed: the server did not send a complete openkes backup; nothing was written');
    if (file === undefined) {
      await write(ctx.io.stdout, snapshot);
      return;
    }
    await writeFileAtomically(file, snapshot).catch((err: unknown) => {
      throw new Error(`cannot write ${file}: ${systemErrorText(err)}`, { cause: err });
    });
    ctx.io.stdout.write(
      isTTY(ctx.io.stdout)
        ? `Backup of ${header.createdAt.toISOString()} written to ${file} (${snapshot.length} bytes)\n`
        : JSON.stringify({ file, bytes: snapshot.length, created_at: header.createdAt.toISOString() }) + '\n',
    );
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  usage: 'kes restore [options] FILE',
  description: [
    'Restores a snapshot made by "kes backup" (or read with MinKMS\'s ReadDB) into the server\'s key',
    'store, which must be empty: a new store, of any type (fs, vault, etcd, ...: the snapshot holds',
    'the stored entries, not the store). The server checks the whole file before it writes',
    'anything: a damaged file, or one made under another backup key, is refused as an invalid',
    'backup. Should the key store fail midway, the server\'s error log says how many entries were',
    'written and which one failed. Needs the admin identity.',
    '',
    'On a terminal you are asked to confirm; --yes does not ask.',
    '',
    ABOUT_KEY,
  ].join('\n'),
  flags: clientFlags({ name: 'yes', short: 'y', type: 'boolean', description: 'Do not ask for confirmation' }),
  examples: ['kes restore kes-2026-05-01.backup', 'kes restore --yes kes.backup'],
  async run(ctx) {
    const [file] = expectArgs(ctx, 1, 1, 'kes restore FILE');
    const snapshot = await readFile(file!).catch((err: unknown) => {
      throw new Error(`cannot read ${file}: ${systemErrorText(err)}`, { cause: err });
    });
    const header = inspectSnapshot(snapshot);
    if (header === undefined) throw new Error(`${file} is not a complete openkes backup (made by "kes backup"): it is damaged, cut short, or another kind of file`);
    const entries = await withClient(ctx, async (c) => {
      if (ctx.flags.yes !== true && process.stdin.isTTY === true) {
        const question = `Restore the backup of ${header.createdAt.toISOString()} in ${file} into the key store of ${c.endpoints.join(', ')}? It must be empty. [y/N] `;
        if (!(await askConfirmation(process.stdin, ctx.io.stderr, question, ctx.io.signal))) throw new Error('restore cancelled: nothing was written');
      }
      return c.restore(snapshot, { signal: ctx.io.signal }).catch((err: unknown) => {
        throw new Error(`restore failed: ${cliErrorMessage(err)}${hint(err)}`, { cause: err });
      });
    });
    if (isTTY(ctx.io.stdout)) ctx.io.stdout.write(entries === undefined ? `Restored ${file}\n` : `Restored ${entries} entries from ${file}\n`);
    else ctx.io.stdout.write(JSON.stringify(entries === undefined ? {} : { entries }) + '\n');
  },
};

/** What to do about the errors of backup and restore. */
function hint(err: unknown): string {
  if (isKesError(err, 'KMS_ERR_BACKUP_NOT_CONFIGURED')) return ': set backup.key in the server\'s config file to 32 random bytes in base64 ("openssl rand -base64 32"), then reload it (SIGHUP)';
  if (isKesError(err, 'KMS_ERR_STORE_NOT_EMPTY')) return ': restore into a server whose key store has no entries yet (a new store, of any type)';
  if (isKesError(err, 'KMS_ERR_BACKUP_INVALID')) return ": the server's backup.key must be the key the backup was made under, and the file must be unchanged";
  if (isKesError(err, 'KES_ERR_BODY_TOO_LARGE')) return ": the file is larger than the server's limit for /v1/db";
  if (isKesError(err, 'KES_ERR_STORE_FAILED') && err.message === 'failed to create key') {
    return ": the restore stopped midway; the server's error log says how many entries were written and which one failed. Remove them (or start again with a new, empty key store) before restoring again";
  }
  return '';
}

/**
 * Asks a yes/no question on a terminal: true for `y` or `yes` (any case), false for anything
 * else, the end of the input or the signal.
 */
export async function askConfirmation(input: NodeJS.ReadableStream, output: Writable, question: string, signal?: AbortSignal): Promise<boolean> {
  const rl = createInterface({ input, output, terminal: false });
  try {
    const answer = await new Promise<string | undefined>((done) => {
      output.write(question);
      rl.once('line', (line) => done(line));
      rl.once('close', () => done(undefined));
      signal?.addEventListener('abort', () => done(undefined), { once: true });
    });
    return answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

/** Writes data to a stream and waits until it was handed on. */
function write(stream: Writable, data: Buffer): Promise<void> {
  return new Promise((done, fail) => stream.write(data, (err) => (err ? fail(err) : done())));
}

/**
 * Writes data to path with mode 0600, whole or not at all: into a temporary file in the same
 * directory, flushed to disk, then renamed over path.
 */
async function writeFileAtomically(path: string, data: Buffer): Promise<void> {
  const dir = dirname(resolve(path));
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(temp, 'wx', 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    await rename(temp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  // The rename is durable once the directory is (not possible on every platform).
  const d = await open(dir, 'r').catch(() => undefined);
  await d?.sync().catch(() => undefined);
  await d?.close().catch(() => undefined);
}
