import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { AuditFile } from './audit-file.js';
import { AuditFileSink } from './audit-file-sink.js';
import { EventHub } from './event-hub.js';
import { GENESIS, lineHash, parseChainRecord } from './audit-chain.js';
import { verifyAuditFiles } from './audit-verify.js';
import type { AuditEvent } from './audit-log.js';
import type { AuditFileConfig } from '../config/types.js';
import { Timestamp } from '../util/time.js';
import { chainFiles, readLines, testSigner, type KeyKind, type TestSigner } from '../../test/helpers/audit-files.js';

let dir: string;
let ed: TestSigner;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kes-audit-file-'));
  ed = testSigner('ed25519');
});
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh path in a directory that does not exist yet. */
const freshPath = () => join(dir, `d${++n}`, 'logs', 'audit.log');
const options = (path: string, o: Partial<AuditFileConfig> = {}): AuditFileConfig => ({ path, maxSize: 1 << 20, checkpointEvery: 1000, checkpointIntervalMs: 0, ...o });
const event = (i: number) => ({ time: '2026-11-28T10:15:00.123456789Z', request: { ip: '127.0.0.1', path: `/v1/key/create/key-${i}`, identity: 'a'.repeat(64) }, response: { code: 200, time: 1234 + i } });
const errors: string[] = [];
const report = (m: string) => errors.push(m);
const records = (path: string) => readLines(path).map((l) => parseChainRecord(l)!);
const verify = (paths: string[], signers = [ed.signer.identity]) => verifyAuditFiles(paths.map((p) => ({ name: p, data: readFileSync(p) })), { signers });

