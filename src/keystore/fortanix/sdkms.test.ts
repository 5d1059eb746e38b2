import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki } from '../../../test/helpers/certs.js';
import { FortanixKeyStore, endpointUrl, isValidObjectName, type FortanixOptions } from './sdkms.js';
import { isKesError } from '../../api/errors.js';
import { KeyStoreUnreachableError, listAll, type KeyStore } from '../keystore.js';
import type { FortanixConfig } from './config.js';
import { parseKeyVersion } from '../../crypto/key-version.js';
import { fortanixBackend } from './backend.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { FakeFortanix, type FakeFortanixOptions } from '../../../test/helpers/fake-fortanix.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../../../test/helpers/vectors.js';

const isNotFound = (e: unknown) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND');
const isExists = (e: unknown) => isKesError(e, 'KES_ERR_KEY_EXISTS');
const isUnreachable = (e: unknown) => e instanceof KeyStoreUnreachableError;
/** A plain store error: neither a KES error nor unreachable. */
const isStoreError = (e: unknown) => e instanceof Error && !isKesError(e) && !(e instanceof KeyStoreUnreachableError);

function configFor(fake: FakeFortanix, extra: Partial<FortanixConfig> = {}): FortanixConfig {
  return { type: 'fortanix', endpoint: fake.url, apiKey: fake.apiKey, ...extra };
}

async function open(fakeOptions: FakeFortanixOptions = {}, options: FortanixOptions = {}, extra: Partial<FortanixConfig> = {}) {
  const fake = await FakeFortanix.start(fakeOptions);
  const store = await FortanixKeyStore.connect(configFor(fake, extra), options);
  return { fake, store, close: async () => (await store.close(), await fake.close()) };
}

/** Waits until the fake has no open connection (sockets close asynchronously). */
async function noConnections(fake: FakeFortanix): Promise<void> {
  for (let i = 0; i < 50 && fake.openConnections > 0; i++) await sleep(20);
  assert.equal(fake.openConnections, 0, 'connections left open');
}

describeKeyStore('fortanix (fake DSM, start exclusive)', async () => {
  const { store, fake } = await open({}, {});
  return { store, cleanup: () => fake.close() };
}, { noReplace: 'Fortanix DSM has no compare-and-swap on a security object\'s value' });

describeKeyStore('fortanix (fake DSM, start inclusive, pages of 7)', async () => {
  const { store, fake } = await open({ startInclusive: true }, { pageSize: 7 });
  return { store, cleanup: () => fake.close() };
}, { noReplace: 'Fortanix DSM has no compare-and-swap on a security object\'s value', manyKeys: 300 });

