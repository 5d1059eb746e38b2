import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { GcpSecretManagerKeyStore, httpUrl, isValidSecretId, DEFAULT_GCP_SCOPE, type GcpSecretManagerOptions } from './secret-manager.js';
import { isKesError } from '../../api/errors.js';
import { KeyStoreUnreachableError, listAll } from '../keystore.js';
import type { GcpConfig } from './config.js';
import { gcpBackend } from './backend.js';
import { parseKeyVersion } from '../../crypto/key-version.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { FakeGcpSecretManager, crc32c, type FakeGcpOptions } from '../../../test/helpers/fake-gcp-secret-manager.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../../../test/helpers/vectors.js';
import { parse, yml } from '../../../test/helpers/config-testing.js';

const isNotFound = (e: unknown) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND');
const isExists = (e: unknown) => isKesError(e, 'KES_ERR_KEY_EXISTS');
const isUnreachable = (e: unknown) => e instanceof KeyStoreUnreachableError;
const isStoreError = (e: unknown) => e instanceof Error && !(e instanceof KeyStoreUnreachableError) && !isKesError(e, 'KES_ERR_KEY_NOT_FOUND') && !isKesError(e, 'KES_ERR_KEY_EXISTS');

function configFor(fake: FakeGcpSecretManager, extra: Partial<GcpConfig> = {}): GcpConfig {
  return { type: 'gcp', projectId: fake.projectId, endpoint: fake.url, scopes: [], credentials: { ...fake.credentials, tokenUri: fake.tokenUri }, ...extra };
}

async function open(fakeOptions: FakeGcpOptions = {}, options: GcpSecretManagerOptions = {}, extra: Partial<GcpConfig> = {}) {
  const fake = await FakeGcpSecretManager.start(fakeOptions);
  const store = await GcpSecretManagerKeyStore.connect(configFor(fake, extra), options);
  return { fake, store, close: async () => (await store.close(), await fake.close()) };
}

async function timed<T>(p: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const start = performance.now();
  const [result] = await Promise.allSettled([p]);
  return { ms: performance.now() - start, result: result! };
}

function rejection(r: PromiseSettledResult<unknown>): unknown {
  assert.equal(r.status, 'rejected');
  return (r as PromiseRejectedResult).reason;
}

describeKeyStore(
  'gcp (fake Secret Manager)',
  async () => {
    const { store, fake } = await open({ maxPageSize: 100 });
    return { store, cleanup: () => fake.close() };
  },
  { noReplace: 'KES reads version 1 of a secret, and secret versions are immutable' },
);

describe('GcpSecretManagerKeyStore config', () => {
  test('credentials.token_uri is read (absent when not set); the endpoint defaults to https://secretmanager.googleapis.com', () => {
    const read = (section: string) => parse(yml(`keystore:\n  gcp:\n    secretmanager:\n      project_id: p\n${section}`)).keystore as GcpConfig;
    const set = read('      credentials:\n        client_email: e@p.iam.gserviceaccount.com\n        token_uri: http://127.0.0.1:1/token\n');
    assert.equal(set.credentials.tokenUri, 'http://127.0.0.1:1/token');
    assert.equal(set.endpoint, 'https://secretmanager.googleapis.com');
    assert.equal('tokenUri' in read('').credentials, false);
  });
});

