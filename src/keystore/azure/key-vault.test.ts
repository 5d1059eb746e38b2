import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { AzureKeyVaultKeyStore, BINARY_CONTENT_TYPE, endpointUrl, isValidSecretName, scopeOf, type AzureKeyVaultOptions } from './key-vault.js';
import type { AzureConfig } from './config.js';
import { isKesError } from '../../api/errors.js';
import { compareNames, KeyStoreUnreachableError, listAll, type KeyStore } from '../keystore.js';
import { parseKeyVersion } from '../../crypto/key-version.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { FakeAzureKeyVault, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_MANAGED_CLIENT_ID, FAKE_TENANT, type FakeAzureKeyVaultOptions } from '../../../test/helpers/fake-azure-keyvault.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../../../test/helpers/vectors.js';
import { startTestServer, type TestServer } from '../../../test/helpers/test-server.js';
import { parse, yml } from '../../../test/helpers/config-testing.js';

const isExists = (e: unknown) => isKesError(e, 'KES_ERR_KEY_EXISTS');
const isNotFound = (e: unknown) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND');
const isUnreachable = (e: unknown) => e instanceof KeyStoreUnreachableError;

function configFor(fake: FakeAzureKeyVault, extra: Partial<AzureConfig> = {}): AzureConfig {
  return { type: 'azure', endpoint: fake.url, credentials: { tenantId: FAKE_TENANT, clientId: FAKE_CLIENT_ID, clientSecret: FAKE_CLIENT_SECRET, authorityHost: fake.url }, ...extra };
}

async function open(fakeOptions: FakeAzureKeyVaultOptions = {}, options: AzureKeyVaultOptions = {}, extra: Partial<AzureConfig> = {}) {
  const fake = await FakeAzureKeyVault.start(fakeOptions);
  const store = await AzureKeyVaultKeyStore.connect(configFor(fake, extra), { purgeWaitMs: 2_000, ...options });
  return { fake, store, close: async () => (await store.close(), await fake.close()) };
}

const vaultRequests = (fake: FakeAzureKeyVault) => fake.requests.filter((r) => r.path.startsWith('/secrets') || r.path.startsWith('/deletedsecrets'));
const tokenRequests = (fake: FakeAzureKeyVault) => fake.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token') || r.path === '/metadata/identity/oauth2/token');

/**
 * The shared suite's listing test uses names with '_', which Key Vault cannot hold (names are
 * [0-9A-Za-z-] only, and KES had no mapping). So the suite runs through this test-only wrapper,
 * which escapes names reversibly ('-' → '-0', '_' → '-1', others → '-2<hex>-') before they reach
 * the store, and sorts the decoded listing. Every other test here uses the store directly.
 */
function escaping(store: KeyStore): KeyStore {
  const enc = (n: string) => [...n].map((c) => (/[0-9A-Za-z]/.test(c) ? c : c === '-' ? '-0' : c === '_' ? '-1' : `-2${c.codePointAt(0)!.toString(16)}-`)).join('');
  const dec = (n: string) => n.replace(/-0|-1|-2([0-9a-f]+)-/g, (m, hex: string | undefined) => (m === '-0' ? '-' : m === '-1' ? '_' : String.fromCodePoint(parseInt(hex!, 16))));
  return {
    status: () => store.status(),
    create: (n, v) => store.create(enc(n), v),
    get: (n) => store.get(enc(n)),
    delete: (n) => store.delete(enc(n)),
    async *list(prefix) {
      const names: string[] = [];
      for await (const n of store.list(enc(prefix))) names.push(dec(n));
      yield* names.sort(compareNames);
    },
    close: () => store.close(),
  };
}

describeKeyStore(
  'azure (fake Key Vault; names escaped, see escaping())',
  async () => {
    const { store, fake } = await open();
    return { store: escaping(store), cleanup: () => fake.close() };
  },
  { noReplace: 'Key Vault has no compare-and-swap on secrets, and KES reads the oldest version, which a new version cannot change' },
);

