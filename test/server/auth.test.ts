/** Identities, policies and authorization over real mTLS (protocol.md §2, §3, §6.15, §6.16). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestCert } from '../helpers/certs.js';
import { http2Client, httpsClient } from '../helpers/https-client.js';

describe('authorization', () => {
  let t: TestServer;
  let app: TestCert; // assigned to policy 'minio'
  let reader: TestCert; // assigned to policy 'reader'
  let stranger: TestCert; // no policy
  before(async () => {
    t = await startTestServer((config, pki) => {
      app = pki.client({ commonName: 'minio' });
      reader = pki.client({ commonName: 'reader', keyType: 'ec' });
      stranger = pki.client({ commonName: 'stranger' });
      config.policies = {
        minio: {
          allow: ['/v1/status', '/v1/ready', '/v1/key/create/*', '/v1/key/generate/*', '/v1/key/decrypt/*', '/v1/key/describe/*'],
          deny: ['/v1/key/decrypt/internal*'],
          identities: [app.identity],
        },
        reader: { allow: ['/v1/key/list/*', '/v1/policy/*', '/v1/identity/*'], deny: [], identities: [reader.identity] },
        empty: { allow: [], deny: [], identities: [] },
      };
    });
  });
  after(() => t.close());

  const denied = '{"message":"not authorized: insufficient permissions"\n}';

  test('an identity may do what its policy allows and nothing else', async () => {
    const c = t.client(app);
    assert.equal((await c.request('POST', '/v1/key/create/app-key')).status, 200);
    const gen = await c.request('POST', '/v1/key/generate/app-key', { context: 'e30=' });
    assert.equal(gen.status, 200);
    assert.equal((await c.request('POST', '/v1/key/decrypt/app-key', { ciphertext: gen.json().ciphertext, context: 'e30=' })).status, 200);
    assert.equal((await c.request('GET', '/v1/status')).status, 200);
    for (const [method, path] of [
      ['DELETE', '/v1/key/delete/app-key'],
      ['PUT', '/v1/key/encrypt/app-key'],
      ['GET', '/v1/key/list/*'],
      ['GET', '/v1/metrics'],
      ['GET', '/v1/policy/list/*'],
    ] as const) {
      const r = await c.request(method, path, method === 'PUT' ? { plaintext: 'AA==' } : undefined);
      assert.deepEqual([r.status, r.body], [403, denied], path);
    }
  });

  test('deny wins over allow', async () => {
    await t.client().request('POST', '/v1/key/create/internal-key');
    const r = await t.client(app).request('POST', '/v1/key/decrypt/internal-key', { ciphertext: 'AA==' });
    assert.deepEqual([r.status, r.body], [403, denied]);
  });

  test('an unknown identity is 403; the admin may do everything', async () => {
    const r = await t.client(stranger).request('GET', '/v1/status');
    assert.deepEqual([r.status, r.body], [403, denied]);
    assert.equal((await t.client().request('GET', '/v1/metrics')).status, 200);
    assert.equal((await t.client().request('DELETE', '/v1/key/delete/internal-key')).status, 200);
  });

  test('policy describe, read and list', async () => {
    const c = t.client(reader);
    let r = await c.request('GET', '/v1/policy/describe/minio');
    const d = r.json();
    assert.deepEqual(Object.keys(d), ['name', 'created_at', 'created_by']);
    assert.equal(d.name, 'minio');
    assert.equal(d.created_by, t.admin.identity);
    assert.match(d.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);

    r = await c.request('GET', '/v1/policy/read/minio');
    assert.deepEqual(r.json().allow, Object.fromEntries(['/v1/status', '/v1/ready', '/v1/key/create/*', '/v1/key/generate/*', '/v1/key/decrypt/*', '/v1/key/describe/*'].map((p) => [p, {}])));
    assert.deepEqual(r.json().deny, { '/v1/key/decrypt/internal*': {} });
    r = await c.request('GET', '/v1/policy/read/empty');
    assert.deepEqual(Object.keys(r.json()), ['name', 'created_at', 'created_by']);

    r = await c.request('GET', '/v1/policy/list/*');
    assert.deepEqual(r.json().names, ['empty', 'minio', 'reader']);
    r = await c.request('GET', '/v1/policy/list/mi*');
    assert.deepEqual(r.json().names, ['minio']);
    r = await c.request('GET', '/v1/policy/describe/none');
    assert.deepEqual([r.status, r.json().message], [404, 'policy does not exist']);
    r = await c.request('GET', '/v1/policy/describe/bad.name');
    assert.deepEqual([r.status, r.json().message], [400, "policy name 'bad.name' is empty, too long or contains invalid characters"]);
  });

  test('identity describe and list', async () => {
    const c = t.client(reader);
    let r = await c.request('GET', `/v1/identity/describe/${app.identity}`);
    assert.deepEqual(Object.keys(r.json()), ['policy', 'created_at', 'created_by']);
    assert.equal(r.json().policy, 'minio');
    r = await c.request('GET', `/v1/identity/describe/${t.admin.identity}`);
    assert.deepEqual(Object.keys(r.json()), ['admin', 'created_at']);
    assert.equal(r.json().admin, true);
    r = await c.request('GET', `/v1/identity/describe/${stranger.identity}`);
    assert.deepEqual([r.status, r.json().message], [404, 'identity does not exist']);
    r = await c.request('GET', '/v1/identity/list/');
    assert.deepEqual(r.json().identities, [app.identity, reader.identity, t.admin.identity].sort());
    r = await c.request('GET', `/v1/identity/list/${app.identity.slice(0, 10)}*`);
    assert.deepEqual(r.json().identities, [app.identity]);
    r = await c.request('GET', '/v1/identity/list/', undefined, { accept: 'application/x-ndjson' });
    const lines = r.body.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.find((l) => l.identity === app.identity)?.policy, 'minio');
    assert.equal(lines.find((l) => l.identity === t.admin.identity)?.admin, true);
  });

  test('self-describe works for every authenticated identity (protocol.md §20.1)', async () => {
    let r = await t.client(app).request('GET', '/v1/identity/self/describe');
    assert.equal(r.status, 200);
    const self = r.json();
    assert.equal(self.identity, app.identity);
    assert.equal(self.policy, 'minio');
    assert.equal(self.policy_name, 'minio');
    assert.ok('/v1/key/generate/*' in self.allow);
    assert.deepEqual(self.deny, { '/v1/key/decrypt/internal*': {} });
    assert.equal(self.created_by, t.admin.identity);
    r = await t.client().request('GET', '/v1/identity/self/describe');
    assert.deepEqual(r.json().admin, true);
    assert.equal(r.json().identity, t.admin.identity);
    // Without a policy it may do nothing else, but it learns its identity.
    r = await t.client(stranger).request('GET', '/v1/identity/self/describe');
    assert.deepEqual([r.status, r.json()], [200, { identity: stranger.identity }]);
    assert.equal((await t.client(stranger).request('GET', '/v1/status')).status, 403);
  });

  test('a client without a certificate gets every request answered 400 tls: client certificate is required (tls.auth: off)', async () => {
    for (const client of [httpsClient(t.port, t.pki.ca.certPem), http2Client(t.port, t.pki.ca.certPem)]) {
      for (const path of ['/version', '/v1/identity/self/describe', '/v1/key/describe/x']) {
        const r = await client.request('GET', path);
        assert.deepEqual([r.status, r.json().message], [400, 'tls: client certificate is required'], path);
      }
      client.close();
    }
    assert.match(t.stderr(), /refusing requests from 127\.0\.0\.1:\d+: tls: client certificate is required/);
  });

  test('a CA certificate is not a client identity', async () => {
    const ca = t.pki.client({ commonName: 'a ca', isCA: true });
    const r = await t.client(ca).request('GET', '/v1/status');
    assert.deepEqual([r.status, r.json().message], [400, 'tls: client certificate is required']);
  });

  test('access denials are logged at debug level only, without secrets', async () => {
    assert.ok(!t.stderr().includes('access denied'), 'INFO threshold hides debug lines');
  });
});

describe('skip_auth', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer((config) => {
      config.api['/v1/status'] = { skipAuth: true };
      config.api['/v1/ready'] = { skipAuth: true };
    });
  });
  after(() => t.close());

  test('listed routes need no certificate; every other route still does', async () => {
    const anon = httpsClient(t.port, t.pki.ca.certPem);
    assert.equal((await anon.request('GET', '/v1/status')).status, 200);
    assert.equal((await anon.request('GET', '/v1/ready')).status, 200);
    assert.equal((await anon.request('GET', '/version')).status, 200);
    const r = await anon.request('GET', '/v1/metrics');
    assert.deepEqual([r.status, r.json().message], [400, 'tls: client certificate is required']);
    anon.close();
    const stranger = t.pki.client({ commonName: 'stranger' });
    assert.equal((await t.client(stranger).request('GET', '/v1/status')).status, 200);
    assert.equal((await t.client(stranger).request('GET', '/v1/metrics')).status, 403);
  });
});
