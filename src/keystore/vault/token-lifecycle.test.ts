import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VaultConfig } from './config.js';
import { KeyStoreUnreachableError } from '../keystore.js';
import { FakeVault, type RecordedRequest, type TokenSpec } from '../../../test/helpers/fake-vault.js';
import { VaultKeyStore } from './vault.js';

const SECRET_ID = 'secret-id-0f9e8d7c';
const LOGIN = /^\/v1\/auth\/approle\/login$/;
const RENEW = /^\/v1\/auth\/token\/renew-self$/;

let roles = 0;

/** A fresh AppRole on the fake whose tokens follow spec, and a store logged in with it. */
async function appRoleStore(fake: FakeVault, token: TokenSpec, overrides: Partial<VaultConfig> = {}): Promise<{ store: VaultKeyStore; roleId: string }> {
  const roleId = `role-${roles++}`;
  fake.addAppRole({ roleId, secretId: SECRET_ID, token });
  const store = await VaultKeyStore.connect(
    { type: 'vault', endpoint: fake.url, engine: 'kv', version: 'v1', prefix: roleId, approle: { engine: 'approle', id: roleId, secret: SECRET_ID }, statusPingMs: 60_000, ...overrides },
    { retryMs: 50 },
  );
  return { store, roleId };
}

const isLoginOf = (roleId: string) => (r: RecordedRequest) => LOGIN.test(r.path) && (r.body as { role_id?: string }).role_id === roleId;
const loginsOf = (fake: FakeVault, roleId: string) => fake.requests.filter(isLoginOf(roleId));
/** The token the last KV request under prefix carried. */
const lastKvToken = (fake: FakeVault, prefix: string) => fake.requests.filter((r) => r.path.startsWith(`/v1/kv/${prefix}/`)).at(-1)!.token;
const k8sLogins = (fake: FakeVault, role: string) => fake.requestsTo(/^\/v1\/auth\/kubernetes\/login$/).filter((r) => (r.body as { role?: string }).role === role);

