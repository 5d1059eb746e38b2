import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyControlKeyStore, type KeyControlOptions } from './keycontrol.js';
import type { EntrustConfig } from './config.js';
import { entrustBackend } from './backend.js';
import { isKesError } from '../../api/errors.js';
import { KeyStoreUnreachableError, listAll, type KeyStore } from '../keystore.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { FakeEntrust, type FakeEntrustOptions } from '../../../test/helpers/fake-entrust.js';

const isExists = (e: unknown) => isKesError(e, 'KES_ERR_KEY_EXISTS');
const isNotFound = (e: unknown) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND');
const isUnreachable = (e: unknown) => e instanceof KeyStoreUnreachableError;
const isStoreError = (e: unknown) => e instanceof Error && !isKesError(e) && !isUnreachable(e);

function configFor(fake: FakeEntrust, extra: Partial<EntrustConfig> = {}): EntrustConfig {
  return { type: 'entrust', endpoint: fake.url, vaultId: fake.vaultId, boxId: fake.boxId, username: fake.username, password: fake.password, ...extra };
}

async function open(fakeOptions: FakeEntrustOptions = {}, options: KeyControlOptions = {}) {
  const fake = await FakeEntrust.start(fakeOptions);
  const store = await KeyControlKeyStore.connect(configFor(fake), options);
  return { fake, store, close: async () => (await store.close(), await fake.close()) };
}

describeKeyStore(
  'entrust (fake KeyControl)',
  async () => {
    const { store, fake } = await open({}, { pageSize: 97 });
    return { store, cleanup: () => fake.close() };
  },
  { noReplace: 'KeyControl has no compare-and-swap of a secret', manyKeys: 600 },
);

describe('KeyControlKeyStore requests and KES layout', () => {
  let fake: FakeEntrust;
  let store: KeyStore;
  before(async () => ({ fake, store } = await open()));
  after(async () => (await store.close(), await fake.close()));

  test('connect logs in to the vault, then checks the box; calls carry the token', async () => {
    const [login, getBox] = fake.requests;
    assert.equal(login?.operation, 'Login');
    assert.deepEqual(login?.body, { username: fake.username, password: fake.password });
    assert.equal(login?.token, undefined);
    assert.equal(getBox?.operation, 'GetBox');
    assert.deepEqual(getBox?.body, { box_id: fake.boxId });
    assert.match(getBox?.token ?? '', /^[0-9a-f]{48}$/);
  });

  test('an entry planted as KES writes it is read back byte for byte', async () => {
    // A key version as KES stores it (§8.3), base64 in secret_data as KES's JSON of []byte.
    const entry = Buffer.from('{"bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","algorithm":"AES256","created_at":"2024-01-01T00:00:00Z","created_by":"3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22"}');
    fake.plant('kes-written', entry.toString('base64'));
    assert.deepEqual(Buffer.from(await store.get('kes-written')), entry);
    assert.ok((await listAll(store, 'kes-')).includes('kes-written'));
  });

  test('what the store writes has KES layout: CreateSecret {box_id, name, secret_data: base64}', async () => {
    const value = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x41]);
    await store.create('-key@enclave@k', value);
    const req = fake.requestsOf('CreateSecret').at(-1);
    assert.deepEqual(req?.body, { box_id: fake.boxId, name: '-key@enclave@k', secret_data: value.toString('base64') });
    assert.equal(fake.raw('-key@enclave@k'), value.toString('base64'));
    await store.get('-key@enclave@k');
    assert.deepEqual(fake.requestsOf('CheckoutSecret').at(-1)?.body, { box_id: fake.boxId, secret_id: '-key@enclave@k' });
    await store.delete('-key@enclave@k');
    assert.deepEqual(fake.requestsOf('DeleteSecret').at(-1)?.body, { box_id: fake.boxId, secret_id: '-key@enclave@k' });
  });

  test('every request is a POST with JSON and X-Vault-Auth', () => {
    for (const r of fake.requests) {
      assert.equal(r.method, 'POST', r.operation);
      if (r.operation !== 'Login') assert.ok(r.token, r.operation);
    }
  });

  test('listing skips expired secrets and follows next_token; the first page has none', async () => {
    fake.plant('exp-a', 'eA==');
    fake.plant('exp-b', 'eA==', true);
    fake.plant('exp-c', 'eA==');
    const before = fake.requestsOf('ListSecretIds').length;
    assert.deepEqual(await listAll(store, 'exp-'), ['exp-a', 'exp-c']);
    const calls = fake.requestsOf('ListSecretIds').slice(before);
    assert.equal(calls[0]?.body?.next_token, undefined);
    assert.equal(calls[0]?.body?.max_items, 256);
  });
});

