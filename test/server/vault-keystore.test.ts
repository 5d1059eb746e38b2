/** The server on the Vault key store (an in-repo fake of Vault's HTTP API, protocol.md §9.3). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestClient } from '../helpers/https-client.js';
import { FakeVault } from '../helpers/fake-vault.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../helpers/vectors.js';
import { parseKeyVersion } from '../../src/crypto/key-version.js';

const SECRET_ID = '6a174c20-f6de-a53c-74d2-6018fcceff64';
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('server on Vault (KV v2, AppRole, namespace, prefix)', () => {
  let fake: FakeVault;
  let t: TestServer;
  let c: TestClient;
  before(async () => {
    fake = await FakeVault.start({ mounts: [{ path: 'kv', type: 'kv-v2', namespace: 'ns1' }, { path: 'approle', type: 'approle', namespace: 'ns1' }] });
    fake.addAppRole({ roleId: 'db02de05-fa39-4855-059b-67221c5c2f63', secretId: SECRET_ID, namespace: 'ns1', token: { ttl: 3600 } });
    t = await startTestServer((config) => {
      config.keystore = {
        type: 'vault',
        endpoint: fake.url,
        engine: 'kv',
        version: 'v2',
        namespace: 'ns1',
        prefix: 'tenant-1',
        approle: { engine: 'approle', id: 'db02de05-fa39-4855-059b-67221c5c2f63', secret: SECRET_ID },
        statusPingMs: 60_000,
      };
      config.keys = ['declared-key'];
    });
    c = t.client();
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  test('keys are created as KV v2 secrets in KES layout, and used', async () => {
    assert.equal((await c.request('POST', '/v1/key/create/app-key')).status, 200);
    const stored = fake.getSecret('kv', 'tenant-1/app-key', 'ns1');
    assert.deepEqual(Object.keys(stored ?? {}), ['app-key']);
    assert.equal(parseKeyVersion(Buffer.from(stored!['app-key'] as string)).createdBy, t.admin.identity);
    assert.equal((await c.request('POST', '/v1/key/create/app-key')).status, 400);

    const enc = await c.request('PUT', '/v1/key/encrypt/app-key', { plaintext: b64('hello'), context: b64('ctx') });
    const dec = await c.request('PUT', '/v1/key/decrypt/app-key', { ciphertext: enc.json().ciphertext, context: b64('ctx') });
    assert.equal(Buffer.from(dec.json().plaintext, 'base64').toString(), 'hello');
    assert.ok(fake.getSecret('kv', 'tenant-1/declared-key', 'ns1'), 'the declared key was created at start');
    assert.deepEqual((await c.request('GET', '/v1/key/list/*')).json(), { names: ['app-key', 'declared-key'] });
  });

  test('a key written by KES into Vault is described and used', async () => {
    fake.putSecret('kv', 'tenant-1/from-kes', { 'from-kes': PROTOBUF_ENTRY }, 'ns1');
    const r = await c.request('GET', '/v1/key/describe/from-kes');
    assert.equal(r.status, 200);
    assert.equal(r.json().created_by, PROTOBUF_ENTRY_FIELDS.createdBy);
    assert.equal(r.json().created_at, PROTOBUF_ENTRY_FIELDS.createdAt);
    const dek = await c.request('POST', '/v1/key/generate/from-kes');
    assert.equal(dek.status, 200);
    const dec = await c.request('PUT', '/v1/key/decrypt/from-kes', { ciphertext: dek.json().ciphertext });
    assert.equal(dec.json().plaintext, dek.json().plaintext);
  });

  test('delete removes every version', async () => {
    await c.request('POST', '/v1/key/create/short-lived');
    assert.equal((await c.request('DELETE', '/v1/key/delete/short-lived')).status, 200);
    assert.equal(fake.secretVersions('kv', 'tenant-1/short-lived', 'ns1'), undefined);
    assert.equal((await c.request('DELETE', '/v1/key/delete/short-lived')).status, 404);
  });

  test('ready and status: 504 while Vault is sealed, 502 for a broken health answer', async () => {
    assert.equal((await c.request('GET', '/v1/ready')).status, 200);
    assert.ok((await c.request('GET', '/v1/status')).json().keystore_latency > 0);
    fake.seal();
    try {
      assert.equal((await c.request('GET', '/v1/ready')).status, 504);
      assert.equal((await c.request('GET', '/v1/status')).json().keystore_unreachable, true);
      const created = await c.request('POST', '/v1/key/create/while-sealed');
      assert.equal(created.status, 502);
    } finally {
      fake.unseal();
    }
    assert.equal((await c.request('GET', '/v1/ready')).status, 200);
    fake.failNext(1, 500, [], /sys\/health/);
    assert.equal((await c.request('GET', '/v1/ready')).status, 502);
    assert.equal((await c.request('POST', '/v1/key/create/after-unseal')).status, 200);
    assert.match(t.stderr(), /vault: key store is sealed/);
    assert.ok(!t.stderr().includes(SECRET_ID), 'the AppRole secret is not logged');
  });
});