describe('AzureKeyVaultKeyStore: KES layout', () => {
  test('a secret planted as KES writes it (name = key name, value = entry string) is read byte for byte', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('written-by-kes', PROTOBUF_ENTRY);
      const got = await store.get('written-by-kes');
      assert.deepEqual(Buffer.from(got), Buffer.from(PROTOBUF_ENTRY, 'utf8'));
      assert.equal(parseKeyVersion(got).createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
      assert.deepEqual(await listAll(store, 'written'), ['written-by-kes']);
    } finally {
      await close();
    }
  });

  test('what the store writes has KES layout: PUT /secrets/<name> {"value": entry}, one version, no content type', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('my-key', Buffer.from(PROTOBUF_ENTRY, 'utf8'));
      const put = vaultRequests(fake).find((r) => r.method === 'PUT')!;
      assert.equal(put.path, '/secrets/my-key');
      assert.equal(put.query.get('api-version'), '7.4');
      assert.deepEqual(JSON.parse(put.body), { value: PROTOBUF_ENTRY });
      const versions = fake.versionsOf('my-key');
      assert.equal(versions.length, 1);
      assert.equal(versions[0]!.value, PROTOBUF_ENTRY);
      assert.equal(versions[0]!.contentType, undefined);
      // create checked existence first
      assert.deepEqual(vaultRequests(fake).slice(0, 2).map((r) => `${r.method} ${r.path}`), ['GET /secrets/my-key', 'PUT /secrets/my-key']);
    } finally {
      await close();
    }
  });

  test('get reads the oldest version; later versions do not change the key', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('multi', 'first', { created: 1_700_000_000 });
      fake.plant('multi', 'second', { created: 1_700_000_100 });
      fake.plant('multi', 'third', { created: 1_700_000_050 });
      assert.equal(Buffer.from(await store.get('multi')).toString(), 'first');
    } finally {
      await close();
    }
  });

  test('a disabled, not yet valid or expired oldest version is an error, as in KES', async () => {
    const { fake, store, close } = await open();
    const now = Math.floor(Date.now() / 1000);
    try {
      fake.plant('disabled', 'x', { enabled: false });
      fake.plant('future', 'x', { nbf: now + 3600 });
      fake.plant('expired', 'x', { exp: now - 3600 });
      await assert.rejects(store.get('disabled'), /oldest version is disabled/);
      await assert.rejects(store.get('future'), /not valid yet/);
      await assert.rejects(store.get('expired'), /has expired/);
    } finally {
      await close();
    }
  });

  test('bytes that are not UTF-8 are stored base64 with openkes content type and read back', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('not-utf8', Buffer.from([0xc3, 0x28, 0x80]));
      const v = fake.versionsOf('not-utf8')[0]!;
      assert.equal(v.contentType, BINARY_CONTENT_TYPE);
      assert.equal(v.value, Buffer.from([0xc3, 0x28, 0x80]).toString('base64'));
      assert.deepEqual(Buffer.from(await store.get('not-utf8')), Buffer.from([0xc3, 0x28, 0x80]));
    } finally {
      await close();
    }
  });

  test("names Key Vault cannot hold ('_', '@', '.', leading '-' is fine): create fails, get/delete not found, no request", async () => {
    const { fake, store, close } = await open();
    try {
      assert.ok(isValidSecretName('-leading-dash'));
      for (const name of ['with_underscore', 'a@b', 'dot.ted', 'x'.repeat(128), '']) {
        const before = fake.requests.length;
        await assert.rejects(store.create(name, Buffer.from('v')), /not a valid Key Vault secret name/);
        await assert.rejects(store.get(name), isNotFound);
        await assert.rejects(store.delete(name), isNotFound);
        assert.deepEqual(await listAll(store, name), name === '' ? await listAll(store, '') : []);
        if (name !== '') assert.equal(fake.requests.length, before, name);
      }
    } finally {
      await close();
    }
  });

  test('endpoints: no scheme means https; the token scope follows the cloud', () => {
    assert.equal(endpointUrl('kes.vault.azure.net').href, 'https://kes.vault.azure.net/');
    assert.equal(scopeOf(new URL('https://kes.vault.azure.net')), 'https://vault.azure.net');
    assert.equal(scopeOf(new URL('https://kes.vault.azure.cn')), 'https://vault.azure.cn');
    assert.equal(scopeOf(new URL('https://kes.vault.usgovcloudapi.net')), 'https://vault.usgovcloudapi.net');
  });
});