describe('AuditFile', () => {
  test('a new file (mode 0600, directories created) holds a start checkpoint, the events and a close checkpoint', () => {
    const path = freshPath();
    const file = AuditFile.open(options(path), ed.signer, report);
    for (let i = 0; i < 3; i++) file.write(event(i));
    file.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const lines = readLines(path);
    const recs = lines.map((l) => parseChainRecord(l)!);
    assert.deepEqual(recs.map((r) => r.seq), [0, 1, 2, 3, 4]);
    assert.equal(recs[0]!.prev, GENESIS);
    for (let i = 1; i < lines.length; i++) assert.equal(recs[i]!.prev, lineHash(lines[i - 1]!), `line ${i + 1}`);
    assert.deepEqual(recs.map((r) => r.checkpoint?.reason), ['start', undefined, undefined, undefined, 'close']);
    assert.equal(recs[0]!.checkpoint!.signer, ed.signer.identity);
    // An event line is the /v1/log/audit JSON after the chain fields.
    const { seq, prev, ...body } = JSON.parse(lines[2]!);
    assert.deepEqual([seq, prev.length, body], [2, 64, event(1)]);
    assert.ok(lines[2]!.startsWith('{"seq":2,"prev":"'));
    const r = verify([path]);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.files.map((f) => [f.records, f.checkpoints]), [[3, 2]]);
  });

  test('lines reach the file in the same turn of the event loop, in one write per batch', async () => {
    const path = freshPath();
    const file = AuditFile.open(options(path), ed.signer, report);
    file.write(event(1));
    file.write(event(2));
    await tick();
    assert.equal(readLines(path).length, 3);
    file.close();
  });

  test('a checkpoint follows every checkpoint_every records and, when set, checkpoint_interval after an uncovered record', async () => {
    const path = freshPath();
    const file = AuditFile.open(options(path, { checkpointEvery: 3, checkpointIntervalMs: 20 }), ed.signer, report);
    for (let i = 0; i < 7; i++) file.write(event(i));
    await new Promise((r) => setTimeout(r, 80));
    file.close();
    const reasons = records(path).map((r) => r.checkpoint?.reason ?? '-');
    assert.deepEqual(reasons, ['start', '-', '-', '-', 'periodic', '-', '-', '-', 'periodic', '-', 'periodic', 'close']);
    assert.equal(verify([path]).ok, true);
  });

  test('reopening an existing file continues its chain with a resume checkpoint', () => {
    const path = freshPath();
    const a = AuditFile.open(options(path), ed.signer, report);
    a.write(event(1));
    a.close();
    const b = AuditFile.open(options(path), ed.signer, report);
    b.write(event(2));
    b.close();
    const recs = records(path);
    assert.deepEqual(recs.map((r) => r.checkpoint?.reason ?? '-'), ['start', '-', 'close', 'resume', '-', 'close']);
    const r = verify([path]);
    assert.equal(r.ok, true);
    assert.deepEqual(r.warnings, [], 'a clean restart is not a warning');
  });

  test('a restart after a crash continues the chain and is reported as a warning', async () => {
    const path = freshPath();
    const a = AuditFile.open(options(path), ed.signer, report);
    a.write(event(1));
    a.write(event(2));
    await tick(); // written; then the process dies: no close checkpoint
    const b = AuditFile.open(options(path), ed.signer, report);
    b.close();
    const r = verify([path]);
    a.close();
    assert.equal(r.ok, true);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!.message, /restarted without a clean shutdown: 2 record\(s\)/);
    assert.equal(r.warnings[0]!.line, 4);
  });

  test('a file ending in an incomplete line is moved aside and the chain continues from its last complete line', () => {
    const path = freshPath();
    const a = AuditFile.open(options(path), ed.signer, report);
    a.write(event(1));
    a.close();
    appendFileSync(path, '{"seq":3,"prev":"ab'); // a write cut short by a crash
    errors.length = 0;
    const b = AuditFile.open(options(path), ed.signer, report);
    b.write(event(2));
    b.close();
    assert.match(errors.join('\n'), /ends with an incomplete or invalid line: moved it to '.*audit\.log\.\d{8}T\d{6}\.\d{3}Z'/);
    const files = chainFiles(path);
    assert.equal(files.length, 2);
    assert.equal(records(path)[0]!.checkpoint!.reason, 'file-start');
    const r = verify(files);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.match(r.warnings.map((w) => w.message).join('\n'), /incomplete line \(a write was interrupted\); the server continued in the next file/);
    // Without the file that continues it, the cut file is a problem.
    assert.equal(verify([files[0]!]).problem?.kind, 'truncated');
  });

  test('rotation by size keeps every file within max_size and links the files into one chain', () => {
    const path = freshPath();
    const maxSize = 4096;
    const file = AuditFile.open(options(path, { maxSize, checkpointEvery: 4 }), ed.signer, report);
    for (let i = 0; i < 60; i++) file.write(event(i));
    file.close();
    const files = chainFiles(path);
    assert.ok(files.length >= 4, `${files.length} files`);
    for (const f of files) assert.ok(statSync(f).size <= maxSize, `${f}: ${statSync(f).size} bytes`);
    for (const f of files.slice(0, -1)) {
      assert.match(f, /audit\.log\.\d{8}T\d{6}\.\d{3}Z$/);
      const recs = records(f);
      assert.equal(recs.at(-1)!.checkpoint?.reason, 'file-end');
    }
    for (const f of files.slice(1)) assert.equal(records(f)[0]!.checkpoint?.reason, 'file-start');
    // The first line of each file continues the last line of the file before.
    for (let i = 1; i < files.length; i++) assert.equal(records(files[i]!)[0]!.prev, lineHash(readLines(files[i - 1]!).at(-1)!));
    const r = verify(files);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.equal(r.files.reduce((s, f) => s + f.records, 0), 60);
    assert.deepEqual(r.warnings, []);
    // The newest files alone verify too, from where they start.
    const tail = verify(files.slice(-2));
    assert.equal(tail.ok, true);
    assert.ok(tail.firstSeq! > 0);
  });

  test('a new signing key is announced by a rekey checkpoint signed with the old key', () => {
    const path = freshPath();
    const other = testSigner('ecdsa');
    const file = AuditFile.open(options(path), ed.signer, report);
    file.write(event(1));
    file.reconfigure(options(path), other.signer);
    file.write(event(2));
    file.close();
    const recs = records(path);
    assert.deepEqual(recs.map((r) => r.checkpoint?.reason ?? '-'), ['start', '-', 'rekey', 'reload', '-', 'close']);
    assert.equal(recs[2]!.checkpoint!.signer, ed.signer.identity);
    assert.equal(recs[2]!.checkpoint!.next_signer, other.signer.identity);
    assert.equal(recs[3]!.checkpoint!.signer, other.signer.identity);
    assert.equal(verify([path]).ok, true, 'the old key passes trust to the new one');
    const onlyNew = verify([path], [other.signer.identity]);
    assert.equal(onlyNew.problem?.kind, 'bad-signature');
    assert.equal(onlyNew.problem?.line, 1);
  });

  for (const kind of ['ed25519', 'ecdsa', 'rsa'] as KeyKind[]) {
    test(`checkpoints signed with an ${kind} key verify, and a changed signature does not`, () => {
      const s = testSigner(kind);
      const path = freshPath();
      const file = AuditFile.open(options(path, { checkpointEvery: 2 }), s.signer, report);
      for (let i = 0; i < 5; i++) file.write(event(i));
      file.close();
      const r = verify([path], [s.signer.identity]);
      assert.equal(r.ok, true, JSON.stringify(r.problem));
      assert.deepEqual(r.signers, [s.signer.identity]);
      const lines = readLines(path);
      const at = lines.findIndex((l) => l.includes('"periodic"'));
      const c = JSON.parse(lines[at]!);
      const sig = Buffer.from(c.checkpoint.sig, 'base64');
      sig.writeUInt8(sig[sig.length >> 1]! ^ 1, sig.length >> 1);
      c.checkpoint.sig = sig.toString('base64');
      lines[at] = JSON.stringify(c);
      writeFileSync(path, lines.join('\n') + '\n');
      const bad = verify([path], [s.signer.identity]);
      assert.deepEqual([bad.problem?.kind, bad.problem?.line], ['bad-signature', at + 1]);
    });
  }

  test('write failures are reported once, never thrown', async () => {
    errors.length = 0;
    const file = AuditFile.open(options('/dev/full'), ed.signer, report);
    file.write(event(1));
    await tick();
    file.write(event(2));
    file.close();
    assert.deepEqual(errors, ["audit file: failed to write '/dev/full': no space left on device; audit events are lost until writing works again"]);
  });

  test('a file that cannot be created fails to open with its path and reason', () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    assert.throws(() => AuditFile.open(options(join(blocker, 'audit.log')), ed.signer, report), /^Error: log\.audit_file: cannot open '.*not-a-dir\/audit\.log': (file already exists|not a directory)$/);
  });
});

