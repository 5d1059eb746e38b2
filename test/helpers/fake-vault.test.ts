/** The fake follows Vault's documented API where the store relies on it. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { FakeVault } from './fake-vault.js';

interface Answer {
  status: number;
  body: any;
}

function call(fake: FakeVault, method: string, path: string, options: { token?: string; namespace?: string; body?: unknown } = {}): Promise<Answer> {
  const url = new URL(path, fake.url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = {};
  if (options.token) headers['x-vault-token'] = options.token;
  if (options.namespace) headers['x-vault-namespace'] = options.namespace;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('FakeVault', () => {
  let fake: FakeVault;
  before(async () => {
    fake = await FakeVault.start();
  });
  after(() => fake.close());

  test('sys/health: the documented status codes', async () => {
    const cases: Array<[Partial<FakeVault>, string, number]> = [
      [{}, '', 200],
      [{ standby: true }, '', 429],
      [{ standby: true }, '?standbyok=true', 200],
      [{ drSecondary: true }, '', 472],
      [{ performanceStandby: true }, '', 473],
      [{ performanceStandby: true }, '?perfstandbyok=true', 200],
      [{ initialized: false }, '', 501],
      [{ sealed: true }, '', 503],
    ];
    for (const [i, [state, query, status]] of cases.entries()) {
      Object.assign(fake, { standby: false, drSecondary: false, performanceStandby: false, initialized: true, sealed: false }, state);
      const r = await call(fake, 'GET', `/v1/sys/health${query}`);
      assert.equal(r.status, status, `case ${i}`);
      assert.equal(r.body.sealed, !fake.initialized || fake.sealed, `case ${i}`);
    }
    Object.assign(fake, { initialized: true, sealed: false });
  });

  test('sealed: every other request is 503 "Vault is sealed"', async () => {
    fake.seal();
    try {
      assert.deepEqual(await call(fake, 'GET', '/v1/kv/x', { token: fake.rootToken }), { status: 503, body: { errors: ['Vault is sealed'] } });
    } finally {
      fake.unseal();
    }
  });

  test('KV v1: write, read, LIST as a method and as GET ?list=true, 404 for empty folders', async () => {
    const token = fake.rootToken;
    assert.equal((await call(fake, 'PUT', '/v1/kv/app/a', { token, body: { a: '1' } })).status, 204);
    assert.equal((await call(fake, 'POST', '/v1/kv/app/sub/b', { token, body: { b: '2' } })).status, 204);
    assert.deepEqual((await call(fake, 'GET', '/v1/kv/app/a', { token })).body.data, { a: '1' });
    assert.deepEqual((await call(fake, 'LIST', '/v1/kv/app', { token })).body.data, { keys: ['a', 'sub/'] });
    assert.deepEqual((await call(fake, 'GET', '/v1/kv/app/?list=true', { token })).body.data, { keys: ['a', 'sub/'] });
    assert.deepEqual(await call(fake, 'LIST', '/v1/kv/none', { token }), { status: 404, body: { errors: [] } });
    assert.deepEqual(await call(fake, 'GET', '/v1/kv/app/missing', { token }), { status: 404, body: { errors: [] } });
    assert.equal((await call(fake, 'DELETE', '/v1/kv/app/missing', { token })).status, 204);
  });

  test('KV v2: versions, check-and-set, soft deletes and metadata', async () => {
    const token = fake.rootToken;
    const write = (cas: number | undefined, v: string) => call(fake, 'PUT', '/v1/kv2/data/s', { token, body: { ...(cas === undefined ? {} : { options: { cas } }), data: { s: v } } });
    assert.equal((await write(0, 'one')).body.data.version, 1);
    assert.deepEqual((await write(0, 'again')).body, { errors: ['check-and-set parameter did not match the current version'] });
    assert.equal((await write(1, 'two')).body.data.version, 2);
    assert.equal((await write(undefined, 'three')).body.data.version, 3);
    assert.deepEqual((await call(fake, 'GET', '/v1/kv2/data/s', { token })).body.data.data, { s: 'three' });
    assert.deepEqual((await call(fake, 'GET', '/v1/kv2/data/s?version=1', { token })).body.data.data, { s: 'one' });
    assert.equal((await call(fake, 'DELETE', '/v1/kv2/data/s', { token })).status, 204);
    const deleted = await call(fake, 'GET', '/v1/kv2/data/s', { token });
    assert.equal(deleted.status, 404);
    assert.equal(deleted.body.data.data, null);
    assert.equal(deleted.body.data.metadata.version, 3);
    assert.notEqual(deleted.body.data.metadata.deletion_time, '');
    assert.equal((await call(fake, 'GET', '/v1/kv2/metadata/s', { token })).body.data.current_version, 3);
    assert.deepEqual((await call(fake, 'LIST', '/v1/kv2/metadata/', { token })).body.data.keys, ['s']);
    assert.equal((await call(fake, 'DELETE', '/v1/kv2/metadata/s', { token })).status, 204);
    assert.equal((await call(fake, 'GET', '/v1/kv2/data/s', { token })).status, 404);
  });

  test('KV v2 check-and-set: only the current version matches; a refused write changes nothing', async () => {
    const token = fake.rootToken;
    const write = (cas: number, v: string) => call(fake, 'PUT', '/v1/kv2/data/cas', { token, body: { options: { cas }, data: { cas: v } } });
    const mismatch = { status: 400, body: { errors: ['check-and-set parameter did not match the current version'] } };
    assert.deepEqual(await write(1, 'too early'), mismatch);
    assert.equal((await call(fake, 'GET', '/v1/kv2/metadata/cas', { token })).status, 404, 'no metadata was created');
    assert.equal((await write(0, 'one')).body.data.version, 1);
    assert.equal((await write(1, 'two')).body.data.version, 2);
    assert.deepEqual(await write(1, 'stale'), mismatch);
    const read = await call(fake, 'GET', '/v1/kv2/data/cas', { token });
    assert.deepEqual([read.body.data.data, read.body.data.metadata.version], [{ cas: 'two' }, 2]);
    // A soft-deleted current version keeps its number: cas 0 fails, cas = that number writes.
    await call(fake, 'DELETE', '/v1/kv2/data/cas', { token });
    assert.deepEqual(await write(0, 'absent?'), mismatch);
    assert.equal((await write(2, 'three')).body.data.version, 3);
  });

  test('OpenBao pagination: after is exclusive, limit bounds the page', async () => {
    const token = fake.rootToken;
    for (const name of ['p1', 'p2', 'p3', 'p4']) await call(fake, 'PUT', `/v1/kv/paged/${name}`, { token, body: { [name]: 'x' } });
    fake.paginate = true;
    try {
      assert.deepEqual((await call(fake, 'LIST', '/v1/kv/paged/?after=p1&limit=2', { token })).body.data.keys, ['p2', 'p3']);
    } finally {
      fake.paginate = false;
    }
    assert.deepEqual((await call(fake, 'LIST', '/v1/kv/paged/?after=p1&limit=2', { token })).body.data.keys, ['p1', 'p2', 'p3', 'p4']);
  });

  test('tokens: TTLs in seconds, renew-self, lookup-self, 403 after revocation, namespaces', async () => {
    const token = fake.createToken({ ttl: 60, namespace: 'team' });
    const lookup = await call(fake, 'GET', '/v1/auth/token/lookup-self', { token, namespace: 'team' });
    assert.equal(lookup.body.data.renewable, true);
    assert.ok(lookup.body.data.ttl > 58 && lookup.body.data.ttl <= 60);
    const renewed = await call(fake, 'POST', '/v1/auth/token/renew-self', { token, namespace: 'team', body: {} });
    assert.deepEqual([renewed.body.auth.client_token, renewed.body.auth.lease_duration], [token, 60]);
    assert.equal((await call(fake, 'GET', '/v1/auth/token/lookup-self', { token })).status, 403, 'not valid in the root namespace');
    fake.revoke(token);
    assert.deepEqual(await call(fake, 'GET', '/v1/auth/token/lookup-self', { token, namespace: 'team' }), { status: 403, body: { errors: ['permission denied'] } });
  });

  test('transit: vault:v<N>: ciphertexts round trip; tampering fails', async () => {
    const token = fake.rootToken;
    const enc = await call(fake, 'POST', '/v1/transit/encrypt/k', { token, body: { plaintext: Buffer.from('hi').toString('base64') } });
    assert.match(enc.body.data.ciphertext, /^vault:v1:/);
    const dec = await call(fake, 'POST', '/v1/transit/decrypt/k', { token, body: { ciphertext: enc.body.data.ciphertext } });
    assert.equal(Buffer.from(dec.body.data.plaintext, 'base64').toString(), 'hi');
    const tampered = enc.body.data.ciphertext.slice(0, -4) + 'AAA=';
    assert.equal((await call(fake, 'POST', '/v1/transit/decrypt/k', { token, body: { ciphertext: tampered } })).status, 400);
  });
});
