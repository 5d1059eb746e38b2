/**
 * No secrets anywhere (issue 7): a full workload — every key operation, denials, bad input,
 * tampered ciphertexts, a failing key store — and then every log line, audit event, error event,
 * metric, status answer and error body is searched for every secret the server held: secret
 * keys, HMAC keys, imported key bytes, data-key plaintexts and client plaintexts, in raw, hex and
 * base64 forms (also base64 at every byte alignment, as it would appear inside a longer value).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer } from '../helpers/test-server.js';
import type { TestCert } from '../helpers/certs.js';
import { LOG_DEBUG } from '../../src/config/types.js';
import { parseKeyVersion } from '../../src/crypto/key-version.js';

/** The textual forms a 32-byte secret could leak in, by name. */
function forms(secret: Buffer): [string, string][] {
  const out: [string, string][] = [
    ['hex', secret.toString('hex')],
    ['upper-case hex', secret.toString('hex').toUpperCase()],
    ['base64', secret.toString('base64')],
    ['base64url', secret.toString('base64url')],
  ];
  // base64 of the secret inside a longer value: the characters that depend only on the secret.
  for (const shift of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(shift), secret]).toString('base64');
    out.push([`base64 inside a value (offset ${shift} mod 3)`, b64.slice(shift === 0 ? 0 : 4, -4)]);
  }
  return out;
}

/** How a secret appears in the haystack (raw bytes or a named form), or undefined. */
function leak(haystack: Buffer, secret: Buffer): string | undefined {
  if (haystack.includes(secret)) return 'raw bytes';
  const text = haystack.toString('latin1');
  return forms(secret).find(([, f]) => text.includes(f))?.[0];
}

async function collect(lines: AsyncIterable<string>, into: string[]): Promise<void> {
  try {
    for await (const line of lines) into.push(line);
  } catch {
    // the stream ends when the server closes
  }
}