describe('FortanixKeyStore and KES layout', () => {
  test('an object planted as KES writes it is read back byte for byte', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('written-by-kes', Buffer.from(PROTOBUF_ENTRY).toString('base64'));
      const got = await store.get('written-by-kes');
      assert.deepEqual(Buffer.from(got), Buffer.from(PROTOBUF_ENTRY));
      assert.equal(parseKeyVersion(got).createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
      assert.deepEqual(await listAll(store, 'written'), ['written-by-kes']);
      await store.delete('written-by-kes');
      assert.equal(fake.object('written-by-kes'), undefined);
    } finally {
      await close();
    }
  });

  test('create writes KES\'s layout: OPAQUE, EXPORT+APPMANAGEABLE, base64 value, enabled, group_id', async () => {
    const group = '1f8a0e4c-2f44-4bb6-9a44-9b3ad3a3b0c7';
    const { fake, store, close } = await open({ groups: ['a2c1f0b6-3c71-4a51-a7d4-2a5a8b0f2d11', group] }, {}, { groupId: group });
    try {
      await store.create('-internal@entry', Buffer.from(PROTOBUF_ENTRY));
      const [put] = fake.requestsTo('PUT', '/crypto/v1/keys');
      assert.deepEqual(put?.body, {
        name: '-internal@entry',
        obj_type: 'OPAQUE',
        group_id: group,
        key_ops: ['EXPORT', 'APPMANAGEABLE'],
        value: Buffer.from(PROTOBUF_ENTRY).toString('base64'),
        enabled: true,
      });
      assert.equal(put?.auth, 'bearer');
      const object = fake.object('-internal@entry');
      assert.equal(object?.value, Buffer.from(PROTOBUF_ENTRY).toString('base64'));
      assert.equal(object?.group_id, group);
      assert.deepEqual(fake.requestsTo('POST', '/crypto/v1/keys/export').length, 0);
      await store.get('-internal@entry');
      assert.deepEqual(fake.requestsTo('POST', '/crypto/v1/keys/export')[0]?.body, { name: '-internal@entry' });
      await store.delete('-internal@entry');
      assert.equal(fake.requestsTo('DELETE', `/crypto/v1/keys/${object!.kid}`).length, 1);
    } finally {
      await close();
    }
  });

  test('without group_id none is sent (the app\'s default group)', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('k', Buffer.from('x'));
      assert.equal((fake.requestsTo('PUT', '/crypto/v1/keys')[0]?.body as Record<string, unknown>).group_id, undefined);
      assert.equal(fake.object('k')?.group_id, fake.groups[0]);
    } finally {
      await close();
    }
  });

  test('disabled, unexportable and malformed objects are store errors', async () => {
    const { fake, store, close } = await open();
    try {
      fake.plant('disabled', Buffer.from('x').toString('base64'), { enabled: false });
      fake.plant('sealed', Buffer.from('x').toString('base64'), { key_ops: ['APPMANAGEABLE'] });
      fake.plant('garbage', '!!!not base64');
      await assert.rejects(store.get('disabled'), (e: Error) => isStoreError(e) && e.message === "fortanix: failed to get 'disabled': the security object is disabled");
      await assert.rejects(store.get('sealed'), (e: Error) => isStoreError(e) && /^fortanix: failed to get 'sealed': 403: operation not allowed/.test(e.message));
      await assert.rejects(store.get('garbage'), (e: Error) => isStoreError(e) && /value is not base64/.test(e.message));
    } finally {
      await close();
    }
  });

  test('names the service cannot hold: create fails, get and delete find nothing, no request is sent', async () => {
    const { fake, store, close } = await open();
    try {
      const before = fake.requests.length;
      for (const name of ['', '   ', 'a\nb', 'x'.repeat(4097)]) {
        assert.equal(isValidObjectName(name), false, JSON.stringify(name));
        await assert.rejects(store.create(name, Buffer.from('x')), /not a valid security object name/);
        await assert.rejects(store.get(name), isNotFound);
        await assert.rejects(store.delete(name), isNotFound);
      }
      assert.equal(fake.requests.length, before);
      for (const name of ['-k', 'a@b', 'ключ', ' lead', 'my key']) assert.equal(isValidObjectName(name), true, name);
    } finally {
      await close();
    }
  });

  test('endpoints without a scheme are https', () => {
    assert.equal(endpointUrl('sdkms.fortanix.com').href, 'https://sdkms.fortanix.com/');
    assert.equal(endpointUrl('http://127.0.0.1:9').href, 'http://127.0.0.1:9/');
    assert.throws(() => endpointUrl('https://exa mple.com'), /fortanix: endpoint 'https:\/\/exa mple.com' is not a valid URL/);
  });
});

describe('FortanixKeyStore listing', () => {
  for (const startInclusive of [false, true]) {
    test(`pages after the last name seen, never repeats a page (start ${startInclusive ? 'inclusive' : 'exclusive'})`, async () => {
      const { fake, store, close } = await open({ startInclusive }, { pageSize: 5 });
      try {
        const names = Array.from({ length: 23 }, (_, i) => `p-${String(i).padStart(2, '0')}`);
        for (const n of [...names, 'p', 'o-before', 'q-after', 'p_other']) fake.plant(n, 'eA==');
        const from = fake.requests.length;
        assert.deepEqual(await listAll(store, 'p-'), names);
        const pages = fake.requests.slice(from).filter((r) => r.method === 'GET' && r.path === '/crypto/v1/keys');
        assert.equal(pages[0]?.query.start, 'p', 'the first page starts just before the prefix');
        for (const p of pages) assert.deepEqual([p.query.sort, p.query.limit], ['name:asc', '5']);
        const starts = pages.map((p) => p.query.start);
        assert.equal(new Set(starts).size, starts.length, 'every page starts elsewhere');
        assert.ok(pages.length <= 6, `${pages.length} pages`);
        assert.deepEqual(await listAll(store, 'p'), ['p', ...names, 'p_other']);
        assert.deepEqual(await listAll(store, ''), ['o-before', 'p', ...names, 'p_other', 'q-after']);
      } finally {
        await close();
      }
    });
  }

  test('a service that repeats the same page forever is an error, not an endless loop', async () => {
    const { fake, store, close } = await open({}, { pageSize: 2 });
    try {
      for (const n of ['a', 'b', 'c']) fake.plant(n, 'eA==');
      // A page whose last name is not after start (the service ignoring start).
      fake.inject('/crypto/v1/keys', 200, '[{"name":"a"},{"name":"b"}]', 5);
      await assert.rejects(listAll(store, ''), /the service repeated a page/);
    } finally {
      await close();
    }
  });
});