describe('GcpSecretManagerKeyStore requests', () => {
  test('REST calls as documented: create + addVersion, access of version 1, delete, list', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('my-key', Buffer.from('entry'));
      await store.get('my-key');
      await listAll(store);
      await store.delete('my-key');
      const calls = fake.requests.filter((r) => r.kind !== 'token' && r.kind !== 'other');
      const p = `/v1/projects/${fake.projectId}/secrets`;
      assert.deepEqual(
        calls.map((r) => `${r.method} ${r.url}`),
        [`POST ${p}?secretId=my-key`, `POST ${p}/my-key:addVersion`, `GET ${p}/my-key/versions/1:access`, `GET ${p}?pageSize=25000`, `DELETE ${p}/my-key`],
      );
      assert.deepEqual(JSON.parse(calls[0]!.body), { replication: { automatic: {} } });
      assert.deepEqual(JSON.parse(calls[1]!.body), { payload: { data: Buffer.from('entry').toString('base64') } });
      // One token for all of them, sent as a bearer token.
      assert.equal(fake.tokensIssued, 1);
      assert.ok(calls.every((r) => r.token !== undefined && r.token === calls[0]!.token));
    } finally {
      await close();
    }
  });

  test('the JWT carries the configured scopes; the default scope is cloud-platform', async () => {
    const { fake, store, close } = await open({}, {}, { scopes: ['https://www.googleapis.com/auth/a', 'https://www.googleapis.com/auth/b'] });
    const jwtClaims = (f: FakeGcpSecretManager) => {
      const assertion = new URLSearchParams(f.requests.find((r) => r.kind === 'token')!.body).get('assertion')!;
      const [h, c] = assertion.split('.');
      return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), claims: JSON.parse(Buffer.from(c!, 'base64url').toString()) };
    };
    try {
      await listAll(store);
      const { header, claims } = jwtClaims(fake);
      assert.deepEqual(header, { alg: 'RS256', typ: 'JWT', kid: fake.credentials.privateKeyId });
      assert.equal(claims.scope, 'https://www.googleapis.com/auth/a https://www.googleapis.com/auth/b');
      assert.equal(claims.iss, fake.credentials.clientEmail);
      assert.equal(claims.aud, fake.tokenUri);
      assert.equal(claims.exp - claims.iat, 3600);
    } finally {
      await close();
    }
    const d = await open();
    try {
      await listAll(d.store);
      assert.equal(jwtClaims(d.fake).claims.scope, DEFAULT_GCP_SCOPE);
    } finally {
      await d.close();
    }
  });

  test('a private key with literal \\n (as pasted from a key file) is accepted', async () => {
    const fake = await FakeGcpSecretManager.start();
    const config = configFor(fake);
    config.credentials.privateKey = config.credentials.privateKey.replaceAll('\n', '\\n');
    const store = await GcpSecretManagerKeyStore.connect(config);
    try {
      await store.create('k', Buffer.from('v'));
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
    } finally {
      await store.close();
      await fake.close();
    }
  });

  test('a key of another service account is refused by the token endpoint: a store error, not unreachable', async () => {
    const fake = await FakeGcpSecretManager.start();
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const store = await GcpSecretManagerKeyStore.connect(configFor(fake, { credentials: { ...fake.credentials, tokenUri: fake.tokenUri, privateKey: other } }));
    try {
      await assert.rejects(store.get('k'), (e: unknown) => isStoreError(e) && /invalid_grant: Invalid JWT Signature/.test((e as Error).message));
      assert.equal(fake.requests.filter((r) => r.kind === 'access').length, 0);
    } finally {
      await store.close();
      await fake.close();
    }
  });

  test('connect checks the config: key, email, URLs', async () => {
    const fake = await FakeGcpSecretManager.start();
    try {
      const base = configFor(fake);
      await assert.rejects(GcpSecretManagerKeyStore.connect({ ...base, credentials: { ...base.credentials, privateKey: 'garbage' } }), /private_key is not a PEM private key/);
      await assert.rejects(GcpSecretManagerKeyStore.connect({ ...base, credentials: { ...base.credentials, clientEmail: '' } }), /client_email is required/);
      await assert.rejects(GcpSecretManagerKeyStore.connect({ ...base, credentials: { ...base.credentials, tokenUri: 'ftp://x/token' } }), /token_uri .* not an http\(s\) URL/);
      assert.equal(httpUrl('secretmanager.googleapis.com:443', 'endpoint').origin, 'https://secretmanager.googleapis.com');
      assert.equal(httpUrl('https://secretmanager.googleapis.com', 'endpoint').href, 'https://secretmanager.googleapis.com/');
    } finally {
      await fake.close();
    }
  });

  test('the backend descriptor connects lazily', async () => {
    const fake = await FakeGcpSecretManager.start();
    try {
      assert.ok(gcpBackend.connect);
      const store = await gcpBackend.connect(configFor(fake));
      await store.create('via-backend', Buffer.from('x'));
      assert.deepEqual(await listAll(store), ['via-backend']);
      await store.close();
    } finally {
      await fake.close();
    }
  });
});

