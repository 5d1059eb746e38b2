/** Key rings over the KES API (docs/key-rings.md): rotate, describe, delete-version, rewrap, HMAC. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestClient } from '../helpers/https-client.js';
import type { TestCert } from '../helpers/certs.js';
import { errorBody } from '../../src/server/error-response.js';
import { FakeVault } from '../helpers/fake-vault.js';
import { LOG_INFO } from '../../src/config/types.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const context = b64('{"bucket":"b","object":"o"}');

describe('key rings over the KES API', () => {
  let t: TestServer;
  let c: TestClient;
  let rotator: TestCert;
  before(async () => {
    t = await startTestServer((config, pki, dir) => {
      config.keystore = { type: 'fs', path: join(dir, 'keys') };
      config.log.audit = LOG_INFO;
      rotator = pki.client({ commonName: 'rotator' });
      config.policies = {
        // May rotate app-* keys and rewrap, but not decrypt: rewrap needs both.
        rotator: { allow: ['/v1/key/rotate/app-*', '/v1/key/rewrap/app-*', '/v1/key/describe/app-*'], deny: [], identities: [rotator.identity] },
      };
    });
    c = t.client();
  });
  after(() => t.close());

  const generate = async (name: string) => (await c.request('PUT', `/v1/key/generate/${name}`, { context })).json() as { plaintext: string; ciphertext: string };
  const decrypt = (name: string, ciphertext: string) => c.request('PUT', `/v1/key/decrypt/${name}`, { ciphertext, context });

  test('after rotations, data keys of every version decrypt; new ones use the latest version', async () => {
    assert.equal((await c.request('PUT', '/v1/key/create/app-1')).status, 200);
    const v1 = await generate('app-1');
    const r = await c.request('PUT', '/v1/key/rotate/app-1');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { version: 2 });
    const v2 = await generate('app-1');
    assert.deepEqual((await c.request('PUT', '/v1/key/rotate/app-1')).json(), { version: 3 });
    const v3 = await generate('app-1');
    for (const dk of [v1, v2, v3]) {
      const d = await decrypt('app-1', dk.ciphertext);
      assert.equal(d.status, 200, d.body);
      assert.equal(d.json().plaintext, dk.plaintext);
    }
    // Version 1 seals in KES's raw format; later versions carry the version header.
    assert.notEqual(Buffer.from(v1.ciphertext, 'base64').subarray(0, 4).toString('hex'), '6f6b7601');
    assert.equal(Buffer.from(v2.ciphertext, 'base64').subarray(0, 8).toString('hex'), '6f6b760100000002');
    assert.equal(Buffer.from(v3.ciphertext, 'base64').subarray(0, 8).toString('hex'), '6f6b760100000003');
  });

  test('describe lists the versions; KES\'s fields describe the latest', async () => {
    await c.request('PUT', '/v1/key/create/app-2');
    await c.request('PUT', '/v1/key/rotate/app-2', { key: b64(Buffer.alloc(32, 1)), cipher: 'ChaCha20' });
    const d = (await c.request('GET', '/v1/key/describe/app-2')).json();
    assert.equal(d.algorithm, 'ChaCha20');
    assert.equal(d.version, 2);
    assert.deepEqual(
      d.versions.map((v: { version: number; algorithm: string; created_by: string }) => [v.version, v.algorithm, v.created_by]),
      [
        [1, 'AES256', t.admin.identity],
        [2, 'ChaCha20', t.admin.identity],
      ],
    );
  });

  test('bring-your-own rotation takes import\'s body and checks it as import does', async () => {
    await c.request('PUT', '/v1/key/create/app-3');
    const bad = await c.request('PUT', '/v1/key/rotate/app-3', { key: b64(Buffer.alloc(16)), cipher: 'AES256' });
    assert.deepEqual([bad.status, bad.body], [406, errorBody("invalid key size for 'AES256'")]);
    const unknown = await c.request('PUT', '/v1/key/rotate/app-3', { key: b64(Buffer.alloc(32)), cipher: 'DES' });
    assert.deepEqual([unknown.status, unknown.body], [406, errorBody("algorithm 'DES' is not supported")]);
    assert.deepEqual((await c.request('PUT', '/v1/key/rotate/app-3', { key: b64(Buffer.alloc(32, 3)), cipher: 'AES256' })).json(), { version: 2 });
    const missing = await c.request('PUT', '/v1/key/rotate/no-such-key');
    assert.deepEqual([missing.status, missing.body], [404, errorBody('key does not exist')]);
  });

  test('deleting a version makes exactly its data undecryptable, with KES\'s decrypt error', async () => {
    await c.request('PUT', '/v1/key/create/app-4');
    const v1 = await generate('app-4');
    await c.request('PUT', '/v1/key/rotate/app-4');
    const v2 = await generate('app-4');
    await c.request('PUT', '/v1/key/rotate/app-4');
    const v3 = await generate('app-4');
    const del = await c.request('PUT', '/v1/key/delete-version/app-4', { version: 2 });
    assert.equal(del.status, 200, del.body);
    const gone = await decrypt('app-4', v2.ciphertext);
    assert.deepEqual([gone.status, gone.body], [400, errorBody('decryption failed: ciphertext is not authentic')]);
    for (const dk of [v1, v3]) assert.equal((await decrypt('app-4', dk.ciphertext)).json().plaintext, dk.plaintext);
    assert.deepEqual(
      (await c.request('GET', '/v1/key/describe/app-4')).json().versions.map((v: { version: number }) => v.version),
      [1, 3],
    );
    const again = await c.request('PUT', '/v1/key/delete-version/app-4', { version: 2 });
    assert.deepEqual([again.status, again.body], [404, errorBody('key version does not exist')]);
    await c.request('PUT', '/v1/key/delete-version/app-4', { version: 1 });
    const only = await c.request('PUT', '/v1/key/delete-version/app-4', { version: 3 });
    assert.deepEqual([only.status, only.body], [400, errorBody('the only version of a key cannot be deleted')]);
    assert.equal((await decrypt('app-4', v3.ciphertext)).json().plaintext, v3.plaintext);
  });

  test('rewrap seals the same plaintext with the latest version', async () => {
    await c.request('PUT', '/v1/key/create/app-5');
    const v1 = await generate('app-5');
    await c.request('PUT', '/v1/key/rotate/app-5');
    const r = await c.request('PUT', '/v1/key/rewrap/app-5', { ciphertext: v1.ciphertext, context });
    assert.equal(r.status, 200, r.body);
    const rewrapped = r.json().ciphertext as string;
    assert.equal(Buffer.from(rewrapped, 'base64').subarray(0, 8).toString('hex'), '6f6b760100000002');
    assert.equal((await decrypt('app-5', rewrapped)).json().plaintext, v1.plaintext);
    const wrongContext = await c.request('PUT', '/v1/key/rewrap/app-5', { ciphertext: v1.ciphertext, context: b64('other') });
    assert.deepEqual([wrongContext.status, wrongContext.body], [400, errorBody('decryption failed: ciphertext is not authentic')]);
  });

  test('the HMAC is the key\'s: the same across rotations and after version 1 is deleted', async () => {
    await c.request('PUT', '/v1/key/create/app-6');
    const mac = async () => (await c.request('PUT', '/v1/key/hmac/app-6', { message: b64('root credentials') })).json().hmac as string;
    const before = await mac();
    await c.request('PUT', '/v1/key/rotate/app-6');
    assert.equal(await mac(), before);
    await c.request('PUT', '/v1/key/delete-version/app-6', { version: 1 });
    assert.equal(await mac(), before);
  });

  test('ten concurrent rotations give ten new versions, none lost', async () => {
    await c.request('PUT', '/v1/key/create/app-7');
    const answers = await Promise.all(Array.from({ length: 10 }, () => c.request('PUT', '/v1/key/rotate/app-7')));
    assert.deepEqual(answers.map((a) => a.status), Array(10).fill(200));
    assert.deepEqual(answers.map((a) => a.json().version).sort((a: number, b: number) => a - b), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal((await c.request('GET', '/v1/key/describe/app-7')).json().versions.length, 11);
  });

  test('policies apply: rotate by pattern; rewrap needs decrypt too; delete-version needs its own path', async () => {
    await c.request('PUT', '/v1/key/create/app-8');
    await c.request('PUT', '/v1/key/create/other-8');
    const dk = await generate('app-8');
    const r = t.client(rotator);
    assert.equal((await r.request('PUT', '/v1/key/rotate/app-8')).status, 200);
    const denied = errorBody('not authorized: insufficient permissions');
    for (const [method, path, body] of [
      ['PUT', '/v1/key/rotate/other-8', undefined],
      ['PUT', '/v1/key/rewrap/app-8', { ciphertext: dk.ciphertext, context }],
      ['PUT', '/v1/key/delete-version/app-8', { version: 1 }],
    ] as const) {
      const a = await r.request(method, path, body);
      assert.deepEqual([a.status, a.body], [403, denied], path);
    }
    assert.equal((await c.request('GET', '/v1/key/describe/app-8')).json().version, 2);
  });

  test('the audit log names rotations and version deletes', async () => {
    await c.request('PUT', '/v1/key/create/app-9');
    await c.request('PUT', '/v1/key/rotate/app-9');
    await c.request('PUT', '/v1/key/delete-version/app-9', { version: 1 });
    await new Promise((r) => setTimeout(r, 50));
    const audit = t.stdout();
    assert.match(audit, /secret key 'app-9' rotated to version 2/);
    assert.match(audit, /version 1 of secret key 'app-9' deleted/);
  });
});

describe('key rings on a store without compare-and-swap', () => {
  test('rotation is refused with a 501 that names the reason; nothing changes', async () => {
    // Vault KV v1 has no compare-and-swap (through the fake Vault, which follows Vault's API).
    const fake = await FakeVault.start({ mounts: [{ path: 'kv', type: 'kv-v1' }] });
    const t = await startTestServer((config) => {
      config.keystore = { type: 'vault', endpoint: fake.url, engine: 'kv', version: 'v1', token: fake.rootToken, statusPingMs: 60_000 };
    });
    try {
      const c = t.client();
      assert.equal((await c.request('PUT', '/v1/key/create/k')).status, 200);
      const r = await c.request('PUT', '/v1/key/rotate/k');
      assert.deepEqual([r.status, r.body], [501, errorBody('key store cannot change keys: rotation is not supported')]);
      assert.equal((await c.request('GET', '/v1/key/describe/k')).json().version, 1);
    } finally {
      await t.close();
      await fake.close();
    }
  });
});

describe('automatic rotation', () => {
  test('keys matching a rule get a new version once their latest is older than the period; others do not', async () => {
    const t = await startTestServer((config, _pki, dir) => {
      config.keystore = { type: 'fs', path: join(dir, 'keys') };
      config.log.audit = LOG_INFO;
      config.rotation = [{ pattern: 'auto-*', everyMs: 1000 }];
    });
    try {
      const c = t.client();
      for (const name of ['auto-1', 'manual-1']) assert.equal((await c.request('PUT', `/v1/key/create/${name}`)).status, 200);
      const first = await c.request('PUT', '/v1/key/generate/auto-1', { context });
      const end = Date.now() + 10_000;
      let described = (await c.request('GET', '/v1/key/describe/auto-1')).json();
      while (described.version < 2) {
        assert.ok(Date.now() < end, 'auto-1 rotated within 10 s');
        await new Promise((r) => setTimeout(r, 100));
        described = (await c.request('GET', '/v1/key/describe/auto-1')).json();
      }
      // The server's own identity rotated it, and says so in the audit log and the metrics.
      const by = described.versions[1].created_by as string;
      assert.match(by, /^[0-9a-f]{64}$/);
      assert.notEqual(by, t.admin.identity);
      await new Promise((r) => setTimeout(r, 50));
      const event = t
        .stdout()
        .split('\n')
        .filter((l) => l.includes("rotated to version 2 (automatic)"))
        [0];
      assert.ok(event, t.stdout());
      assert.match(event, new RegExp(`req\\.method=PUT req\\.path=/v1/key/rotate/auto-1 req\\.ip="" req\\.identity=${by} res\\.code=200`));
      assert.match((await c.request('GET', '/v1/metrics')).body, /^openkes_key_rotations_total [1-9]/m);
      // Data sealed before still opens; the key not matching the rule keeps one version.
      assert.equal((await c.request('PUT', '/v1/key/decrypt/auto-1', { ciphertext: first.json().ciphertext, context })).json().plaintext, first.json().plaintext);
      assert.equal((await c.request('GET', '/v1/key/describe/manual-1')).json().version, 1);
    } finally {
      await t.close();
    }
  });
});
