/**
 * The tamper-evident audit file end to end: a real server writes `log.audit_file` (rotating it),
 * `kes log verify` passes on what it wrote and fails, naming the line, on tampered copies. Also
 * with `kes server --workers 2`, where the primary writes one chain for every worker.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startTestServer } from '../helpers/test-server.js';
import { createTestPki } from '../helpers/certs.js';
import { httpsClient } from '../helpers/https-client.js';
import { kes } from '../helpers/cli-io.js';
import { chainFiles, fileOf, readLines } from '../helpers/audit-files.js';
import { writeServerConfig } from '../helpers/server-config-file.js';
import { startCli } from './run-cli.js';

const reasons = (files: string[]) => files.flatMap((f) => readLines(f).map((l) => JSON.parse(l).checkpoint?.reason)).filter(Boolean);

describe('kes log verify on the audit file of a running server', () => {
  let dir: string;
  let path: string;
  let certFile: string;
  let files: string[];
  let admin: string;
  let other: string;
  let requests = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kes-audit-e2e-'));
    path = join(dir, 'logs', 'audit.log');
    const ts = await startTestServer((c, _pki, serverDir) => {
      c.keystore = { type: 'fs', path: join(serverDir, 'keys') }; // kept across the reload
      c.log.auditFile = { path, maxSize: 16 * 1024, checkpointEvery: 20, checkpointIntervalMs: 0 };
    });
    certFile = join(dir, 'server.crt');
    writeFileSync(certFile, ts.pki.server.certPem);
    admin = ts.admin.identity;
    const stranger = ts.pki.client({ commonName: 'stranger' });
    other = stranger.identity;
    try {
      const c = ts.client();
      const expect = async (method: string, p: string, status: number, body?: object) => {
        requests++;
        assert.equal((await c.request(method, p, body)).status, status, `${method} ${p}`);
      };
      for (let i = 0; i < 30; i++) await expect('PUT', `/v1/key/create/k-${i}`, 200);
      await ts.server.reload({ ...ts.config, log: { ...ts.config.log, auditFile: { ...ts.config.log.auditFile!, checkpointEvery: 25 } } });
      for (let i = 0; i < 30; i++) await expect('POST', `/v1/key/generate/k-${i}`, 200, {});
      for (let i = 0; i < 10; i++) await expect('GET', `/v1/key/describe/missing-${i}`, 404);
      const s = ts.client(stranger);
      for (let i = 0; i < 5; i++) {
        requests++;
        assert.equal((await s.request('GET', '/v1/key/list/*')).status, 403);
      }
    } finally {
      await ts.close();
    }
    files = chainFiles(path);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the rotated files and the current one verify, pinned by the server certificate', async () => {
    assert.ok(files.length >= 2, `${files.length} files`);
    const r = await kes(['log', 'verify', ...files, '--cert', certFile], {});
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`OK: intact: ${requests} records, \\d+ checkpoints in ${files.length} file\\(s\\)`));
    assert.match(r.stdout, /Signed by: [0-9a-f]{64} \(pinned\)/);
    assert.doesNotMatch(r.stdout, /Warning/);
    const seen = new Set(reasons(files));
    for (const reason of ['start', 'periodic', 'reload', 'file-end', 'file-start', 'close']) assert.ok(seen.has(reason), `no ${reason} checkpoint`);
  });

  test('each record is the /v1/log/audit event of a request, and the file is private', () => {
    const events = files.flatMap((f) => readLines(f).map((l) => JSON.parse(l))).filter((e) => !e.checkpoint);
    assert.equal(events.length, requests);
    const created = events.find((e) => e.request.path === '/v1/key/create/k-0');
    assert.deepEqual(Object.keys(created).sort(), ['prev', 'request', 'response', 'seq', 'time']);
    assert.deepEqual(created.request, { ip: '127.0.0.1', path: '/v1/key/create/k-0', identity: admin });
    assert.equal(created.response.code, 200);
    assert.ok(Number.isInteger(created.response.time) && created.response.time > 0);
    assert.ok(!Number.isNaN(Date.parse(created.time)));
    const denied = events.filter((e) => e.response.code === 403);
    assert.equal(denied.length, 5);
    assert.ok(denied.every((e) => e.request.identity === other));
    for (const f of files) assert.equal(statSync(f).mode & 0o777, 0o600, f);
  });

  // [title, tamper the lines of the current file, the line and kind reported]
  const TAMPERING: Array<[string, (lines: string[]) => void, number, string]> = [
    ['a deleted line', (l) => l.splice(4, 1), 5, 'deleted'],
    ['a modified line', (l) => (l[5] = l[5]!.replace(/"code":\d+/, '"code":200').replace('/v1/key/', '/v1/key/x')), 6, 'modified'],
    ['an inserted line', (l) => l.splice(3, 0, l[2]!.replace('"seq":', '"seq":1')), 4, 'inserted'],
    ['two swapped lines', (l) => l.splice(6, 2, l[7]!, l[6]!), 7, 'reordered'],
  ];
  for (const [title, tamper, line, kind] of TAMPERING) {
    test(`${title} in a copy fails, naming the line`, async () => {
      const copy = join(dir, `tampered-${kind}`);
      mkdirSync(copy);
      const copies = files.map((f) => join(copy, basename(f)));
      files.forEach((f, i) => copyFileSync(f, copies[i]!));
      const lines = readLines(copies.at(-1)!);
      tamper(lines);
      writeFileSync(copies.at(-1)!, fileOf(lines));
      const r = await kes(['log', 'verify', ...copies, '--cert', certFile], {});
      assert.equal(r.code, 1, r.stdout);
      assert.ok(r.stdout.includes(`FAILED: ${copies.at(-1)}:${line}: ${kind}: `), r.stdout);
    });
  }

  test('a signer other than the pinned identity fails at the first checkpoint', async () => {
    const r = await kes(['log', 'verify', ...files, '--identity', 'ab'.repeat(32)], {});
    assert.equal(r.code, 1);
    assert.ok(r.stdout.includes(`FAILED: ${files[0]}:1: bad-signature: checkpoint: signed by `), r.stdout);
  });

  test('without --cert the signatures are checked and the signer is reported as not pinned; --strict fails on that', async () => {
    const r = await kes(['log', 'verify', ...files], {});
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Warning: .*the checkpoint signers were not pinned/);
    const strict = await kes(['log', 'verify', ...files, '--strict'], {});
    assert.equal(strict.code, 1);
  });

  test('--json prints the report', async () => {
    const r = await kes(['log', 'verify', path, '--cert', certFile, '--json'], {});
    assert.equal(r.code, 0);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.pinned, true);
    assert.ok(report.firstSeq > 0, 'the current file continues the rotated ones');
  });

  test('usage and read errors', async () => {
    const help = await kes(['log', 'verify', '--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage:\n {2}kes log verify FILE\.\.\./);
    assert.match(help.stdout, /deleted, modified, inserted,\s+reordered, bad-signature, file-link/);
    assert.match((await kes(['log', '--help'], {})).stdout, /verify\s+Check audit files/);
    const none = await kes(['log', 'verify'], {});
    assert.equal(none.code, 2);
    const missing = await kes(['log', 'verify', join(dir, 'nope.log')], {});
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read '.*nope\.log': no such file or directory/);
    const badId = await kes(['log', 'verify', path, '--identity', 'xyz'], {});
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /invalid --identity 'xyz'/);
  });
});

test('kes server --workers 2: the primary writes one chain with the events of every worker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kes-audit-cluster-'));
  const pki = createTestPki();
  const admin = pki.client({ commonName: 'admin' });
  pki.writeFiles(dir);
  const path = join(dir, 'logs', 'audit.log');
  const config = writeServerConfig({
    admin: admin.identity,
    dir,
    sections: `log:\n  audit_file:\n    path: ${path}\n    checkpoint_every: 7\n`,
  });
  const cli = startCli(['server', '--config', config, '--workers', '2']);
  try {
    const [, port] = await cli.waitFor(/https:\/\/127\.0\.0\.1:(\d+)/);
    await cli.waitFor(/Server is up and running/);
    // A new connection per request, so that requests spread over the workers.
    const once = async (p: string) => {
      const c = httpsClient(Number(port), pki.ca.certPem, admin);
      try {
        assert.equal((await c.request('PUT', p)).status, 200, p);
      } finally {
        c.close();
      }
    };
    for (let i = 0; i < 8; i++) await once(`/v1/key/create/a-${i}`);
    cli.child.kill('SIGHUP');
    await cli.waitFor(/Reloaded config file/);
    for (let i = 0; i < 8; i++) await once(`/v1/key/create/b-${i}`);
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0, cli.stderr());
    const r = await kes(['log', 'verify', path, '--cert', join(dir, 'server.crt')], {});
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /OK: intact: 16 records, \d+ checkpoints in 1 file/);
    const seen = reasons([path]);
    assert.equal(seen[0], 'start');
    assert.equal(seen.at(-1), 'close');
    assert.ok(seen.includes('reload') && seen.includes('periodic'), seen.join(' '));
  } finally {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