describe('FortanixKeyStore sessions', () => {
  test('the API key goes only to session/auth; every other call carries the bearer token', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('k', Buffer.from('x'));
      await store.get('k');
      await listAll(store, '');
      await store.delete('k');
      for (const r of fake.requests) {
        if (r.path === '/sys/v1/session/auth') assert.equal(r.auth, 'basic');
        else if (r.path.startsWith('/crypto/')) assert.equal(r.auth, 'bearer', r.path);
        else assert.equal(r.auth, 'none', r.path);
      }
      assert.equal(fake.requestsTo('POST', '/sys/v1/session/auth').length, 1, 'one login for all calls');
    } finally {
      await close();
    }
  });

  test('a token near its expiry is renewed before use', async () => {
    const { fake, store, close } = await open({ tokenLifetimeSec: 1 });
    try {
      await store.create('k', Buffer.from('x'));
      await sleep(850); // past 80 % of the lifetime, before the expiry
      await store.get('k');
      assert.equal(fake.requestsTo('POST', '/sys/v1/session/auth').length, 2);
      assert.equal(fake.requests.filter((r) => r.path.startsWith('/crypto/')).length, 2, 'no request was refused');
    } finally {
      await close();
    }
  });

  test('a 401 (session ended by the service) logs in again and retries once', async () => {
    const { fake, store, close } = await open();
    try {
      await store.create('k', Buffer.from('x'));
      fake.expireTokens();
      assert.equal(Buffer.from(await store.get('k')).toString(), 'x');
      assert.equal(fake.requestsTo('POST', '/sys/v1/session/auth').length, 2);
      assert.equal(fake.requestsTo('POST', '/crypto/v1/keys/export').length, 2);
      // Concurrent calls after an expiry share one login.
      fake.expireTokens();
      await Promise.all(Array.from({ length: 5 }, () => store.get('k')));
      assert.equal(fake.requestsTo('POST', '/sys/v1/session/auth').length, 3);
    } finally {
      await close();
    }
  });

  test('a 401 after a fresh login is an error; a refused API key fails connect', async () => {
    const { fake, store, close } = await open();
    try {
      fake.inject('/crypto/v1/keys/export', 401, 'session expired or invalid', 2);
      await assert.rejects(store.get('k'), (e: Error) => isStoreError(e) && e.message === "fortanix: failed to get 'k': 401: session expired or invalid");
      const bad = configFor(fake, { apiKey: Buffer.from('wrong:key').toString('base64') });
      await assert.rejects(FortanixKeyStore.connect(bad), (e: Error) => isStoreError(e) && e.message === 'fortanix: failed to authenticate: 401: invalid API key' && !e.message.includes(bad.apiKey));
    } finally {
      await close();
    }
  });

  test('close terminates the session', async () => {
    const { fake, store, close } = await open();
    await store.get('nothing').catch(() => undefined);
    await close();
    assert.equal(fake.requestsTo('POST', '/sys/v1/session/terminate').length, 1);
    assert.equal(fake.requestsTo('POST', '/sys/v1/session/terminate')[0]?.auth, 'bearer');
  });
});

describe('FortanixKeyStore errors', () => {
  let fake: FakeFortanix;
  let store: FortanixKeyStore;
  before(async () => {
    ({ fake, store } = await open());
    await store.create('present', Buffer.from('x'));
  });
  after(async () => {
    await store.close();
    await fake.close();
  });

  const calls: [string, string, (s: KeyStore) => Promise<unknown>][] = [
    ['/crypto/v1/keys', 'create', (s) => s.create('new-key', Buffer.from('x'))],
    ['/crypto/v1/keys/export', 'get', (s) => s.get('present')],
    ['/crypto/v1/keys/export', 'delete', (s) => s.delete('present')],
    ['/crypto/v1/keys', 'list', (s) => listAll(s, 'p')],
  ];

  test('exists and not found', async () => {
    await assert.rejects(store.create('present', Buffer.from('y')), isExists);
    await assert.rejects(store.get('absent'), isNotFound);
    await assert.rejects(store.delete('absent'), isNotFound);
    // Deleted between the export and the DELETE.
    const kid = fake.object('present')!.kid;
    fake.inject(`/crypto/v1/keys/${kid}`, 404, 'sobject does not exist');
    await assert.rejects(store.delete('present'), isNotFound);
  });

  test('5xx and other answers are store errors with status and text', async () => {
    for (const [path, verb, call] of calls) {
      fake.inject(path, 503, 'service unavailable');
      await assert.rejects(call(store), (e: Error) => isStoreError(e) && new RegExp(`^fortanix: failed to ${verb} '[^']*': 503: service unavailable$`).test(e.message), verb);
    }
    fake.inject('/crypto/v1/keys', 403, 'insufficient permissions');
    await assert.rejects(store.create('denied', Buffer.from('x')), (e: Error) => isStoreError(e) && e.message === "fortanix: failed to create 'denied': 403: insufficient permissions");
    assert.equal(Buffer.from(await store.get('present')).toString(), 'x');
  });

  test('status reports the round trip of a plain GET, without credentials', async () => {
    const from = fake.requests.length;
    const s = await store.status();
    assert.ok(Number.isFinite(s.latencyMs) && s.latencyMs >= 0);
    assert.deepEqual(fake.requests.slice(from).map((r) => [r.method, r.path, r.auth]), [['GET', '/', 'none']]);
    // Any HTTP answer means reachable.
    fake.inject('/', 500, 'oops');
    assert.ok((await store.status()).latencyMs >= 0);
  });

  test('connect fails with KeyStoreUnreachableError when nothing listens, and when health is 5xx', async () => {
    const gone = await FakeFortanix.start();
    const config = configFor(gone);
    await gone.close();
    await assert.rejects(FortanixKeyStore.connect(config, { timeoutMs: 1000 }), (e: Error) => isUnreachable(e) && /ECONNREFUSED/.test(e.message));
    fake.inject('/sys/v1/health', 503, 'not ready');
    await assert.rejects(FortanixKeyStore.connect(configFor(fake)), (e: Error) => isUnreachable(e) && /503: not ready/.test(e.message));
  });
});