describe('AzureKeyVaultKeyStore: soft delete', () => {
  test('delete = DELETE /secrets/<name> then purge DELETE /deletedsecrets/<name>; the name is free again', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('gone', Buffer.from('v'));
      fake.requests.length = 0;
      await store.delete('gone');
      assert.deepEqual(vaultRequests(fake).map((r) => `${r.method} ${r.path}`), ['DELETE /secrets/gone', 'DELETE /deletedsecrets/gone']);
      assert.equal(fake.versionsOf('gone').length, 0);
      await store.create('gone', Buffer.from('again'));
      assert.equal(Buffer.from(await store.get('gone')).toString(), 'again');
    } finally {
      await close();
    }
  });

  test('a soft-deleted secret (ObjectIsDeletedButRecoverable) is purged and the create retried', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('recoverable', 'old');
      fake.softDelete('recoverable');
      await assert.rejects(store.get('recoverable'), isNotFound);
      assert.deepEqual(await listAll(store, 'recoverable'), []);
      fake.requests.length = 0;
      await store.create('recoverable', Buffer.from('new'));
      assert.deepEqual(
        vaultRequests(fake).slice(0, 4).map((r) => `${r.method} ${r.path}`),
        ['GET /secrets/recoverable', 'PUT /secrets/recoverable', 'DELETE /deletedsecrets/recoverable', 'PUT /secrets/recoverable'],
      );
      assert.equal(Buffer.from(await store.get('recoverable')).toString(), 'new');
    } finally {
      await close();
    }
  });

  test('while the service is still deleting (ObjectIsBeingDeleted) create and delete retry', async () => {
    const { fake, store, close } = await open({ deletionDelayMs: 400 });
    try {
      await store.create('slow', Buffer.from('v'));
      await store.delete('slow'); // the purge answers 409 ObjectIsBeingDeleted for 400 ms
      assert.ok(fake.requests.filter((r) => r.method === 'DELETE' && r.path === '/deletedsecrets/slow').length >= 2);
      fake.plant('slow2', 'v');
      fake.softDelete('slow2');
      await store.create('slow2', Buffer.from('w'));
      assert.equal(Buffer.from(await store.get('slow2')).toString(), 'w');
    } finally {
      await close();
    }
  });

  test('purge protection: delete succeeds (soft delete); create of a soft-deleted name fails with a clear error', async () => {
    const { fake, store, close } = await open({ purgeProtection: true });
    try {
      fake.plant('protected', 'v');
      fake.softDelete('protected');
      await assert.rejects(store.create('protected', Buffer.from('w')), /^Error: azure: failed to create 'protected': a deleted secret of this name is kept by the vault and could not be purged \(purge protection\?\): Forbidden: /);
      await store.create('kept', Buffer.from('v'));
      await store.delete('kept'); // as in KES: deleted, the refused purge is not an error
      assert.ok(fake.isDeleted('kept'));
      await assert.rejects(store.get('kept'), isNotFound);
      await assert.rejects(store.create('kept', Buffer.from('w')), /could not be purged \(purge protection\?\)/);
    } finally {
      await close();
    }
  });
});

describe('AzureKeyVaultKeyStore: create races', () => {
  test('a version written by another writer in the same second wins: ours is disabled and the create fails', async () => {
    const { fake, store, close } = await open();
    try {
      // Another server's PUT lands between our existence check and our PUT.
      const original = fake.requests.push.bind(fake.requests);
      let planted = false;
      fake.requests.push = (...items) => {
        const r = items[0]!;
        if (!planted && r.method === 'PUT' && r.path === '/secrets/raced') {
          planted = true;
          fake.plant('raced', 'theirs');
        }
        return original(...items);
      };
      await assert.rejects(store.create('raced', Buffer.from('ours')), isExists);
      const versions = fake.versionsOf('raced');
      assert.equal(versions.length, 2);
      assert.deepEqual(versions.map((v) => [v.value, v.enabled]), [['theirs', true], ['ours', false]]);
      assert.equal(Buffer.from(await store.get('raced')).toString(), 'theirs');
    } finally {
      await close();
    }
  });

  test('an existing secret (also one whose latest version is disabled) is KES_ERR_KEY_EXISTS without a PUT', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('dis', 'v', { enabled: false });
      await assert.rejects(store.create('dis', Buffer.from('w')), isExists);
      assert.equal(fake.requests.filter((r) => r.method === 'PUT').length, 0);
    } finally {
      await close();
    }
  });
});

