import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKesError } from '../../api/errors.js';
import { parseKeyVersion } from '../../crypto/key-version.js';
import { KeyStoreUnreachableError, listAll } from '../keystore.js';
import { connectKeyStore } from '../registry.js';
import { BASE64_MARKER, endpointUrl, KeySecureKeyStore, type KeySecureOptions } from './keysecure.js';
import type { GemaltoConfig } from './config.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { FakeGemalto, type FakeGemaltoOptions } from '../../../test/helpers/fake-gemalto.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../../../test/helpers/vectors.js';
import { createTestPki } from '../../../test/helpers/certs.js';

const isNotFound = (e: unknown) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND');
const isExists = (e: unknown) => isKesError(e, 'KES_ERR_KEY_EXISTS');
const isUnreachable = (e: unknown) => e instanceof KeyStoreUnreachableError;

function configFor(fake: FakeGemalto, extra: Partial<GemaltoConfig> = {}): GemaltoConfig {
  return { type: 'gemalto', endpoint: fake.url, token: fake.refreshToken, ...(fake.domain ? { domain: fake.domain } : {}), ...extra };
}

/** A fake and a store connected to it, closed together. */
async function open(fakeOptions: FakeGemaltoOptions = {}, options: KeySecureOptions = {}) {
  const fake = await FakeGemalto.start(fakeOptions);
  const store = await KeySecureKeyStore.connect(configFor(fake), options);
  return { fake, store, close: async () => (await store.close(), await fake.close()) };
}

describeKeyStore(
  'gemalto (fake CipherTrust Manager)',
  async () => {
    const { store, fake } = await open({ domain: 'kes' });
    return { store, cleanup: () => fake.close() };
  },
  { noReplace: 'the CipherTrust secrets API has no compare-and-swap', manyKeys: 1200 },
);