describe('KeyControlKeyStore paging', () => {
  test('pages of max_items with base64 JSON {box_id, next_ctx} tokens, sorted result', async () => {
    const { fake, store, close } = await open({}, { pageSize: 3 });
    try {
      const names = ['b', 'a', '-enclave@x', 'c', 'd', 'e', 'f', 'g'];
      for (const n of names) await store.create(n, Buffer.from(n));
      const before = fake.requestsOf('ListSecretIds').length;
      assert.deepEqual(await listAll(store), [...names].sort());
      const calls = fake.requestsOf('ListSecretIds').slice(before);
      assert.equal(calls.length, 3);
      const token = JSON.parse(Buffer.from(String(calls[1]?.body?.next_token), 'base64').toString()) as unknown;
      assert.deepEqual(token, { box_id: fake.boxId, next_ctx: 'c' });
    } finally {
      await close();
    }
  });
});

describe('KeyControlKeyStore tokens', () => {
  test('the token is renewed at half its lifetime', async () => {
    const { fake, store, close } = await open({ tokenLifetimeMs: 1_000 });
    try {
      await sleep(700);
      assert.equal(fake.requestsOf('Renew').length, 1);
      const renewed = fake.requestsOf('Renew')[0]!;
      assert.equal(renewed.token, fake.requests[1]?.token, 'renewed with the login token');
      await store.create('after-renew', Buffer.from('x'));
      const used = fake.requestsOf('CreateSecret').at(-1)?.token;
      assert.notEqual(used, renewed.token, 'the renewed token is used');
      await sleep(2_200);
      assert.ok(fake.requestsOf('Renew').length >= 3, 'renewed again and again');
      assert.equal(Buffer.from(await store.get('after-renew')).toString(), 'x');
      assert.equal(fake.requestsOf('Login').length, 1);
    } finally {
      await close();
    }
  });

  test('an expiry years away does not renew at once', async () => {
    const { fake, close } = await open({ tokenLifetimeMs: 400 * 24 * 3_600_000 });
    try {
      await sleep(200);
      assert.equal(fake.requestsOf('Renew').length, 0);
    } finally {
      await close();
    }
  });

  test('without an expiry the token is renewed after 2.5 minutes (KES fallback: 5 min lifetime)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const fake = await FakeEntrust.start();
    try {
      // The fake's expiry is replaced by none, as a service that sends no expires_at.
      fake.omitExpiry = true;
      const store = await KeyControlKeyStore.connect(configFor(fake));
      t.mock.timers.tick(149_000);
      assert.equal(fake.requestsOf('Renew').length, 0);
      t.mock.timers.tick(1_000);
      t.mock.timers.reset();
      await sleep(100);
      assert.equal(fake.requestsOf('Renew').length, 1);
      await store.close();
    } finally {
      t.mock.timers.reset();
      await fake.close();
    }
  });

  test('a renewal refused falls back to a login', async () => {
    const { fake, store, close } = await open({ tokenLifetimeMs: 600 });
    try {
      fake.inject('Renew', 401, 'Unauthorized');
      await sleep(450);
      assert.equal(fake.requestsOf('Login').length, 2);
      await store.create('relogged', Buffer.from('x'));
    } finally {
      await close();
    }
  });

  test('an expired token (401) logs in again and retries the call once', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('k', Buffer.from('v'));
      fake.expireTokens();
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
      assert.deepEqual(fake.requests.slice(-3).map((r) => r.operation), ['CheckoutSecret', 'Login', 'CheckoutSecret']);
      // Concurrent calls with an expired token share one login.
      fake.expireTokens();
      const logins = fake.requestsOf('Login').length;
      await Promise.all(Array.from({ length: 5 }, () => store.get('k')));
      assert.equal(fake.requestsOf('Login').length, logins + 1);
      // A 401 that persists after the new login is an error, not a loop.
      fake.inject('CheckoutSecret', 401, 'Unauthorized', 2);
      await assert.rejects(store.get('k'), (e: Error) => isStoreError(e) && e.message === "entrust: failed to get 'k': 401: Unauthorized");
      // A login refused when the token is no longer accepted names the call and the login.
      fake.expireTokens();
      fake.inject('Login', 401, 'Invalid username or password');
      await assert.rejects(store.get('k'), (e: Error) => isStoreError(e) && e.message === "entrust: failed to get 'k': login failed: 401: Invalid username or password");
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v', 'the next call logs in again');
    } finally {
      await close();
    }
  });

  test('wrong credentials, vault or box fail connect with the service error', async () => {
    const fake = await FakeEntrust.start();
    try {
      await assert.rejects(KeyControlKeyStore.connect(configFor(fake, { password: 'wrong' })), (e: Error) => isStoreError(e) && e.message === 'entrust: login failed: 401: Invalid username or password' && !e.message.includes('wrong'));
      await assert.rejects(KeyControlKeyStore.connect(configFor(fake, { vaultId: 'other' })), { message: 'entrust: login failed: 404: Vault not found' });
      await assert.rejects(KeyControlKeyStore.connect(configFor(fake, { boxId: 'other' })), { message: "entrust: failed to check 'other': 404: Box not found" });
      await sleep(50);
      assert.equal(fake.connections, 0, 'failed connects leave no connection');
    } finally {
      await fake.close();
    }
  });
});