describe('AzureKeyVaultKeyStore: credentials and tokens', () => {
  test('client credentials: POST <authority>/<tenant>/oauth2/v2.0/token with the .default scope; bearer on every vault call', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('tok', Buffer.from('v'));
      const [t] = tokenRequests(fake);
      assert.equal(t!.method, 'POST');
      assert.equal(t!.path, `/${FAKE_TENANT}/oauth2/v2.0/token`);
      const form = new URLSearchParams(t!.body);
      assert.deepEqual(Object.fromEntries(form), { grant_type: 'client_credentials', client_id: FAKE_CLIENT_ID, client_secret: FAKE_CLIENT_SECRET, scope: 'https://vault.azure.net/.default' });
      assert.equal(tokenRequests(fake).length, 1, 'the token is cached');
      for (const r of vaultRequests(fake)) assert.match(r.authorization ?? '', /^Bearer fake\./);
      // The status probe sends no credentials.
      assert.equal(fake.requests.find((r) => r.path === '/')?.authorization, undefined);
    } finally {
      await close();
    }
  });

  test('a token is refreshed at half its lifetime', async () => {
    const { fake, store, close } = await open({ tokenLifetimeSec: 1 });
    try {
      await store.create('a', Buffer.from('v'));
      const first = tokenRequests(fake).length;
      await new Promise((r) => setTimeout(r, 600));
      await store.get('a');
      assert.equal(tokenRequests(fake).length, first + 1);
    } finally {
      await close();
    }
  });

  test('a token the vault no longer accepts (401) is replaced once and the call retried', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('b', Buffer.from('v'));
      fake.expireTokens();
      assert.equal(Buffer.from(await store.get('b')).toString(), 'v');
      assert.equal(tokenRequests(fake).length, 2);
      assert.equal(fake.requests.filter((r) => r.path.startsWith('/secrets/b') && r.method === 'GET').length >= 3, true);
    } finally {
      await close();
    }
  });

  test('a wrong client secret is an error naming Entra ID error, never the secret', async () => {
    const fake = await FakeAzureKeyVault.start();
    const store = await AzureKeyVaultKeyStore.connect(configFor(fake, { credentials: { tenantId: FAKE_TENANT, clientId: FAKE_CLIENT_ID, clientSecret: 'wrong-secret-xyz', authorityHost: fake.url } }));
    try {
      await assert.rejects(store.get('k'), (e: Error) => !isUnreachable(e) && /invalid_client: AADSTS7000215/.test(e.message) && !e.message.includes('wrong-secret-xyz'));
    } finally {
      await store.close();
      await fake.close();
    }
  });

  test('managed identity: IMDS with Metadata: true, resource and client_id', async () => {
    const fake = await FakeAzureKeyVault.start();
    const store = await AzureKeyVaultKeyStore.connect({ type: 'azure', endpoint: fake.url, managedIdentity: { clientId: FAKE_MANAGED_CLIENT_ID } }, { imdsEndpoint: fake.url });
    try {
      await store.create('mi', Buffer.from('v'));
      assert.equal(Buffer.from(await store.get('mi')).toString(), 'v');
      const [t] = tokenRequests(fake);
      assert.equal(t!.method, 'GET');
      assert.equal(t!.query.get('resource'), 'https://vault.azure.net');
      assert.equal(t!.query.get('client_id'), FAKE_MANAGED_CLIENT_ID);
    } finally {
      await store.close();
      await fake.close();
    }
  });

  test('without credentials: AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_AUTHORITY_HOST, else managed identity', async () => {
    const fake = await FakeAzureKeyVault.start();
    const env = { AZURE_TENANT_ID: FAKE_TENANT, AZURE_CLIENT_ID: FAKE_CLIENT_ID, AZURE_CLIENT_SECRET: FAKE_CLIENT_SECRET, AZURE_AUTHORITY_HOST: fake.url };
    const a = await AzureKeyVaultKeyStore.connect({ type: 'azure', endpoint: fake.url }, { env });
    const b = await AzureKeyVaultKeyStore.connect({ type: 'azure', endpoint: fake.url }, { env: {}, imdsEndpoint: fake.url });
    try {
      await a.create('env', Buffer.from('v'));
      assert.equal(Buffer.from(await b.get('env')).toString(), 'v');
      assert.deepEqual(tokenRequests(fake).map((r) => r.method), ['POST', 'GET']);
    } finally {
      await a.close();
      await b.close();
      await fake.close();
    }
  });
});