describe('GcpSecretManagerKeyStore KES layout', () => {
  test('an entry planted as KES writes it is read back byte for byte', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('kes-key', [Buffer.from(PROTOBUF_ENTRY)]);
      const got = Buffer.from(await store.get('kes-key'));
      assert.deepEqual(got, Buffer.from(PROTOBUF_ENTRY));
      assert.equal(parseKeyVersion(got).createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
      assert.deepEqual(await listAll(store, 'kes-'), ['kes-key']);
    } finally {
      await close();
    }
  });

  test('get reads version 1, as KES does, even when later versions exist', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('versions', [Buffer.from('first'), Buffer.from('second')]);
      assert.equal(Buffer.from(await store.get('versions')).toString(), 'first');
    } finally {
      await close();
    }
  });

  test('what the store writes has KES layout: automatic replication, the entry as version 1', async () => {
    const { fake, store, close } = await open();
    try {
      const value = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, ...Buffer.from(PROTOBUF_ENTRY)]);
      await store.create('written', value);
      const raw = fake.raw('written');
      assert.deepEqual(raw?.replication, { automatic: {} });
      assert.deepEqual(raw?.versions.map((v) => [v.data, v.state]), [[value, 'ENABLED']]);
    } finally {
      await close();
    }
  });

  test('empty values round trip (proto3 JSON may leave out empty data)', async () => {
    const { store, close } = await open();
    try {
      await store.create('empty', new Uint8Array());
      assert.equal((await store.get('empty')).length, 0);
    } finally {
      await close();
    }
  });

  test('the fake reports CRC32C as documented (test vector "123456789")', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  test("names the service cannot hold ('@', '.', '/', over 255 characters) are refused on create with a clear error", async () => {
    const { fake, store, close } = await open();
    try {
      for (const name of ['-key@enclave@k', 'a.b', 'a/b', 'x'.repeat(256)]) {
        await assert.rejects(store.create(name, Buffer.from('x')), (e: unknown) => isStoreError(e) && /secret ids hold only letters, digits, '-' and '_'/.test((e as Error).message), name);
        await assert.rejects(store.get(name), isNotFound);
        await assert.rejects(store.delete(name), isNotFound);
      }
      assert.equal(isValidSecretId('-enclave-x_1'), true);
      await store.create('-enclave-x_1', Buffer.from('x')); // a leading '-' is fine
      assert.equal(fake.requests.filter((r) => r.kind === 'create').length, 1);
    } finally {
      await close();
    }
  });

  test('a secret without version 1 (a create cut short) reads as not found but lists and blocks the name', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('half', []);
      await assert.rejects(store.get('half'), isNotFound);
      await assert.rejects(store.create('half', Buffer.from('x')), isExists);
      assert.deepEqual(await listAll(store, 'half'), ['half']);
      await store.delete('half');
      await store.create('half', Buffer.from('x'));
    } finally {
      await close();
    }
  });

  test('a disabled version 1 is a store error, not "not found"', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('disabled', [Buffer.from('x')]);
      fake.setVersionState('disabled', 1, 'DISABLED');
      await assert.rejects(store.get('disabled'), (e: unknown) => isStoreError(e) && /FAILED_PRECONDITION/.test((e as Error).message));
    } finally {
      await close();
    }
  });
});

describe('GcpSecretManagerKeyStore tokens', () => {
  test('a token is reused until shortly before it expires, then a new one is fetched', async () => {
    const { fake, store, close } = await open({ tokenLifetimeSec: 2 }, { tokenRefreshMarginMs: 500 });
    try {
      await store.create('t', Buffer.from('x'));
      await store.get('t');
      assert.equal(fake.tokensIssued, 1);
      await new Promise((r) => setTimeout(r, 1_600)); // past lifetime − margin, before expiry
      await store.get('t');
      assert.equal(fake.tokensIssued, 2);
      assert.equal(fake.requests.filter((r) => r.kind === 'access').length, 2, 'no 401 and retry');
    } finally {
      await close();
    }
  });

  test('a 401 answer fetches a fresh token and retries once', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('t', Buffer.from('x'));
      fake.expireTokens();
      assert.equal(Buffer.from(await store.get('t')).toString(), 'x');
      assert.equal(fake.tokensIssued, 2);
      const access = fake.requests.filter((r) => r.kind === 'access');
      assert.equal(access.length, 2);
      assert.notEqual(access[0]!.token, access[1]!.token);
    } finally {
      await close();
    }
  });

  test('a second 401 is a store error (no endless retries)', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('t', Buffer.from('x'));
      fake.inject({ kind: 'access', error: { code: 401, status: 'UNAUTHENTICATED', message: 'nope' }, times: 2 });
      await assert.rejects(store.get('t'), (e: unknown) => isStoreError(e) && /UNAUTHENTICATED/.test((e as Error).message));
      assert.equal(fake.requests.filter((r) => r.kind === 'access').length, 2);
    } finally {
      await close();
    }
  });

  test('concurrent operations share one token request', async () => {
    const { fake, store, close } = await open();
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(`c${i}`, Buffer.from('x'))));
      assert.equal(fake.tokensIssued, 1);
    } finally {
      await close();
    }
  });
});

