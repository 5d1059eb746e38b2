/**
 * `kes backup` and `kes restore` against real servers (docs/backup.md): a snapshot of one
 * server's store restored into another server's empty store (in memory and fs), refused into a
 * store that is not empty, under another backup key, and by a server without one.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ApiKey } from '../../src/auth/api-key.js';
import { BackupKey } from '../../src/backup/backup-key.js';
import { inspectSnapshot } from '../../src/backup/snapshot.js';
import { askConfirmation } from '../../src/cli/commands/backup.js';
import { KesClient } from '../../src/client/client.js';
import { isKesError } from '../../src/api/errors.js';
import { LOG_INFO } from '../../src/config/types.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { kes } from '../helpers/cli-io.js';

const BACKUP_KEY = BackupKey.generate();
const OTHER_KEY = BackupKey.generate();
const admin = ApiKey.generate();

/** A server whose admin is `admin`, with the backup key (or none) and the audit log on stdout. */
function server(key: BackupKey | undefined, store?: (dir: string) => { type: 'fs'; path: string }): Promise<TestServer> {
  return startTestServer((config, _pki, dir) => {
    config.admin = admin.identity;
    config.log.audit = LOG_INFO;
    if (key) config.backup = { key };
    if (store) config.keystore = store(dir);
  });
}