describe('KeyControlKeyStore errors', () => {
  let fake: FakeEntrust;
  let store: KeyStore;
  before(async () => {
    ({ fake, store } = await open());
    await store.create('present', Buffer.from('x'));
  });
  after(async () => (await store.close(), await fake.close()));

  test('exists and not found', async () => {
    await assert.rejects(store.create('present', Buffer.from('y')), isExists);
    await assert.rejects(store.get('absent'), isNotFound);
    await assert.rejects(store.delete('absent'), isNotFound);
  });

  test('a 409 or 404 with another message is a store error, not exists / not found', async () => {
    fake.inject('CreateSecret', 409, 'Conflicting operation');
    await assert.rejects(store.create('n', Buffer.from('x')), (e: Error) => isStoreError(e) && e.message === "entrust: failed to create 'n': 409: Conflicting operation");
    fake.inject('CheckoutSecret', 404, 'Box not found');
    await assert.rejects(store.get('present'), isStoreError);
  });

  test('5xx answers are store errors naming the operation', async () => {
    const calls: [string, string, () => Promise<unknown>][] = [
      ['CreateSecret', "create 'new'", () => store.create('new', Buffer.from('x'))],
      ['CheckoutSecret', "get 'present'", () => store.get('present')],
      ['DeleteSecret', "delete 'present'", () => store.delete('present')],
      ['ListSecretIds', "list 'p'", () => listAll(store, 'p')],
      ['GetBox', `check '${fake.boxId}'`, () => store.status()],
    ];
    for (const [operation, what, call] of calls) {
      fake.inject(operation, 500, 'Internal server error');
      await assert.rejects(call(), (e: Error) => isStoreError(e) && e.message === `entrust: failed to ${what}: 500: Internal server error`, operation);
    }
    assert.equal(Buffer.from(await store.get('present')).toString(), 'x');
  });
});

describe('KeyControlKeyStore faults', () => {
  test('a killed service: every call is KeyStoreUnreachableError, quickly; it recovers after restart', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('k', Buffer.from('v'));
      await fake.kill();
      const calls = [() => store.create('n', Buffer.from('x')), () => store.get('k'), () => store.delete('k'), () => listAll(store), () => store.status()];
      for (const call of calls) {
        const start = performance.now();
        await assert.rejects(call(), (e: Error) => isUnreachable(e) && /^entrust: failed to \w+ '[^']*': service not reachable: /.test(e.message));
        assert.ok(performance.now() - start < 1_000);
      }
      await fake.restart();
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
    } finally {
      await close();
    }
  });

  test('a hung service: every call fails after the time-out as unreachable; close leaves no socket', async () => {
    const { fake, store, close } = await open({}, { timeoutMs: 300 });
    try {
      fake.hang();
      const calls = [() => store.create('n', Buffer.from('x')), () => store.get('k'), () => store.delete('k'), () => listAll(store), () => store.status()];
      for (const call of calls) {
        const start = performance.now();
        await assert.rejects(call(), (e: Error) => isUnreachable(e) && /^entrust: failed to \w+ '[^']*': no answer within 300 ms$/.test(e.message));
        const took = performance.now() - start;
        assert.ok(took >= 290 && took < 1_500, `${took} ms`);
      }
      await store.close();
      await sleep(50);
      assert.equal(fake.connections, 0);
    } finally {
      await close();
    }
  });

  test('a login that hangs or is refused at connect is unreachable', async () => {
    const fake = await FakeEntrust.start();
    fake.hang();
    await assert.rejects(KeyControlKeyStore.connect(configFor(fake), { timeoutMs: 200 }), (e: Error) => isUnreachable(e) && /no answer within 200 ms/.test(e.message));
    await sleep(50);
    assert.equal(fake.connections, 0);
    await fake.kill();
    await assert.rejects(KeyControlKeyStore.connect(configFor(fake)), isUnreachable);
  });

  test('close releases every connection and the renewal timer', async () => {
    const { fake, store, close } = await open({ tokenLifetimeMs: 400 });
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.create(`c${i}`, Buffer.from('x'))));
    assert.ok(fake.connections > 0);
    await store.close();
    await sleep(50);
    assert.equal(fake.connections, 0);
    const renewals = fake.requestsOf('Renew').length;
    await sleep(400);
    assert.equal(fake.requestsOf('Renew').length, renewals, 'no renewal after close');
    await assert.rejects(store.get('c0'), /closed/);
    await close();
  });
});