describe('KeySecureKeyStore requests and layout', () => {
  test('token exchange, then create/export/delete/list exactly as KES sends them, with the bearer JWT', async () => {
    const { fake, store, close } = await open({ domain: 'kes-domain' });
    try {
      assert.deepEqual(fake.requestsOf('POST /api/v1/auth/tokens').map((r) => r.body), [{ grant_type: 'refresh_token', refresh_token: fake.refreshToken, domain: 'kes-domain' }]);
      await store.create('my-key', Buffer.from(PROTOBUF_ENTRY));
      await store.get('my-key');
      await listAll(store);
      await store.delete('my-key');
      const calls = fake.requests.filter((r) => r.path !== '/api/v1/auth/tokens');
      assert.deepEqual(
        calls.map((r) => [r.method, r.path, r.query]),
        [
          ['POST', '/api/v1/vault/secrets', {}],
          ['POST', '/api/v1/vault/secrets/my-key/export', { type: 'name' }],
          ['GET', '/api/v1/vault/secrets', { limit: '200', skip: '0' }],
          ['DELETE', '/api/v1/vault/secrets/my-key', { type: 'name' }],
        ],
      );
      assert.deepEqual(calls[0]!.body, { dataType: 'seed', material: PROTOBUF_ENTRY, name: 'my-key' });
      for (const r of calls) assert.match(r.authorization ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    } finally {
      await close();
    }
  });

  test('without a domain the exchange names the root domain ("")', async () => {
    const { fake, close } = await open();
    try {
      assert.equal((fake.requestsOf('POST /api/v1/auth/tokens')[0]?.body as { domain?: string }).domain, '');
    } finally {
      await close();
    }
  });

  test('an entry planted as KES writes it is read back byte for byte; what the store writes is KES layout', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('written-by-kes', PROTOBUF_ENTRY);
      const got = await store.get('written-by-kes');
      assert.deepEqual(Buffer.from(got), Buffer.from(PROTOBUF_ENTRY));
      assert.equal(parseKeyVersion(got).createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
      const legacy = '{"bytes":"yIcbtes33gW7BuUkmivh/t/qtuoCXsPCwtqIijLPQPY=","algorithm":"AES256","created_at":"2024-01-12T10:39:20Z"}';
      fake.plant('legacy-json', legacy);
      assert.equal(Buffer.from(await store.get('legacy-json')).toString(), legacy);

      await store.create('written-by-openkes', Buffer.from(PROTOBUF_ENTRY));
      const s = fake.secret('written-by-openkes');
      assert.deepEqual([s?.dataType, s?.material], ['seed', PROTOBUF_ENTRY]);
      assert.deepEqual(await listAll(store), ['legacy-json', 'written-by-kes', 'written-by-openkes']);
    } finally {
      await close();
    }
  });

  test("openkes's own entry names ('-' first, '@') are sent path-escaped and round-trip", async () => {
    const { fake, store, close } = await open();
    try {
      for (const name of ['-enclave@tenant', '-key@tenant@my-key', '-policy@tenant@p']) {
        await store.create(name, Buffer.from(name));
        assert.equal(Buffer.from(await store.get(name)).toString(), name);
      }
      assert.ok(fake.requests.some((r) => r.path === '/api/v1/vault/secrets/-key%40tenant%40my-key/export'));
      assert.deepEqual(await listAll(store, '-key@'), ['-key@tenant@my-key']);
      await store.delete('-key@tenant@my-key');
      assert.equal(fake.secret('-key@tenant@my-key'), undefined);
    } finally {
      await close();
    }
  });

  test('bytes that are not UTF-8, and UTF-8 starting with the marker, are stored base64-marked', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('bin', Buffer.from([0xc3, 0x28, 0x80]));
      assert.equal(fake.secret('bin')?.material, `${BASE64_MARKER}wyiA`);
      await store.create('marker', Buffer.from(`${BASE64_MARKER}x`));
      assert.equal(fake.secret('marker')?.material, BASE64_MARKER + Buffer.from(`${BASE64_MARKER}x`).toString('base64'));
      assert.equal(Buffer.from(await store.get('marker')).toString(), `${BASE64_MARKER}x`);
    } finally {
      await close();
    }
  });

  test('listing pages with limit/skip until total', async () => {
    const { fake, store, close } = await open({}, { pageSize: 3 });
    try {
      for (let i = 0; i < 10; i++) fake.plant(`k${i}`, 'x');
      assert.deepEqual(await listAll(store, 'k'), Array.from({ length: 10 }, (_, i) => `k${i}`));
      const skips = fake.requestsOf('GET /api/v1/vault/secrets').map((r) => `${r.query.limit}/${r.query.skip}`);
      assert.deepEqual(skips, ['3/0', '3/3', '3/6', '3/9']);
    } finally {
      await close();
    }
  });

  test('endpoints without a scheme are https', () => {
    assert.equal(endpointUrl('ciphertrust.example.com').href, 'https://ciphertrust.example.com/');
    assert.equal(endpointUrl('http://127.0.0.1:8080').href, 'http://127.0.0.1:8080/');
    assert.throws(() => endpointUrl('https://exa mple.com'), /gemalto: endpoint .* is not a valid URL/);
  });

  test('https: the service certificate is verified with tls.ca (a file or a directory), else refused', async () => {
    const pki = createTestPki();
    const dir = mkdtempSync(join(tmpdir(), 'gemalto-ca-'));
    const fake = await FakeGemalto.start({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
    try {
      const { caFile } = pki.writeFiles(dir);
      for (const caPath of [caFile, dir]) {
        const store = await KeySecureKeyStore.connect(configFor(fake, { caPath }));
        await store.create(`tls-${caPath === dir ? 'dir' : 'file'}`, Buffer.from('x'));
        assert.ok((await store.status()).latencyMs >= 0);
        await store.close();
      }
      await assert.rejects(KeySecureKeyStore.connect(configFor(fake)), (e: Error) => !isUnreachable(e) && /certificate/i.test(e.message));
      await assert.rejects(KeySecureKeyStore.connect(configFor(fake, { caPath: join(dir, 'missing.pem') })), /gemalto: cannot read the CA certificates/);
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('connectKeyStore connects through the backend descriptor', async () => {
    const fake = await FakeGemalto.start();
    try {
      const store = await connectKeyStore(configFor(fake));
      await store.create('via-registry', Buffer.from('v'));
      assert.equal(Buffer.from(await store.get('via-registry')).toString(), 'v');
      await store.close();
    } finally {
      await fake.close();
    }
  });
});

describe('KeySecureKeyStore tokens', () => {
  test('the JWT is exchanged again after half its lifetime, before it expires', async () => {
    const { fake, store, close } = await open({ durationS: 1 });
    try {
      await store.create('a', Buffer.from('x'));
      assert.equal(store.tokenExchanges, 1);
      await sleep(600);
      await store.get('a');
      assert.equal(store.tokenExchanges, 2);
      assert.equal(fake.requestsOf('POST /api/v1/vault/secrets/{id}/export').length, 1, 'no 401 retry was needed');
    } finally {
      await close();
    }
  });

  test('a 401 (token expired or revoked early) is retried once with a fresh JWT', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('b', Buffer.from('x'));
      fake.expireTokens();
      assert.equal(Buffer.from(await store.get('b')).toString(), 'x');
      assert.equal(store.tokenExchanges, 2);
      assert.equal(fake.requestsOf('POST /api/v1/vault/secrets/{id}/export').length, 2);
    } finally {
      await close();
    }
  });

  test('concurrent requests share one exchange', async () => {
    const { fake, store, close } = await open();
    try {
      fake.expireTokens();
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(`c${i}`, Buffer.from('x'))));
      assert.equal(store.tokenExchanges, 2);
    } finally {
      await close();
    }
  });

  test('a 401 that persists is an error, not unreachable', async () => {
    const { fake, store, close } = await open();
    try {
      fake.inject('POST /api/v1/vault/secrets/{id}/export', 401, 2);
      await assert.rejects(store.get('x'), (e: Error) => !isUnreachable(e) && !isKesError(e) && /gemalto: failed to get 'x': HTTP 401: NCERRUnauthorized/.test(e.message));
    } finally {
      await close();
    }
  });

  test('a wrong refresh token or domain stops connect with the service message', async () => {
    const fake = await FakeGemalto.start({ domain: 'kes' });
    try {
      await assert.rejects(KeySecureKeyStore.connect(configFor(fake, { token: 'wrong' })), /^Error: gemalto: token exchange refused: HTTP 401: NCERRUnauthorized: Unauthorized: Invalid refresh token$/);
      await assert.rejects(KeySecureKeyStore.connect(configFor(fake, { domain: 'root' })), /token exchange refused: HTTP 401/);
      await sleep(100);
      assert.equal(fake.openSockets, 0, 'connections of the failed connects are released');
    } finally {
      await fake.close();
    }
  });
});