describe('AuditFileSink', () => {
  const tls = () => ({ key: ed.keyPem, cert: ed.certPem });
  const errorLog = { error: report };
  const auditEvent = (path: string): AuditEvent => ({ time: Timestamp.now(), message: 'api request', method: 'GET', path, ip: '127.0.0.1', identity: 'b'.repeat(64), status: 200, durationNs: 1000 });

  test('records the events of the hub only while a file is configured', () => {
    const hub = new EventHub<AuditEvent>();
    const sink = new AuditFileSink(hub);
    sink.configure(undefined, tls(), errorLog);
    assert.equal(hub.active, false, 'no file: audit events are not even built');
    const path = freshPath();
    sink.configure(options(path), tls(), errorLog);
    assert.equal(hub.active, true);
    hub.publish(auditEvent('/v1/key/describe/a'));
    sink.configure(options(path, { checkpointEvery: 5 }), tls(), errorLog);
    hub.publish(auditEvent('/v1/key/describe/b'));
    sink.configure(undefined, tls(), errorLog);
    assert.equal(hub.active, false);
    hub.publish(auditEvent('/v1/key/describe/c'));
    const lines = readLines(path);
    assert.deepEqual(records(path).map((r) => r.checkpoint?.reason ?? '-'), ['start', '-', 'reload', '-', 'close']);
    assert.equal(JSON.parse(lines[1]!).request.path, '/v1/key/describe/a');
    assert.equal(JSON.parse(lines[3]!).response.code, 200);
  });

  test('switching to another path closes the old file; a path that cannot be opened keeps the old one', () => {
    const sink = new AuditFileSink();
    const first = freshPath();
    const second = freshPath();
    sink.configure(options(first), tls(), errorLog);
    sink.configure(options(second), tls(), errorLog);
    assert.equal(records(first).at(-1)!.checkpoint?.reason, 'close');
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, '');
    assert.throws(() => sink.configure(options(join(blocker, 'x', 'audit.log')), tls(), errorLog), /cannot open/);
    sink.write(auditEvent('/v1/key/list/*'));
    sink.close();
    assert.deepEqual(records(second).map((r) => r.checkpoint?.reason ?? '-'), ['start', '-', 'close']);
    assert.equal(existsSync(join(blocker, 'x')), false);
  });

  test('TLS material that cannot sign is refused with a clear error', () => {
    const sink = new AuditFileSink();
    assert.throws(() => sink.configure(options(freshPath()), { key: ed.keyPem, cert: 'not a certificate' }, errorLog), /log\.audit_file: cannot sign checkpoints with the TLS key/);
  });
});