describe('AzureKeyVaultKeyStore: errors and faults', () => {
  test('5xx answers are plain store errors with the service code', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('e', Buffer.from('v'));
      for (const [op, call] of [
        ['get', () => store.get('e')],
        ['create', () => store.create('e2', Buffer.from('v'))],
        ['delete', () => store.delete('e')],
        ['list', () => listAll(store, '')],
      ] as const) {
        fake.failNext = 1;
        await assert.rejects(call(), (e: Error) => !isUnreachable(e) && !isKesError(e) && new RegExp(`^azure: failed to ${op} '[^']*': 500 InternalServerError: `).test(e.message), op);
      }
    } finally {
      await close();
    }
  });

  test('listing follows nextLink pages', async () => {
    const { fake, store, close } = await open({}, { pageSize: 3 });
    try {
      for (const n of ['p-e', 'p-b', 'p-d', 'p-a', 'p-c', 'q-x', 'p-f', 'p-g']) fake.plant(n, 'v');
      assert.deepEqual(await listAll(store, 'p-'), ['p-a', 'p-b', 'p-c', 'p-d', 'p-e', 'p-f', 'p-g']);
      assert.equal(fake.requests.filter((r) => r.path === '/secrets').length, 3);
    } finally {
      await close();
    }
  });

  test('a killed service: every call is KeyStoreUnreachableError quickly', async () => {
    const fake = await FakeAzureKeyVault.start();
    const port = fake.port;
    const store = await AzureKeyVaultKeyStore.connect(configFor(fake), { timeoutMs: 5_000 });
    await store.create('k', Buffer.from('v'));
    await fake.close();
    try {
      const start = performance.now();
      for (const call of [() => store.get('k'), () => store.create('k2', Buffer.from('v')), () => store.delete('k'), () => listAll(store, ''), () => store.status()]) {
        await assert.rejects(call(), (e: Error) => isUnreachable(e) && /service not reachable: /.test(e.message));
      }
      assert.ok(performance.now() - start < 2_000);
      assert.ok(port > 0);
    } finally {
      await store.close();
    }
  });

  test('a service that hangs: every call fails with KeyStoreUnreachableError after the time-out', async () => {
    const { fake, store, close } = await open({}, { timeoutMs: 300 });
    try {
      await store.create('h', Buffer.from('v'));
      fake.hanging = true;
      for (const [op, call] of [
        ['get', () => store.get('h')],
        ['create', () => store.create('h2', Buffer.from('v'))],
        ['delete', () => store.delete('h')],
        ['list', () => listAll(store, '')],
      ] as const) {
        const start = performance.now();
        await assert.rejects(call(), (e: Error) => isUnreachable(e) && new RegExp(`^azure: failed to ${op} '[^']*': no answer within 300 ms$`).test(e.message), op);
        assert.ok(performance.now() - start < 1_500, op);
      }
      await assert.rejects(store.status(), (e: Error) => isUnreachable(e) && /no answer within 300 ms/.test(e.message));
    } finally {
      await close();
    }
  });

  test('connect fails with KeyStoreUnreachableError when nothing listens', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    await assert.rejects(AzureKeyVaultKeyStore.connect({ type: 'azure', endpoint: `http://127.0.0.1:${port}` }), (e: Error) => isUnreachable(e) && /^azure: endpoint 'http:\/\/127\.0\.0\.1:\d+': service not reachable: .*ECONNREFUSED/.test(e.message));
  });

  test('no open sockets after close(), also with a request hanging', async () => {
    const { fake, store } = await open({}, { timeoutMs: 10_000 });
    await store.create('s', Buffer.from('v'));
    fake.hanging = true;
    const pending = store.get('s').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(fake.openSockets > 0);
    await store.close();
    const err = await pending;
    assert.ok(err instanceof Error);
    const start = performance.now();
    while (fake.openSockets > 0 && performance.now() - start < 2_000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.openSockets, 0);
    await fake.close();
  });

  test('status measures the round trip of a plain GET of the endpoint', async () => {
    const { fake, store, close } = await open();
    try {
      const s = await store.status();
      assert.ok(Number.isFinite(s.latencyMs) && s.latencyMs >= 0 && s.latencyMs < 1_000);
      const last = fake.requests.at(-1)!;
      assert.deepEqual([last.method, last.path, last.authorization], ['GET', '/', undefined]);
    } finally {
      await close();
    }
  });
});