describe('GcpSecretManagerKeyStore errors', () => {
  test('exists, not found, 5xx and other answers', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('e', Buffer.from('x'));
      await assert.rejects(store.create('e', Buffer.from('y')), isExists);
      assert.equal(Buffer.from(await store.get('e')).toString(), 'x');
      await assert.rejects(store.get('missing'), isNotFound);
      await assert.rejects(store.delete('missing'), isNotFound);
      fake.inject({ kind: 'access', error: { code: 500, status: 'INTERNAL', message: 'boom' }, times: 1 });
      await assert.rejects(store.get('e'), (e: unknown) => isStoreError(e) && /INTERNAL: boom/.test((e as Error).message));
      fake.inject({ kind: 'list', error: { code: 503, status: 'UNAVAILABLE', message: 'later' }, times: 1 });
      await assert.rejects(listAll(store), (e: unknown) => isStoreError(e) && /UNAVAILABLE/.test((e as Error).message));
      fake.inject({ kind: 'create', error: { code: 403, status: 'PERMISSION_DENIED', message: 'denied' }, times: 1 });
      await assert.rejects(store.create('f', Buffer.from('x')), (e: unknown) => isStoreError(e) && /PERMISSION_DENIED: denied/.test((e as Error).message));
    } finally {
      await close();
    }
  });

  test('another project is refused by the service (403 PERMISSION_DENIED)', async () => {
    const { store, close } = await open({}, {}, { projectId: 'someone-else' });
    try {
      await assert.rejects(store.get('k'), (e: unknown) => isStoreError(e) && /PERMISSION_DENIED/.test((e as Error).message));
    } finally {
      await close();
    }
  });

  test('a failed addVersion deletes the secret again, so the name stays free', async () => {
    const { fake, store, close } = await open();
    try {
      fake.inject({ kind: 'addVersion', error: { code: 500, status: 'INTERNAL', message: 'boom' }, times: 1 });
      await assert.rejects(store.create('retry', Buffer.from('x')), isStoreError);
      assert.equal(fake.raw('retry'), undefined);
      await store.create('retry', Buffer.from('x'));
      assert.equal(Buffer.from(await store.get('retry')).toString(), 'x');
    } finally {
      await close();
    }
  });

  test('a reset connection is unreachable; a GET on a kept-alive connection is sent once more', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('k', Buffer.from('x'));
      fake.inject({ kind: 'access', reset: true, times: 1 });
      assert.equal(Buffer.from(await store.get('k')).toString(), 'x');
      assert.equal(fake.requests.filter((r) => r.kind === 'access').length, 2);
      fake.inject({ kind: 'access', reset: true, times: 2 });
      await assert.rejects(store.get('k'), isUnreachable);
      fake.inject({ kind: 'delete', reset: true, times: 1 });
      await assert.rejects(store.delete('k'), isUnreachable);
      assert.equal(fake.requests.filter((r) => r.kind === 'delete').length, 1, 'no second DELETE');
      fake.inject({ kind: 'token', reset: true, times: 1 });
      fake.expireTokens();
      await assert.rejects(store.get('k'), isUnreachable);
    } finally {
      await close();
    }
  });

  test('an unreachable token endpoint is unreachable', async () => {
    const fake = await FakeGcpSecretManager.start();
    const closedPort = await freePort();
    const store = await GcpSecretManagerKeyStore.connect(configFor(fake, { credentials: { ...fake.credentials, tokenUri: `http://127.0.0.1:${closedPort}/token` } }));
    try {
      await assert.rejects(store.get('k'), (e: unknown) => isUnreachable(e) && /token endpoint/.test((e as Error).message));
    } finally {
      await store.close();
      await fake.close();
    }
  });
});