describe('KeyControlKeyStore status', () => {
  test('latency is the GetBox round trip', async () => {
    const { fake, store, close } = await open();
    try {
      const before = fake.requestsOf('GetBox').length;
      const { latencyMs } = await store.status();
      assert.ok(latencyMs > 0 && latencyMs < 1_000, `${latencyMs}`);
      assert.equal(fake.requestsOf('GetBox').length, before + 1);
    } finally {
      await close();
    }
  });

  test('the backend descriptor connects lazily', async () => {
    const fake = await FakeEntrust.start();
    try {
      assert.ok(entrustBackend.connect);
      const store = await entrustBackend.connect(configFor(fake));
      await store.create('via-backend', Buffer.from('x'));
      await store.close();
      assert.equal(entrustBackend.describe(configFor(fake)), `Entrust KeyControl: ${fake.url}`);
    } finally {
      await fake.close();
    }
  });
});

describe('FakeEntrust refuses what KeyControl refuses', () => {
  let fake: FakeEntrust;
  before(async () => (fake = await FakeEntrust.start()));
  after(() => fake.close());

  async function post(path: string, body: unknown, headers: Record<string, string> = {}, method = 'POST') {
    const res = await fetch(fake.url + path, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const login = async () => String((await post(`/vault/1.0/Login/${fake.vaultId}/`, { username: fake.username, password: fake.password })).body.access_token);

  test('no token, an unknown token or an expired one: 401', async () => {
    const box = { box_id: fake.boxId };
    assert.deepEqual(await post('/vault/1.0/GetBox/', box), { status: 401, body: { error: 'Unauthorized' } });
    assert.equal((await post('/vault/1.0/GetBox/', box, { 'x-vault-auth': 'forged' })).status, 401);
    const token = await login();
    assert.equal((await post('/vault/1.0/GetBox/', box, { 'x-vault-auth': token })).status, 200);
    fake.expireTokens();
    assert.equal((await post('/vault/1.0/GetBox/', box, { 'x-vault-auth': token })).status, 401);
    assert.equal((await post('/vault/1.0/Renew/', undefined, { 'x-vault-auth': token })).status, 401);
  });

  test('wrong method, path, content type, box or paging token are refused', async () => {
    const token = await login();
    const auth = { 'x-vault-auth': token };
    assert.equal((await post('/vault/1.0/ListSecretIds/', undefined, auth, 'GET')).status, 405);
    assert.equal((await post('/vault/1.0/GetSecret/', { box_id: fake.boxId }, auth)).status, 404);
    assert.equal((await post('/vault/1.0/GetBox/', { box_id: fake.boxId }, { ...auth, 'content-type': 'text/plain' })).status, 400);
    assert.deepEqual(await post('/vault/1.0/GetBox/', { box_id: 'other' }, auth), { status: 404, body: { error: 'Box not found' } });
    assert.equal((await post('/vault/1.0/ListSecretIds/', { box_id: fake.boxId, max_items: 10, next_token: 'not-a-token' }, auth)).status, 400);
    assert.equal((await post('/vault/1.0/CreateSecret/', { box_id: fake.boxId, name: 'x', secret_data: 'not base64!' }, auth)).status, 400);
    const renewed = await post('/vault/1.0/Renew/', undefined, auth);
    assert.equal(renewed.status, 200);
    assert.ok(typeof renewed.body.access_token === 'string' && !Number.isNaN(Date.parse(String(renewed.body.expires_at))));
  });
});