describe('KeySecureKeyStore errors and faults', () => {
  test('exists, not found, 5xx → store error', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('e', Buffer.from('x'));
      await assert.rejects(store.create('e', Buffer.from('y')), isExists);
      await assert.rejects(store.get('missing'), isNotFound);
      await assert.rejects(store.delete('missing'), isNotFound);
      for (const [route, call] of [
        ['POST /api/v1/vault/secrets', () => store.create('f', Buffer.from('x'))],
        ['POST /api/v1/vault/secrets/{id}/export', () => store.get('e')],
        ['DELETE /api/v1/vault/secrets/{id}', () => store.delete('e')],
        ['GET /api/v1/vault/secrets', () => listAll(store)],
      ] as const) {
        fake.inject(route, 503);
        await assert.rejects(call(), (e: Error) => !isUnreachable(e) && !isKesError(e) && /^gemalto: failed to \w+ '.*': HTTP 503: NCERRInternalServerError/.test(e.message), route);
      }
      assert.equal(Buffer.from(await store.get('e')).toString(), 'x');
    } finally {
      await close();
    }
  });

  test('killed service → unreachable quickly; restarted → serves again; status too', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('k', Buffer.from('x'));
      await fake.kill();
      const start = performance.now();
      await assert.rejects(store.get('k'), isUnreachable);
      await assert.rejects(store.create('k2', Buffer.from('x')), isUnreachable);
      await assert.rejects(store.status(), isUnreachable);
      assert.ok(performance.now() - start < 1_000, `${performance.now() - start} ms`);
      await fake.restart();
      assert.equal(Buffer.from(await store.get('k')).toString(), 'x');
    } finally {
      await close();
    }
  });

  test('hung service → each call times out as unreachable; no socket stays open after close()', async () => {
    const { fake, store, close } = await open({}, { timeoutMs: 300 });
    try {
      await store.create('h', Buffer.from('x'));
      fake.hang = true;
      for (const call of [() => store.get('h'), () => store.create('h2', Buffer.from('x')), () => store.delete('h'), () => listAll(store), () => store.status()]) {
        const start = performance.now();
        await assert.rejects(call(), (e: Error) => isUnreachable(e) && /within 300 ms/.test(e.message));
        const took = performance.now() - start;
        assert.ok(took >= 290 && took < 1_000, `${took} ms`);
      }
      fake.hang = false;
      await store.close();
      await sleep(100);
      assert.equal(fake.openSockets, 0);
    } finally {
      await close();
    }
  });

  test('a token exchange without an answer is unreachable too', async () => {
    const fake = await FakeGemalto.start();
    try {
      fake.hang = true;
      await assert.rejects(KeySecureKeyStore.connect(configFor(fake), { timeoutMs: 200 }), isUnreachable);
      fake.hang = false;
      await sleep(50);
      assert.equal(fake.openSockets, 0);
    } finally {
      await fake.close();
    }
  });

  test('nothing listens → connect is unreachable', async () => {
    const fake = await FakeGemalto.start();
    const config = configFor(fake);
    await fake.close();
    await assert.rejects(KeySecureKeyStore.connect(config), isUnreachable);
  });

  test('status is a plain GET of the endpoint without credentials, and reports its latency', async () => {
    const { fake, store, close } = await open();
    try {
      const { latencyMs } = await store.status();
      assert.ok(Number.isFinite(latencyMs) && latencyMs >= 0 && latencyMs < 1_000, `${latencyMs}`);
      const last = fake.requests.at(-1)!;
      assert.deepEqual([last.method, last.path, last.authorization], ['GET', '/', undefined]);
      fake.inject('GET /', 500);
      assert.ok((await store.status()).latencyMs >= 0, 'any HTTP answer means reachable');
    } finally {
      await close();
    }
  });
});