describe('keystore.azure.keyvault section and server', () => {
  test('authority_host is read from credentials; the rest as before', () => {
    const ks = parse(yml(`keystore:\n  azure:\n    keyvault:\n      endpoint: https://kv.vault.azure.net\n      credentials: {tenant_id: t, client_id: c, client_secret: s, authority_host: 'https://login.microsoftonline.us'}\n`), { env: {} }).keystore;
    assert.deepEqual(ks, { type: 'azure', endpoint: 'https://kv.vault.azure.net', credentials: { tenantId: 't', clientId: 'c', clientSecret: 's', authorityHost: 'https://login.microsoftonline.us' } });
  });

  test('kes server starts on the section; keys are created as secrets with the KES entry and used', async () => {
    const fake = await FakeAzureKeyVault.start();
    let t: TestServer | undefined;
    try {
      t = await startTestServer((config) => {
        config.keystore = configFor(fake);
      });
      const c = t.client();
      assert.equal((await c.request('POST', '/v1/key/create/app-key')).status, 200);
      const [v] = fake.versionsOf('app-key');
      assert.equal(parseKeyVersion(Buffer.from(v!.value)).createdBy, t.admin.identity);
      assert.equal((await c.request('POST', '/v1/key/create/app-key')).status, 400);
      const enc = await c.request('PUT', '/v1/key/encrypt/app-key', { plaintext: Buffer.from('hello').toString('base64'), context: '' });
      assert.equal(enc.status, 200);
      fake.plant('from-kes', PROTOBUF_ENTRY);
      const r = await c.request('GET', '/v1/key/describe/from-kes');
      assert.equal(r.status, 200);
      assert.equal(r.json().created_by, PROTOBUF_ENTRY_FIELDS.createdBy);
      assert.deepEqual((await c.request('GET', '/v1/key/list/*')).json(), { names: ['app-key', 'from-kes'] });
      assert.equal((await c.request('DELETE', '/v1/key/delete/app-key')).status, 200);
      assert.equal(fake.versionsOf('app-key').length, 0, 'deleted and purged');
    } finally {
      await t?.close();
      await fake.close();
    }
  });
});

describe('the fake is strict', () => {
  const send = async (fake: FakeAzureKeyVault, method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
    const res = await fetch(`${fake.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, headers: res.headers, body: (await res.json().catch(() => undefined)) as Record<string, any> | undefined };
  };
  const token = async (fake: FakeAzureKeyVault, form: Record<string, string>) =>
    send(fake, 'POST', `/${FAKE_TENANT}/oauth2/v2.0/token`, { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams(form).toString());
  const good = { grant_type: 'client_credentials', client_id: FAKE_CLIENT_ID, client_secret: FAKE_CLIENT_SECRET, scope: 'https://vault.azure.net/.default' };

  test('token endpoint: grant type, client, secret and scope are checked, with Entra ID error bodies', async () => {
    const fake = await FakeAzureKeyVault.start();
    try {
      assert.equal((await token(fake, good)).status, 200);
      assert.equal((await token(fake, { ...good, grant_type: 'password' })).body?.error, 'unsupported_grant_type');
      assert.equal((await token(fake, { ...good, client_secret: 'x' })).body?.error, 'invalid_client');
      assert.equal((await token(fake, { ...good, scope: 'https://management.azure.com/.default' })).body?.error, 'invalid_scope');
      assert.equal((await send(fake, 'GET', `/${FAKE_TENANT}/oauth2/v2.0/token`)).status, 405);
    } finally {
      await fake.close();
    }
  });

  test('vault: bearer token, api-version and methods are checked; errors are {"error":{"code","message"}}', async () => {
    const fake = await FakeAzureKeyVault.start();
    try {
      const none = await send(fake, 'GET', '/secrets?api-version=7.4');
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer authorization="https:\/\/login\.microsoftonline\.com\/.*", resource="https:\/\/vault\.azure\.net"$/);
      assert.equal(none.body?.error?.code, 'Unauthorized');
      const auth = { authorization: `Bearer ${(await token(fake, good)).body!.access_token}` };
      assert.equal((await send(fake, 'GET', '/secrets', auth)).body?.error?.code, 'BadParameter');
      assert.equal((await send(fake, 'GET', '/secrets?api-version=7.4', auth)).status, 200);
      assert.equal((await send(fake, 'POST', '/secrets/x?api-version=7.4', auth)).status, 405);
      assert.equal((await send(fake, 'GET', '/secrets/a_b?api-version=7.4', auth)).body?.error?.code, 'BadParameter');
      assert.equal((await send(fake, 'GET', '/secrets/missing?api-version=7.4', auth)).body?.error?.code, 'SecretNotFound');
      assert.equal((await send(fake, 'GET', '/secrets?api-version=7.4&maxresults=26', auth)).status, 400);
      fake.expireTokens();
      assert.equal((await send(fake, 'GET', '/secrets?api-version=7.4', auth)).status, 401);
    } finally {
      await fake.close();
    }
  });
});