describe('GcpSecretManagerKeyStore faults', () => {
  test('a killed service is unreachable quickly, for every operation and the status', async () => {
    const { fake, store, close } = await open({}, { timeoutMs: 5_000 });
    try {
      await store.create('k', Buffer.from('x'));
      await fake.kill();
      const ops: (() => Promise<unknown>)[] = [() => store.get('k'), () => store.create('n', Buffer.from('x')), () => store.delete('k'), () => listAll(store), () => store.status()];
      for (const op of ops) {
        const { ms, result } = await timed(op());
        assert.ok(isUnreachable(rejection(result)), String(rejection(result)));
        assert.ok(ms < 2_000, `${ms} ms`);
      }
    } finally {
      await close();
    }
  });

  test('a hung service times out as unreachable, and close() leaves no socket open', async () => {
    const { fake, store, close } = await open({}, { timeoutMs: 300 });
    try {
      await store.create('k', Buffer.from('x'));
      fake.inject({ kind: 'access', hang: true });
      const { ms, result } = await timed(store.get('k'));
      assert.ok(isUnreachable(rejection(result)) && /no answer within 300 ms/.test(String(rejection(result))), String(rejection(result)));
      assert.ok(ms >= 290 && ms < 1_500, `${ms} ms`);
      fake.clearFaults();
      fake.inject({ kind: 'token', hang: true });
      fake.expireTokens();
      await assert.rejects(store.get('k'), isUnreachable); // the 401 retry's token request hangs
      fake.clearFaults();
      fake.inject({ hang: true });
      await assert.rejects(store.status(), isUnreachable);
      const pending = store.get('k'); // in flight when the store closes
      await new Promise((r) => setTimeout(r, 50));
      await store.close();
      await assert.rejects(pending, isUnreachable);
      await waitFor(() => fake.openSockets === 0);
      assert.equal(fake.openSockets, 0);
    } finally {
      await close();
    }
  });

  test('keep-alive connections are closed by close()', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('k', Buffer.from('x'));
      await store.get('k');
      assert.ok(fake.openSockets > 0);
      await store.close();
      await waitFor(() => fake.openSockets === 0);
    } finally {
      await close();
    }
  });

  test('connect fails as unreachable when the endpoint does not answer', async () => {
    const fake = await FakeGcpSecretManager.start();
    const config = configFor(fake);
    await fake.kill();
    await assert.rejects(GcpSecretManagerKeyStore.connect(config, { timeoutMs: 1_000 }), isUnreachable);
  });
});

describe('GcpSecretManagerKeyStore status', () => {
  test('status is a plain GET of the endpoint, without credentials; latency is its round trip', async () => {
    const { fake, store, close } = await open();
    try {
      const before = fake.requests.length;
      const s = await store.status();
      assert.ok(s.latencyMs > 0 && s.latencyMs < 1_000, `${s.latencyMs}`);
      const probe = fake.requests.slice(before);
      assert.deepEqual(probe.map((r) => [r.method, r.url, r.token]), [['GET', '/', undefined]]);
      fake.inject({ kind: 'other', error: { code: 503, status: 'UNAVAILABLE' }, times: 1 });
      assert.ok((await store.status()).latencyMs > 0, 'any HTTP answer is reachable');
    } finally {
      await close();
    }
  });

  test('latency grows with a slow endpoint', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => setTimeout(() => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'), 200));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const fake = await FakeGcpSecretManager.start();
    try {
      const store = await GcpSecretManagerKeyStore.connect(configFor(fake, { endpoint: `http://127.0.0.1:${port}` }));
      const s = await store.status();
      assert.ok(s.latencyMs >= 190, `${s.latencyMs}`);
      await store.close();
    } finally {
      await fake.close();
      await new Promise((r) => server.close(r));
    }
  });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function waitFor(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
