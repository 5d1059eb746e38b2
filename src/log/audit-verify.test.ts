/**
 * The verifier against every kind of tampering: each case changes a clean file the way an
 * attacker (or an accident) would, and the first problem must be found at the right line with
 * the right kind.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditFile } from './audit-file.js';
import { chainLine, lineHash } from './audit-chain.js';
import { verifyAuditFiles, type ProblemKind, type VerifyReport } from './audit-verify.js';
import { chainFiles, fileOf, readLines, rechain, testSigner, type TestSigner } from '../../test/helpers/audit-files.js';

let dir: string;
let server: TestSigner;
let attacker: TestSigner;
/** The clean file: 1 start, 2-6 records seq 1-5, 7 periodic, 8-12 records, 13 periodic, 14-15 records, 16 close. */
let clean: string[];
/** Three rotated files and the current one. */
let rotated: Buffer[];

const event = (i: number) => ({ time: '2026-11-28T10:15:00Z', request: { ip: '10.0.0.1', path: `/v1/key/generate/key-${i}`, identity: 'c'.repeat(64) }, response: { code: 200, time: 5000 + i } });

function write(path: string, events: number, maxSize = 1 << 20): void {
  const file = AuditFile.open({ path, maxSize, checkpointEvery: 5, checkpointIntervalMs: 0 }, server.signer, (m) => assert.fail(m));
  for (let i = 0; i < events; i++) file.write(event(i));
  file.close();
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kes-audit-verify-'));
  server = testSigner('ed25519');
  attacker = testSigner('ed25519');
  write(join(dir, 'clean.log'), 12);
  clean = readLines(join(dir, 'clean.log'));
  const path = join(dir, 'rot', 'audit.log');
  write(path, 30, 2600);
  rotated = chainFiles(path).map((f) => readFileSync(f));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const verify = (lines: readonly string[], signers = [server.signer.identity]) => verifyAuditFiles([{ name: 'audit.log', data: fileOf(lines) }], { signers });
/** Line n (1-based) of the clean file. */
const L = (n: number) => clean[n - 1]!;
const without = (...ns: number[]) => clean.filter((_, i) => !ns.includes(i + 1));
const replaced = (n: number, line: string) => clean.map((l, i) => (i + 1 === n ? line : l));
const inserted = (before: number, line: string) => [...clean.slice(0, before - 1), line, ...clean.slice(before - 1)];
const edit = (n: number, fn: (o: Record<string, any>) => void) => {
  const o = JSON.parse(L(n));
  fn(o);
  return JSON.stringify(o);
};

function assertProblem(r: VerifyReport, kind: ProblemKind, line: number, message?: RegExp): void {
  assert.equal(r.ok, false, 'not detected');
  assert.deepEqual([r.problem!.kind, r.problem!.line], [kind, line], r.problem!.message);
  if (message) assert.match(r.problem!.message, message);
}

describe('verifying a clean file', () => {
  test('the clean file is intact, without warnings', () => {
    assert.deepEqual(clean.map((l) => JSON.parse(l).checkpoint?.reason ?? '-'), ['start', '-', '-', '-', '-', '-', 'periodic', '-', '-', '-', '-', '-', 'periodic', '-', '-', 'close']);
    const r = verify(clean);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.files, [{ file: 'audit.log', records: 12, checkpoints: 4 }]);
    assert.deepEqual(r.signers, [server.signer.identity]);
    assert.equal(r.firstSeq, 0);
  });
});