const envOf = (t: TestServer) => ({ KES_SERVER: `https://127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') });
const clientOf = (t: TestServer) => new KesClient({ endpoints: `https://127.0.0.1:${t.port}`, apiKey: admin, ca: readFileSync(join(t.dir, 'ca.crt'), 'utf8') });

describe('kes backup / kes restore', () => {
  let source: TestServer;
  let dir: string;
  const names = Array.from({ length: 25 }, (_, i) => `key-${String(i).padStart(2, '0')}`);

  before(async () => {
    source = await server(BACKUP_KEY);
    dir = mkdtempSync(join(tmpdir(), 'kes-backup-cli-'));
    assert.equal((await kes(['key', 'create', ...names], envOf(source))).code, 0);
  });
  after(async () => {
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('backup writes FILE with mode 0600 (atomically: no temporary file is left) and says so', async () => {
    const file = join(dir, 'kes.backup');
    const r = await kes(['backup', file], envOf(source));
    assert.equal(r.code, 0, r.stderr);
    const bytes = readFileSync(file);
    const header = inspectSnapshot(bytes);
    assert.ok(header, 'a complete snapshot');
    assert.deepEqual(JSON.parse(r.stdout), { file, bytes: bytes.length, created_at: header.createdAt.toISOString() });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['kes.backup']);
    for (const name of names) assert.ok(!bytes.includes(Buffer.from(name)), 'no name in the clear');
    assert.match(source.stdout(), /backup of 25 entries read/);

    // On a terminal: a sentence. An existing FILE is replaced.
    const tty = await kes(['backup', file], envOf(source), { tty: true });
    assert.equal(tty.code, 0, tty.stderr);
    assert.match(tty.stdout, new RegExp(`^Backup of \\S+ written to ${file} \\(\\d+ bytes\\)\\n$`));
    assert.deepEqual(readdirSync(dir), ['kes.backup']);
  });

  test('restore into an empty store: the keys come back and decrypt what the source encrypted', async () => {
    const file = join(dir, 'restore.backup');
    assert.equal((await kes(['backup', file], envOf(source))).code, 0);
    const c = clientOf(source);
    const ciphertext = await c.encrypt('key-07', Buffer.from('hello'));
    c.close();

    const target = await server(BACKUP_KEY);
    try {
      const r = await kes(['restore', file], envOf(target));
      assert.deepEqual(r, { code: 0, stdout: '{"entries":25}\n', stderr: '' });
      assert.match(target.stdout(), /backup of 25 entries restored/);
      const ls = await kes(['key', 'ls', '--json'], envOf(target));
      assert.deepEqual(JSON.parse(ls.stdout), names);
      const t = clientOf(target);
      assert.equal((await t.decrypt('key-07', ciphertext)).toString(), 'hello');
      t.close();

      // Again: the store is not empty any more.
      const again = await kes(['restore', '-y', file], envOf(target));
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^Error: restore failed: key store is not empty: a backup is restored into an empty store: restore into a server whose key store has no entries yet/);
    } finally {
      await target.close();
    }
  });

  test('restore into a store of another type (fs), printing the count on a terminal', async () => {
    const file = join(dir, 'fs.backup');
    assert.equal((await kes(['backup', file], envOf(source))).code, 0);
    const target = await server(BACKUP_KEY, (d) => ({ type: 'fs', path: join(d, 'keys') }));
    try {
      const r = await kes(['restore', '--yes', file], envOf(target), { tty: true });
      assert.deepEqual(r, { code: 0, stdout: `Restored 25 entries from ${file}\n`, stderr: '' });
      assert.deepEqual(readdirSync(join(target.dir, 'keys')).sort(), names);
    } finally {
      await target.close();
    }
  });

  test('a server with another backup key refuses the backup as invalid and writes nothing', async () => {
    const file = join(dir, 'other.backup');
    assert.equal((await kes(['backup', file], envOf(source))).code, 0);
    const target = await server(OTHER_KEY);
    try {
      const r = await kes(['restore', file], envOf(target));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^Error: restore failed: invalid backup: not an openkes backup, damaged, or encrypted under another key: the server's backup.key must be the key/);
      assert.deepEqual(JSON.parse((await kes(['key', 'ls', '--json'], envOf(target))).stdout), []);
    } finally {
      await target.close();
    }
  });

  test('a server without backup.key: both commands say it is not configured and how to configure it', async () => {
    const target = await server(undefined);
    try {
      const file = join(dir, 'never.backup');
      const b = await kes(['backup', file], envOf(target));
      assert.equal(b.code, 1);
      assert.match(b.stderr, /^Error: backup failed: backup is not configured: set backup.key in the server's config file/);
      assert.ok(!existsSync(file));
      writeFileSync(file, readFileSync(join(dir, 'kes.backup')));
      const r = await kes(['restore', file], envOf(target));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^Error: restore failed: backup is not configured/);
    } finally {
      await target.close();
    }
  });

  test('a file that is not a complete backup is refused before anything is sent', async () => {
    const cut = join(dir, 'cut.backup');
    writeFileSync(cut, readFileSync(join(dir, 'kes.backup')).subarray(0, 100));
    const r = await kes(['restore', cut], { ...envOf(source), KES_SERVER: 'https://127.0.0.1:1' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not a complete openkes backup/);
    const missing = await kes(['restore', join(dir, 'missing.backup')], envOf(source));
    assert.match(missing.stderr, /^Error: cannot read .*missing\.backup: no such file or directory/);
  });

  test('standard output: the snapshot when piped, refused on a terminal', async () => {
    const piped = await kes(['backup'], envOf(source));
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(piped.stdout.startsWith('openkes-backup'));
    const tty = await kes(['backup'], envOf(source), { tty: true });
    assert.equal(tty.code, 2);
    assert.match(tty.stderr, /is not written to a terminal: give a FILE/);
    assert.equal(tty.stdout, '');
    assert.equal((await kes(['backup', 'a', 'b'], envOf(source))).code, 2);
    assert.equal((await kes(['restore'], envOf(source))).code, 2);
  });

  test('a restore that stops midway: the CLI says what to do, the error log how far it got', async () => {
    const from = await server(BACKUP_KEY);
    const target = await server(BACKUP_KEY, (d) => ({ type: 'fs', path: join(d, 'keys') }));
    try {
      assert.equal((await kes(['key', 'create', 'a-key', 'b-key'], envOf(from))).code, 0);
      // A name the fs store cannot hold (no dots), sorting after the keys.
      await from.server.current.cache.store.create('z.entry', Buffer.from('x'));
      const file = join(dir, 'midway.backup');
      assert.equal((await kes(['backup', file], envOf(from))).code, 0);
      const r = await kes(['restore', file], envOf(target));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^Error: restore failed: failed to create key: the restore stopped midway; the server's error log says how many entries were written and which one failed/);
      assert.match(target.stderr(), /restore stopped after 2 of 3 entries: cannot create 'z\.entry'/);
      assert.match(target.stdout(), /backup restore failed after 2 of 3 entries/);
      assert.deepEqual(readdirSync(join(target.dir, 'keys')).sort(), ['a-key', 'b-key']);
      for (const log of [target.stderr(), target.stdout(), from.stderr(), from.stdout()]) {
        assert.ok(!log.includes(BACKUP_KEY.exportBase64()), 'the backup key is never logged');
      }
    } finally {
      await from.close();
      await target.close();
    }
  });

  test('the SDK: backup() and restore() return the snapshot and the count; restore errors have codes', async () => {
    const c = clientOf(source);
    const target = await server(BACKUP_KEY);
    const t = clientOf(target);
    try {
      const snapshot = await c.backup();
      assert.ok(inspectSnapshot(snapshot));
      assert.equal(await t.restore(snapshot), 25);
      await assert.rejects(t.restore(snapshot), (err: unknown) => isKesError(err, 'KMS_ERR_STORE_NOT_EMPTY') && err.status === 409);
      await assert.rejects(t.restore(Buffer.from('not a backup')), (err: unknown) => isKesError(err, 'KMS_ERR_BACKUP_INVALID') && err.status === 400);
    } finally {
      c.close();
      t.close();
      await target.close();
    }
  });

  test('help explains the backup key and that restore needs an empty store', async () => {
    const b = await kes(['backup', '--help'], {});
    assert.match(b.stdout, /openssl rand -base64 32/);
    assert.match(b.stdout, /backup\.key/);
    const r = await kes(['restore', '--help'], {});
    assert.match(r.stdout, /must be empty/);
    assert.match(r.stdout, /--yes/);
  });
});

test('askConfirmation: yes or y (any case) confirm; anything else, the end of input or Ctrl-C do not', async () => {
  const ask = async (input: string | undefined, signal?: AbortSignal) => {
    const stdin = new PassThrough();
    const out = new PassThrough();
    const answer = askConfirmation(stdin, out, 'Restore? [y/N] ', signal);
    if (input === undefined) stdin.end();
    else stdin.write(input);
    return answer;
  };
  assert.equal(await ask('y\n'), true);
  assert.equal(await ask('YES\n'), true);
  assert.equal(await ask('n\n'), false);
  assert.equal(await ask('\n'), false);
  assert.equal(await ask('yess\n'), false);
  assert.equal(await ask(undefined), false);
  const controller = new AbortController();
  const pending = ask('', controller.signal);
  controller.abort();
  assert.equal(await pending, false);
});