describe('the fake refuses what CipherTrust refuses', () => {
  test('no or unknown bearer → 401, expired → 401; wrong method → 405; a name used as an ID → 404; bad bodies → 400', async () => {
    const fake = await FakeGemalto.start();
    try {
      const call = async (method: string, path: string, body?: unknown, jwt?: string) => {
        const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
        if (jwt) headers.authorization = `Bearer ${jwt}`;
        const res = await fetch(fake.url + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
        const text = await res.text();
        return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
      };
      const token = await call('POST', '/api/v1/auth/tokens', { grant_type: 'refresh_token', refresh_token: fake.refreshToken, domain: '' });
      assert.equal(token.status, 200);
      assert.deepEqual([token.body?.token_type, token.body?.duration], ['Bearer', 300]);
      const jwt = token.body?.jwt as string;
      assert.equal((await call('POST', '/api/v1/auth/tokens', { grant_type: 'password', username: 'admin', password: 'x' })).status, 400);
      assert.equal((await call('GET', '/api/v1/auth/tokens')).status, 405);
      const unauth = await call('GET', '/api/v1/vault/secrets?limit=200&skip=0');
      assert.deepEqual([unauth.status, unauth.body?.codeDesc], [401, 'NCERRUnauthorized: Unauthorized']);
      assert.equal((await call('GET', '/api/v1/vault/secrets', undefined, 'not-issued')).status, 401);
      assert.equal((await call('POST', '/api/v1/vault/secrets', { name: 'n', dataType: 'seed', material: 'm' }, jwt)).status, 201);
      assert.equal((await call('POST', '/api/v1/vault/secrets', { name: 'n', dataType: 'seed', material: 'm' }, jwt)).status, 409);
      assert.equal((await call('POST', '/api/v1/vault/secrets', { name: 'x', dataType: 'nonsense', material: 'm' }, jwt)).status, 400);
      assert.equal((await call('POST', '/api/v1/vault/secrets', { name: 'x', dataType: 'seed' }, jwt)).status, 400);
      assert.equal((await call('POST', '/api/v1/vault/secrets/n/export', undefined, jwt)).status, 404, 'without type=name the segment is an ID');
      assert.equal((await call('GET', '/api/v1/vault/secrets/n/export?type=name', undefined, jwt)).status, 405);
      assert.equal((await call('PUT', '/api/v1/vault/secrets', { name: 'n' }, jwt)).status, 405);
      const exported = await call('POST', '/api/v1/vault/secrets/n/export?type=name', undefined, jwt);
      assert.deepEqual([exported.status, exported.body?.material], [200, 'm']);
      fake.expireTokens();
      assert.equal((await call('POST', '/api/v1/vault/secrets/n/export?type=name', undefined, jwt)).status, 401);
    } finally {
      await fake.close();
    }
  });
});