// [title, tampered lines, kind, line, message]
const TAMPERING: Array<[string, () => string[], ProblemKind, number, RegExp?]> = [
  ['a deleted record', () => without(4), 'deleted', 4, /1 record\(s\) missing before line 4 \(seq 3\)/],
  ['two deleted records', () => without(4, 5), 'deleted', 4, /2 record\(s\) missing before line 4 \(seq 3\.\.4\)/],
  ['a deleted checkpoint', () => without(7), 'deleted', 7],
  ['the deleted first line', () => without(1), 'deleted', 1, /does not begin with a checkpoint/],
  ['a modified record', () => replaced(4, L(4).replace('key-2', 'key-X')), 'modified', 4, /line 4 does not match the hash recorded by line 5/],
  ['a modified record before a checkpoint', () => replaced(6, L(6).replace('"code":200', '"code":403')), 'modified', 6, /signed checkpoint at line 7/],
  ['a modified seq', () => replaced(4, edit(4, (o) => (o.seq = 30))), 'modified', 4, /its seq was changed/],
  ['a modified prev', () => replaced(4, edit(4, (o) => (o.prev = lineHash('x')))), 'modified', 4, /its prev was changed/],
  ['a line that is not JSON', () => replaced(9, 'hello'), 'modified', 9, /not a valid audit record/],
  ['an inserted line that is not a record', () => inserted(5, '{"note":"hi"}'), 'inserted', 5],
  ['an inserted record that fits the chain', () => inserted(5, chainLine(4, lineHash(L(4)), event(99))), 'inserted', 5],
  ['an inserted record with a made-up seq and prev', () => inserted(5, chainLine(77, lineHash('y'), event(99))), 'inserted', 5],
  ['an inserted record with an old seq', () => inserted(10, chainLine(2, lineHash(L(2)), event(98))), 'inserted', 10, /repeats an earlier record/],
  ['two swapped records', () => [...clean.slice(0, 3), L(5), L(4), ...clean.slice(5)], 'reordered', 4, /seq 3 belongs at line 4 but is at line 5/],
  ['a record moved later', () => [L(1), L(2), L(4), L(5), L(3), ...clean.slice(5)], 'reordered', 3, /seq 2 belongs at line 3 but is at line 5/],
  ['a record moved earlier', () => [L(1), L(2), L(5), L(3), L(4), ...clean.slice(5)], 'reordered', 3, /seq 2 belongs at line 3 but is at line 4/],
  ['a changed checkpoint', () => replaced(7, L(7).replace('"periodic"', '"reload"')), 'bad-signature', 7, /signature does not verify/],
  ['a checkpoint with another key', () => replaced(7, edit(7, (o) => (o.checkpoint.key = attacker.signer.publicKey))), 'bad-signature', 7, /key does not match its signer/],
  ['a record changed and the chain recomputed up to a checkpoint', () => [...rechain(replaced(3, L(3).replace('key-1', 'key-Z')), 3).slice(0, 6), ...clean.slice(6)], 'modified', 6, /or a line from line 2 on was modified and the chain recomputed/],
  ['a record deleted and the chain renumbered up to a checkpoint', () => [...rechain(without(3), 2).slice(0, 5), ...clean.slice(6)], 'deleted', 6],
  ['a record changed and the chain recomputed through the checkpoints', () => rechain(replaced(3, L(3).replace('key-1', 'key-Z')), 3), 'bad-signature', 7],
  ['the chain recomputed and re-signed by another key', () => rechain(replaced(3, L(3).replace('key-1', 'key-Z')), 3, attacker.signer), 'bad-signature', 7, /not a pinned signer/],
  ['a file cut inside its last line', () => [...clean.slice(0, -1), L(16).slice(0, 40)], 'truncated', 16],
];