test('no secret material in logs, audit and error events, metrics, status or error bodies', async () => {
  let app!: TestCert;
  const t = await startTestServer((config, pki, dir) => {
    config.keystore = { type: 'fs', path: join(dir, 'keys') };
    config.log.audit = LOG_DEBUG;
    config.log.error = LOG_DEBUG;
    config.log.auditFile = { path: join(dir, 'audit', 'audit.log'), maxSize: 16 * 1024, checkpointEvery: 10, checkpointIntervalMs: 0 };
    app = pki.client({ commonName: 'app' });
    config.policies.app = { allow: ['/v1/key/generate/app-*'], deny: ['/v1/key/generate/app-denied'], identities: [app.identity] };
  });
  const secrets: { what: string; bytes: Buffer }[] = [];
  const outputs: { where: string; text: string }[] = [];
  const admin = t.client();
  const audit: string[] = [];
  const errors: string[] = [];
  const auditStream = await t.client().stream('/v1/log/audit');
  const errorStream = await t.client().stream('/v1/log/error');
  const streams = [collect(auditStream.lines, audit), collect(errorStream.lines, errors)];
  const call = async (method: string, path: string, body?: object | string, client = admin) => {
    const r = await client.request(method, path, body);
    // Successful generate and decrypt answers carry a data key to its caller by design; every
    // other answer (errors, status, metrics, descriptions, listings) is searched.
    if (r.status >= 300 || method === 'GET') outputs.push({ where: `${method} ${path} → ${r.status}`, text: r.body });
    return r;
  };

  try {
    // Keys: generated, and imported from known bytes (both key types).
    for (const name of ['app-a', 'app-b', 'plain']) assert.equal((await call('PUT', `/v1/key/create/${name}`)).status, 200);
    for (const [name, cipher] of [
      ['imported-aes', 'AES256'],
      ['imported-chacha', 'ChaCha20'],
    ] as const) {
      const key = randomBytes(32);
      secrets.push({ what: `imported key ${name}`, bytes: key });
      assert.equal((await call('PUT', `/v1/key/import/${name}`, { key: key.toString('base64'), cipher })).status, 200);
    }
    // Wrong-size and duplicate imports: the rejected key bytes must not be echoed.
    const rejected = randomBytes(31);
    secrets.push({ what: 'rejected import (31 bytes)', bytes: rejected });
    assert.equal((await call('PUT', '/v1/key/import/bad-size', { key: rejected.toString('base64'), cipher: 'AES256' })).status, 406);
    const duplicate = randomBytes(32);
    secrets.push({ what: 'duplicate import', bytes: duplicate });
    assert.equal((await call('PUT', '/v1/key/import/imported-aes', { key: duplicate.toString('base64'), cipher: 'AES256' })).status, 400);

    // Data keys, encryption, decryption, HMAC, for every key.
    const context = Buffer.from('{"bucket":"b","object":"o"}').toString('base64');
    for (const name of ['app-a', 'app-b', 'plain', 'imported-aes', 'imported-chacha']) {
      const g = (await call('POST', `/v1/key/generate/${name}`, { context })).json();
      const dek = Buffer.from(g.plaintext, 'base64');
      secrets.push({ what: `data key of ${name}`, bytes: dek });
      const d = (await call('POST', `/v1/key/decrypt/${name}`, { ciphertext: g.ciphertext, context })).json();
      assert.equal(d.plaintext, g.plaintext);
      const plaintext = randomBytes(32);
      secrets.push({ what: `client plaintext for ${name}`, bytes: plaintext });
      const e = (await call('POST', `/v1/key/encrypt/${name}`, { plaintext: plaintext.toString('base64'), context })).json();
      // Tampered ciphertext, wrong context: a decryption error that must not echo anything secret.
      const tampered = Buffer.from(e.ciphertext, 'base64');
      tampered[0]! ^= 1;
      assert.equal((await call('POST', `/v1/key/decrypt/${name}`, { ciphertext: tampered.toString('base64'), context })).status, 400);
      assert.equal((await call('POST', `/v1/key/decrypt/${name}`, { ciphertext: e.ciphertext, context: 'd3Jvbmc=' })).status, 400);
      assert.equal((await call('PUT', `/v1/key/hmac/${name}`, { message: plaintext.toString('base64') })).status, 200);
    }
    // The app identity: allowed, denied by pattern, denied by default; invalid bodies.
    const appClient = t.client(app);
    assert.equal((await call('POST', '/v1/key/generate/app-a', { context }, appClient)).status, 200);
    assert.equal((await call('POST', '/v1/key/generate/app-denied', { context }, appClient)).status, 403);
    assert.equal((await call('POST', '/v1/key/decrypt/app-a', { ciphertext: 'AAAA', context }, appClient)).status, 403);
    assert.equal((await call('POST', '/v1/key/encrypt/plain', '{"plaintext": "not base64!"}')).status, 400);
    assert.equal((await call('POST', '/v1/key/encrypt/plain', '{"plaintext": ')).status, 400);
    for (const path of ['/v1/key/describe/plain', '/v1/key/list/*', '/v1/status', '/v1/metrics', '/v1/identity/self/describe', '/v1/policy/describe/app', '/v1/identity/list/*']) {
      assert.equal((await call('GET', path)).status, 200, path);
    }

    assert.equal((await call('PUT', '/v1/key/create/broken')).status, 200);

    // Every key and HMAC key the store holds.
    const keyDir = join(t.dir, 'keys');
    for (const name of readdirSync(keyDir)) {
      const v = parseKeyVersion(readFileSync(join(keyDir, name)));
      secrets.push({ what: `secret key ${name}`, bytes: v.key.bytes() });
      if (v.hmacKey) secrets.push({ what: `HMAC key ${name}`, bytes: v.hmacKey.bytes() });
    }

    // A failing key store: a key file that cannot be read (a directory in its place, which
    // fails for root too) is a 502 whose cause goes to the error log.
    rmSync(join(keyDir, 'broken'));
    mkdirSync(join(keyDir, 'broken'));
    assert.equal((await call('POST', '/v1/key/generate/broken', { context })).status, 502);
    assert.equal((await call('DELETE', '/v1/key/delete/plain')).status, 200);

    assert.ok(secrets.length >= 25, `collected ${secrets.length} secrets`);
  } finally {
    await new Promise((r) => setTimeout(r, 200)); // let the last events reach the streams
    auditStream.close();
    errorStream.close();
    await Promise.all(streams);
    // The audit file and its rotated files (read before close removes the folder).
    await t.server.close(100);
    const auditDir = join(t.dir, 'audit');
    for (const name of readdirSync(auditDir)) outputs.push({ where: `audit file ${name}`, text: readFileSync(join(auditDir, name), 'utf8') });
    await t.close();
  }

  outputs.push({ where: 'stdout (audit log)', text: t.stdout() }, { where: 'stderr (error log)', text: t.stderr() });
  outputs.push({ where: '/v1/log/audit stream', text: audit.join('\n') }, { where: '/v1/log/error stream', text: errors.join('\n') });
  assert.ok(audit.length >= 40, `audit events seen: ${audit.length}`);
  const auditFileLines = outputs.filter((o) => o.where.startsWith('audit file')).flatMap((o) => o.text.split('\n').filter(Boolean));
  assert.ok(auditFileLines.length >= audit.length, `audit file records: ${auditFileLines.length}`);
  assert.ok(t.stdout().split('\n').length >= 40, 'the stdout audit sink recorded the workload');
  assert.match(t.stderr() + errors.join('\n'), /failed to read key/, 'the store failure reached the error log');

  const found: string[] = [];
  for (const o of outputs) {
    const haystack = Buffer.from(o.text, 'utf8');
    for (const s of secrets) {
      const how = leak(haystack, s.bytes);
      if (how) found.push(`${s.what} appears (${how}) in ${o.where}`);
    }
  }
  assert.deepEqual(found, []);
});

test('the leak detector finds a secret in each form it searches for', () => {
  const secret = randomBytes(32);
  for (const [name, f] of forms(secret)) assert.ok(leak(Buffer.from(`prefix ${f} suffix`), secret), name);
  assert.ok(leak(Buffer.concat([Buffer.from('x'), secret]), secret));
  for (const shift of [0, 1, 2]) {
    const embedded = Buffer.concat([randomBytes(shift + 3), secret, randomBytes(5)]).toString('base64');
    assert.ok(leak(Buffer.from(embedded), secret), `base64 at alignment ${shift}`);
  }
  assert.equal(leak(Buffer.from(randomBytes(64).toString('base64')), secret), undefined);
});