describe('FortanixKeyStore faults', () => {
  test('killed service: every call is KeyStoreUnreachableError quickly; a restart recovers', async () => {
    const { fake, store, close } = await open({}, { timeoutMs: 5_000 });
    try {
      await store.create('k', Buffer.from('x'));
      await fake.kill();
      const started = performance.now();
      for (const call of [() => store.get('k'), () => store.create('k2', Buffer.from('x')), () => store.delete('k'), () => listAll(store, ''), () => store.status()]) {
        await assert.rejects(call(), (e: Error) => isUnreachable(e) && /service not reachable/.test(e.message));
      }
      assert.ok(performance.now() - started < 2_000, 'failed fast, not at the time-out');
      await fake.restart();
      assert.equal(Buffer.from(await store.get('k')).toString(), 'x');
    } finally {
      await close();
    }
  });

  test('hung service: every call fails with KeyStoreUnreachableError at the time-out; close leaves no connection', async () => {
    const { fake, store } = await open({}, { timeoutMs: 300 });
    try {
      await store.create('k', Buffer.from('x'));
      fake.hang();
      for (const [verb, call] of [
        ['get', () => store.get('k')],
        ['create', () => store.create('k2', Buffer.from('x'))],
        ['list', () => listAll(store, '')],
        ['status', () => store.status()],
      ] as const) {
        const started = performance.now();
        await assert.rejects(call(), (e: Error) => isUnreachable(e) && /no answer within 300 ms$/.test(e.message), verb);
        const took = performance.now() - started;
        assert.ok(took >= 250 && took < 1_500, `${verb} took ${took} ms`);
      }
      const started = performance.now();
      await store.close(); // its terminate hangs too, and is bounded by the time-out
      assert.ok(performance.now() - started < 1_500);
      await noConnections(fake);
    } finally {
      await fake.close();
    }
  });

  test('close leaves no connection open, and the store refuses calls afterwards', async () => {
    const { fake, store } = await open();
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(`c-${i}`, Buffer.from('x'))));
      assert.ok(fake.openConnections > 0);
      await store.close();
      await noConnections(fake);
      await assert.rejects(store.get('c-0'), /the store is closed/);
    } finally {
      await fake.close();
    }
  });
});

describe('FortanixKeyStore TLS', () => {
  test('an HTTPS endpoint is verified against tls.ca; without it the self-signed CA is refused', async () => {
    const pki = createTestPki();
    const dir = mkdtempSync(join(tmpdir(), 'kes-fortanix-'));
    const fake = await FakeFortanix.start({ tls: pki.server });
    try {
      const { caFile } = pki.writeFiles(dir);
      const store = await FortanixKeyStore.connect(configFor(fake, { caPath: caFile }));
      await store.create('over-tls', Buffer.from('x'));
      assert.equal(Buffer.from(await store.get('over-tls')).toString(), 'x');
      await store.close();
      await assert.rejects(FortanixKeyStore.connect(configFor(fake)), (e: Error) => isStoreError(e) && /certificate/i.test(e.message));
      await assert.rejects(FortanixKeyStore.connect(configFor(fake, { caPath: join(dir, 'missing.pem') })), /^TlsFileError: fortanix: cannot read the CA certificates/);
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fortanix backend', () => {
  test('connect is provided and loads the store', async () => {
    const fake = await FakeFortanix.start();
    try {
      assert.ok(fortanixBackend.connect);
      const store = await fortanixBackend.connect(configFor(fake));
      await store.create('via-backend', Buffer.from('x'));
      await store.close();
      assert.ok(fake.object('via-backend'));
    } finally {
      await fake.close();
    }
  });
});