describe('tampering with one file', () => {
  for (const [title, tamper, kind, line, message] of TAMPERING) {
    test(`${title}: ${kind} at line ${line}`, () => {
      const lines = tamper();
      // A line cut short has no newline at the end of the file.
      const r = kind === 'truncated' ? verifyAuditFiles([{ name: 'audit.log', data: fileOf(lines).subarray(0, -1) }], { signers: [server.signer.identity] }) : verify(lines);
      assertProblem(r, kind, line, message);
      assert.equal(r.problem!.file, 'audit.log');
    });
  }

  test('a duplicated line is found as an insertion next to the original', () => {
    const r = verify(inserted(5, L(4)));
    assert.equal(r.problem?.kind, 'inserted');
    assert.ok(r.problem!.line === 4 || r.problem!.line === 5, String(r.problem!.line));
  });

  test('re-signing with another key passes only when nothing is pinned, and the signers are reported', () => {
    const r = verify(rechain(replaced(3, L(3).replace('key-1', 'key-Z')), 3, attacker.signer), []);
    assert.equal(r.ok, true);
    assert.equal(r.pinned, false);
    assert.deepEqual(r.signers, [server.signer.identity, attacker.signer.identity]);
    assert.match(r.warnings.at(-1)!.message, /not pinned .*signed by [0-9a-f]{64}, [0-9a-f]{64}/);
  });
});

describe('the end of the log', () => {
  test('records after the last checkpoint cut off: a warning, not a failure', () => {
    const r = verify(clean.slice(0, 15));
    assert.equal(r.ok, true);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!.message, /no final checkpoint: the 2 record\(s\) after the checkpoint at audit\.log:13 are not covered by a signature/);
  });

  test('a log cut right after a periodic checkpoint: a warning', () => {
    const r = verify(clean.slice(0, 13));
    assert.equal(r.ok, true);
    assert.match(r.warnings[0]!.message, /the last checkpoint is a 'periodic' checkpoint, not 'close'/);
  });

  test('an empty file is a problem', () => {
    const r = verifyAuditFiles([{ name: 'audit.log', data: Buffer.alloc(0) }]);
    assertProblem(r, 'deleted', 1, /empty/);
  });
});

describe('rotated files', () => {
  const names = () => rotated.map((_, i) => (i === rotated.length - 1 ? 'audit.log' : `audit.log.${i}`));
  const verifyFiles = (files: Buffer[], labels = names()) =>
    verifyAuditFiles(
      files.map((data, i) => ({ name: labels[i]!, data })),
      { signers: [server.signer.identity] },
    );

  test('the files verify together, oldest first', () => {
    assert.ok(rotated.length >= 4, `${rotated.length} files`);
    const r = verifyFiles(rotated);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.equal(r.files.reduce((n, f) => n + f.records, 0), 30);
    assert.deepEqual(r.warnings, []);
  });

  test('a missing file breaks the link', () => {
    const files = [rotated[0]!, ...rotated.slice(2)];
    const labels = names().filter((_, i) => i !== 1);
    assertProblem(verifyFiles(files, labels), 'file-link', 1, /records seq \d+\.\.\d+ are missing between audit\.log\.0 and this file/);
  });

  test('files out of order break the link', () => {
    const files = [rotated[1]!, rotated[0]!, ...rotated.slice(2)];
    const r = verifyFiles(files);
    assertProblem(r, 'file-link', 1, /out of order/);
    assert.equal(r.problem!.file, 'audit.log.1');
  });

  test('a rotated file missing its last line breaks the link', () => {
    const lines = rotated[1]!.toString().trimEnd().split('\n');
    const files = [rotated[0]!, fileOf(lines.slice(0, -1)), ...rotated.slice(2)];
    const r = verifyFiles(files);
    assertProblem(r, 'file-link', 1);
    assert.equal(r.problem!.file, 'audit.log.2');
  });

  test('a record modified at the end of a rotated file is found', () => {
    const lines = rotated[1]!.toString().trimEnd().split('\n');
    const at = lines.length - 2; // the last record, before the file-end checkpoint
    lines[at] = lines[at]!.replace('"code":200', '"code":500');
    const r = verifyFiles([rotated[0]!, fileOf(lines), ...rotated.slice(2)]);
    assertProblem(r, 'modified', at + 1);
    assert.equal(r.problem!.file, 'audit.log.1');
  });

  test('the newest files verify from where they start', () => {
    const r = verifyFiles(rotated.slice(2), names().slice(2));
    assert.equal(r.ok, true);
    assert.ok(r.firstSeq! > 0);
  });
});
