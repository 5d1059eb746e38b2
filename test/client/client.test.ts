/** The SDK against a real server over mTLS: every method, API-key authentication, errors. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KesClient, ConnectionError, isKesError, ApiKey } from '../../src/client/index.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

describe('KesClient', () => {
  let t: TestServer;
  let kes: KesClient;
  const adminKey = ApiKey.generate();
  const appKey = ApiKey.generate();

  before(async () => {
    t = await startTestServer((config) => {
      config.admin = adminKey.identity;
      config.policies = { app: { allow: ['/v1/key/generate/app-*', '/v1/key/decrypt/app-*'], deny: [], identities: [appKey.identity] } };
    });
    kes = new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: adminKey, ca: t.pki.ca.certPem });
  });
  after(async () => {
    kes.close();
    await t.close();
  });

  test('API-key authentication: the identity is the API key\'s', async () => {
    assert.equal(kes.identity, adminKey.identity);
    const self = await kes.describeSelf();
    assert.equal(self.identity, adminKey.identity);
    assert.equal(self.isAdmin, true);
  });

  test('server methods: version, status, isReady, apis, metrics', async () => {
    assert.match(await kes.version(), /^\d+\.\d+\.\d+/);
    const s = await kes.status();
    assert.equal(s.keyStoreUnreachable, false);
    assert.ok(s.keyStoreLatencyNs! > 0);
    assert.ok(s.cpus > 0);
    assert.equal(await kes.isReady(), true);
    const apis = await kes.apis();
    assert.deepEqual(apis.find((a) => a.path === '/v1/key/generate/'), { method: 'PUT', path: '/v1/key/generate/', maxBody: 1_000_000, timeout: 15 });
    await kes.createKey('metric-key').catch(() => undefined);
    const m = await kes.metrics();
    assert.ok(m.requestOK + m.requestErr > 0);
    assert.ok(m.latency.get(10)! >= 1);
    assert.ok(m.upTime > 0);
  });

  test('key methods: create, describe, list, generate, encrypt, decrypt, hmac, import, delete', async () => {
    await kes.createKey('sdk-key');
    const info = await kes.describeKey('sdk-key');
    assert.equal(info.name, 'sdk-key');
    assert.equal(info.algorithm, 'AES256');
    assert.equal(info.createdBy, adminKey.identity);
    assert.ok(Math.abs(info.createdAt.getTime() - Date.now()) < 60_000);

    const context = Buffer.from('bucket/object');
    const dek = await kes.generateKey('sdk-key', context);
    assert.equal(dek.plaintext.length, 32);
    assert.deepEqual(await kes.decrypt('sdk-key', dek.ciphertext, context), dek.plaintext);

    const ct = await kes.encrypt('sdk-key', Buffer.from('hello'), context);
    assert.equal((await kes.decrypt('sdk-key', ct, context)).toString(), 'hello');
    assert.equal((await kes.hmac('sdk-key', Buffer.from('m'))).length, 32);

    await kes.importKey('sdk-imported', Buffer.alloc(32, 7), 'ChaCha20');
    assert.equal((await kes.describeKey('sdk-imported')).algorithm, 'ChaCha20');

    const names: string[] = [];
    for await (const n of kes.listKeys('sdk-')) names.push(n);
    assert.deepEqual(names, ['sdk-imported', 'sdk-key']);
    const all: string[] = [];
    for await (const n of kes.listKeys()) all.push(n);
    assert.ok(all.includes('sdk-key'));

    await kes.deleteKey('sdk-imported');
    await assert.rejects(kes.describeKey('sdk-imported'), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND') && e.status === 404);
  });

  test('policy and identity methods', async () => {
    assert.equal((await kes.describePolicy('app')).createdBy, adminKey.identity);
    const p = await kes.getPolicy('app');
    assert.deepEqual(p.allow, ['/v1/key/generate/app-*', '/v1/key/decrypt/app-*']);
    assert.deepEqual(p.deny, []);
    const policies: string[] = [];
    for await (const n of kes.listPolicies()) policies.push(n);
    assert.deepEqual(policies, ['app']);
    const id = await kes.describeIdentity(appKey.identity);
    assert.deepEqual([id.policy, id.isAdmin], ['app', false]);
    const ids: string[] = [];
    for await (const n of kes.listIdentities()) ids.push(n);
    assert.deepEqual(ids, [adminKey.identity, appKey.identity].sort());
  });

  test('errors carry codes mapped from (status, message)', async () => {
    await kes.createKey('err-key').catch(() => undefined);
    const app = new KesClient({ endpoints: `https://127.0.0.1:${t.port}`, apiKey: appKey.toString(), ca: t.pki.ca.certPem });
    const cases: [Promise<unknown>, string, number][] = [
      [kes.createKey('err-key'), 'KES_ERR_KEY_EXISTS', 400],
      [kes.describeKey('nope'), 'KES_ERR_KEY_NOT_FOUND', 404],
      [kes.decrypt('err-key', Buffer.alloc(60)), 'KES_ERR_DECRYPT', 400],
      [kes.describePolicy('nope'), 'KES_ERR_POLICY_NOT_FOUND', 404],
      [kes.describeIdentity('0'.repeat(64)), 'KES_ERR_IDENTITY_NOT_FOUND', 404],
      [kes.importKey('bad-size', Buffer.alloc(16)), 'KES_ERR_INVALID_KEY_SIZE', 406],
      [app.createKey('app-x'), 'KES_ERR_NOT_ALLOWED', 403],
      [kes.describeKey('bad.name'), 'KES_ERR_INVALID_NAME', 400],
    ];
    for (const [promise, code, status] of cases) {
      await assert.rejects(promise, (e) => isKesError(e) && e.code === code && e.status === status, code);
    }
    app.close();
  });

  test('an application with a policy generates and decrypts data keys', async () => {
    await kes.createKey('app-key');
    const app = new KesClient({ endpoints: [`127.0.0.1:${t.port}`], apiKey: appKey, ca: t.pki.ca.certPem });
    const dek = await app.generateKey('app-key');
    assert.deepEqual(await app.decrypt('app-key', dek.ciphertext), dek.plaintext);
    app.close();
  });

  test('the audit log is an async iterator; aborting ends it', async () => {
    const controller = new AbortController();
    const events = kes.auditLog({ signal: controller.signal })[Symbol.asyncIterator]();
    const first = events.next();
    await new Promise((r) => setTimeout(r, 50));
    await kes.createKey('audited-by-sdk');
    const { value } = await first;
    assert.equal(value!.request.path, '/v1/key/create/audited-by-sdk');
    assert.equal(value!.request.identity, adminKey.identity);
    assert.equal(value!.response.code, 200);
    assert.ok(value!.time instanceof Date);
    controller.abort();
    const end = await events.next().catch((e) => ({ done: true, error: e }));
    assert.equal(end.done, true);
  });

  test('a request can be cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(kes.version({ signal: controller.signal }), (e: Error) => e.name === 'AbortError');
  });

  test('an untrusted server certificate is a ConnectionError naming the cause', async () => {
    const strict = new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: adminKey });
    await assert.rejects(strict.version(), (e) => e instanceof ConnectionError && /UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i.test(e.message));
    strict.close();
    const insecure = new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: adminKey, insecureSkipVerify: true });
    assert.match(await insecure.version(), /^\d/);
    insecure.close();
  });

  test('certificate + key authentication', async () => {
    const c = new KesClient({ endpoints: `127.0.0.1:${t.port}`, cert: t.admin.certPem, key: t.admin.keyPem, ca: t.pki.ca.certPem });
    await assert.rejects(c.status(), (e) => isKesError(e, 'KES_ERR_NOT_ALLOWED'), 'the PKI admin is not this server\'s admin');
    assert.match(await c.version(), /^\d/);
    c.close();
  });
});