// The tests run concurrently: each has its own role, prefix and token.
describe('VaultKeyStore: authentication and token lifecycle', { concurrency: true }, () => {
  let fake: FakeVault;
  let dir: string;
  before(async () => {
    fake = await FakeVault.start();
    dir = mkdtempSync(join(tmpdir(), 'kes-vault-'));
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('AppRole: logs in with role_id and secret_id and uses the token it gets', async () => {
    const { store, roleId } = await appRoleStore(fake, {});
    try {
      const [login] = loginsOf(fake, roleId);
      assert.deepEqual(login?.body, { role_id: roleId, secret_id: SECRET_ID });
      assert.equal(login?.token, undefined);
      await store.create('k', Buffer.from('v'));
      assert.match(lastKvToken(fake, roleId) ?? '', /^hvs\./);
    } finally {
      await store.close();
    }
  });

  test('renews the token with renew-self before its TTL ends and keeps using it', async () => {
    const { store, roleId } = await appRoleStore(fake, { ttl: 1, renewable: true });
    try {
      await store.create('k', Buffer.from('v'));
      const token = lastKvToken(fake, roleId);
      // Two renewals of a 1 s token: the token outlives its first TTL.
      await fake.waitForRequests((r) => RENEW.test(r.path) && r.token === token, 2);
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
      assert.equal(lastKvToken(fake, roleId), token);
      assert.equal(loginsOf(fake, roleId).length, 1, 'no new login');
    } finally {
      await store.close();
    }
  });

  test('logs in again when a renewal is refused (token revoked)', async () => {
    const { store, roleId } = await appRoleStore(fake, { ttl: 1, renewable: true });
    try {
      await store.create('k', Buffer.from('v'));
      const first = lastKvToken(fake, roleId)!;
      fake.revoke(first);
      await fake.waitForRequests(isLoginOf(roleId), 2);
      assert.equal(loginsOf(fake, roleId).length, 2);
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
      assert.notEqual(lastKvToken(fake, roleId), first);
    } finally {
      await store.close();
    }
  });

  test('logs in again when renewals stop extending the token (max TTL reached)', async () => {
    const { store, roleId } = await appRoleStore(fake, { ttl: 1, maxTtl: 1, renewable: true });
    try {
      await store.create('k', Buffer.from('v'));
      const first = lastKvToken(fake, roleId);
      await fake.waitForRequests(isLoginOf(roleId), 2);
      assert.ok(loginsOf(fake, roleId).length >= 2);
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
      assert.notEqual(lastKvToken(fake, roleId), first);
    } finally {
      await store.close();
    }
  });

  test('a token that is not renewable is replaced by a new login before it expires', async () => {
    const { store, roleId } = await appRoleStore(fake, { ttl: 1, renewable: false });
    try {
      await store.create('k', Buffer.from('v'));
      const first = lastKvToken(fake, roleId);
      await fake.waitForRequests(isLoginOf(roleId), 2);
      assert.equal(fake.requestsTo(RENEW).filter((r) => r.token === first).length, 0, 'no renewal attempted');
    } finally {
      await store.close();
    }
  });

  test('a 403 (token revoked) makes the store log in once and retry the operation', async () => {
    const { store, roleId } = await appRoleStore(fake, {});
    try {
      await store.create('k', Buffer.from('v'));
      fake.revoke(lastKvToken(fake, roleId));
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
      assert.equal(loginsOf(fake, roleId).length, 2);
    } finally {
      await store.close();
    }
  });

  test('a 403 that persists after the new login fails the operation (no loop)', async () => {
    const { store, roleId } = await appRoleStore(fake, {});
    try {
      fake.deny(new RegExp(`^kv/${roleId}/`));
      await assert.rejects(store.get('k'), (err: Error) => !(err instanceof KeyStoreUnreachableError) && err.message === "vault: failed to get 'k': 403 permission denied");
      assert.equal(loginsOf(fake, roleId).length, 2, 'exactly one new login');
    } finally {
      fake.deny(undefined);
      await store.close();
    }
  });

  test('concurrent 403s share one login', async () => {
    const { store, roleId } = await appRoleStore(fake, {});
    try {
      await store.create('k', Buffer.from('v'));
      fake.revoke(lastKvToken(fake, roleId));
      await Promise.all(Array.from({ length: 10 }, () => store.get('k')));
      assert.equal(loginsOf(fake, roleId).length, 2);
    } finally {
      await store.close();
    }
  });

  test('static token: renewed with renew-self; a revoked one fails without a login', async () => {
    const token = fake.createToken({ ttl: 2, renewable: true });
    const store = await VaultKeyStore.connect({ type: 'vault', endpoint: fake.url, engine: 'kv', version: 'v1', prefix: 'static', token, statusPingMs: 60_000 }, { retryMs: 50 });
    try {
      assert.ok(fake.requestsTo(/lookup-self/).some((r) => r.token === token));
      await fake.waitForRequests((r) => RENEW.test(r.path) && r.token === token, 2);
      await store.create('k', Buffer.from('v'));
      assert.equal(lastKvToken(fake, 'static'), token);
      fake.revoke(token);
      const reads = fake.requestsTo(/^\/v1\/kv\/static\/k$/).length;
      await assert.rejects(store.get('k'), /^Error: vault: failed to get 'k': 403 permission denied$/);
      assert.equal(fake.requestsTo(/^\/v1\/kv\/static\/k$/).length, reads + 1, 'no retry: a static token cannot be replaced');
    } finally {
      await store.close();
    }
  });

  test('static root token: no renewals (TTL 0)', async () => {
    const store = await VaultKeyStore.connect({ type: 'vault', endpoint: fake.url, engine: 'kv', version: 'v1', prefix: 'root', token: fake.rootToken, statusPingMs: 60_000 });
    try {
      await store.create('k', Buffer.from('v'));
      assert.equal(lastKvToken(fake, 'root'), fake.rootToken);
    } finally {
      await store.close();
    }
  });

  test('Kubernetes: reads the service account token file at every login', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'jwt-one\n');
    fake.addKubernetesRole({ role: 'kes', jwt: 'jwt-one' });
    const store = await VaultKeyStore.connect(
      { type: 'vault', endpoint: fake.url, engine: 'kv', version: 'v1', prefix: 'k8s', kubernetes: { engine: 'kubernetes', role: 'kes', jwt: file }, statusPingMs: 60_000 },
      { retryMs: 50 },
    );
    try {
      assert.deepEqual(k8sLogins(fake, 'kes').at(-1)!.body, { role: 'kes', jwt: 'jwt-one' });
      await store.create('k', Buffer.from('v'));
      // Kubernetes rotates the token; the old one stops working.
      writeFileSync(file, 'jwt-two');
      fake.rotateKubernetesJwt('kes', 'jwt-two');
      fake.revoke(lastKvToken(fake, 'k8s'));
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
      assert.deepEqual(k8sLogins(fake, 'kes').at(-1)!.body, { role: 'kes', jwt: 'jwt-two' });
    } finally {
      await store.close();
    }
  });

  test('Kubernetes: an inline JWT is sent as it is', async () => {
    fake.addKubernetesRole({ role: 'inline', jwt: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' });
    const store = await VaultKeyStore.connect({
      type: 'vault',
      endpoint: fake.url,
      engine: 'kv',
      version: 'v1',
      kubernetes: { engine: 'kubernetes', role: 'inline', jwt: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' },
      statusPingMs: 60_000,
    });
    await store.close();
    assert.deepEqual(k8sLogins(fake, 'inline').at(-1)!.body, { role: 'inline', jwt: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' });
  });

  test('refused credentials fail the connect; the message names the method, not the secret', async () => {
    const err = await VaultKeyStore.connect({
      type: 'vault',
      endpoint: fake.url,
      engine: 'kv',
      version: 'v1',
      approle: { engine: 'approle', id: 'nobody', secret: 'wrong-secret-1234' },
      statusPingMs: 60_000,
    }).then(
      () => assert.fail('connected'),
      (e: Error) => e,
    );
    assert.equal(err.message, 'vault: approle authentication failed: 400 approle login failed; invalid role or secret ID');
    assert.ok(!err.message.includes('wrong-secret-1234'));
  });
});

describe('VaultKeyStore: namespaces', () => {
  let fake: FakeVault;
  before(async () => {
    fake = await FakeVault.start({
      mounts: [
        { path: 'kv', type: 'kv-v1', namespace: 'tenant' },
        { path: 'approle', type: 'approle', namespace: 'tenant' },
        { path: 'approle', type: 'approle', namespace: 'auth-ns' },
      ],
    });
  });
  after(() => fake.close());

  const cases: Array<{ title: string; authNamespace?: string; loginNamespace: string | undefined; roleNamespace: string }> = [
    { title: 'the login goes to the store namespace by default', authNamespace: undefined, loginNamespace: 'tenant', roleNamespace: 'tenant' },
    { title: 'an auth namespace of "/" logs in at the root namespace', authNamespace: '/', loginNamespace: undefined, roleNamespace: '' },
  ];
  for (const c of cases) {
    test(`${c.title}; KV requests carry X-Vault-Namespace, the health check does not`, async () => {
      const roleId = `ns-role-${roles++}`;
      fake.addAppRole({ roleId, secretId: SECRET_ID, namespace: c.roleNamespace });
      const store = await VaultKeyStore.connect({
        type: 'vault',
        endpoint: fake.url,
        engine: 'kv',
        version: 'v1',
        namespace: 'tenant',
        approle: { engine: 'approle', id: roleId, secret: SECRET_ID, ...(c.authNamespace === undefined ? {} : { namespace: c.authNamespace }) },
        statusPingMs: 60_000,
      });
      try {
        assert.equal(fake.requestsTo(LOGIN).at(-1)!.namespace, c.loginNamespace);
        await store.create(`k-${roleId}`, Buffer.from('v'));
        assert.equal(fake.requestsTo(/^\/v1\/kv\//).at(-1)!.namespace, 'tenant');
        assert.ok(fake.getSecret('kv', `k-${roleId}`, 'tenant'));
        await store.status();
        assert.equal(fake.requestsTo(/sys\/health/).at(-1)!.namespace, undefined);
      } finally {
        await store.close();
      }
    });
  }

  test('a tenant token cannot reach another namespace: the login namespace matters', async () => {
    fake.addAppRole({ roleId: 'elsewhere', secretId: SECRET_ID, namespace: 'auth-ns' });
    const store = await VaultKeyStore.connect({
      type: 'vault',
      endpoint: fake.url,
      engine: 'kv',
      version: 'v1',
      namespace: 'tenant',
      approle: { engine: 'approle', id: 'elsewhere', secret: SECRET_ID, namespace: 'auth-ns' },
      statusPingMs: 60_000,
    });
    try {
      assert.equal(fake.requestsTo(LOGIN).at(-1)!.namespace, 'auth-ns');
      await assert.rejects(store.get('k'), /403 permission denied/);
    } finally {
      await store.close();
    }
  });
});
