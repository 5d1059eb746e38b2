/**
 * The etcd key store against real etcd processes (test/helpers/etcd.ts): the conformance suite,
 * the storage layout, authentication, TLS, and failures (unreachable at connect, a hung or a
 * stopped member) ending by the store's deadline.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { isKesError } from '../../src/api/errors.js';
import { EtcdKeyStore, type EtcdConfig } from '../../src/keystore/etcd/etcd.js';
import { KeyStoreUnreachableError, listAll } from '../../src/keystore/keystore.js';
import { describeKeyStore } from '../helpers/keystore-conformance.js';
import { describeKeyStoreNotifications } from '../helpers/keystore-notifications.js';
import { createTestPki } from '../helpers/certs.js';
import { etcdSkip, startEtcd, type EtcdCluster } from '../helpers/etcd.js';

const skip = etcdSkip();
const config = (endpoints: string[], more: Partial<EtcdConfig> = {}): EtcdConfig => ({ type: 'etcd', endpoints, prefix: 'kes/keys/', ...more });
const isUnreachable = (err: unknown) => err instanceof KeyStoreUnreachableError && /^etcd: /.test(err.message);

/** A free loopback port nothing listens on (a stopped cluster's). */
async function deadEndpoint(): Promise<string> {
  const etcd = await startEtcd();
  const endpoint = etcd.endpoints[0] as string;
  await etcd.close();
  return endpoint;
}

describeKeyStore(
  'etcd',
  async () => {
    const etcd = await startEtcd();
    // A small page size, so that listings span many pages.
    const store = await EtcdKeyStore.connect(config(etcd.endpoints, { prefix: `conformance/${process.pid}/` }), { pageSize: 100 });
    return { store, cleanup: () => etcd.close() };
  },
  skip ? { skip } : {},
);

describeKeyStoreNotifications(
  'etcd',
  async () => {
    const etcd = await startEtcd();
    const writer = await EtcdKeyStore.connect(config(etcd.endpoints));
    const watcher = await EtcdKeyStore.connect(config(etcd.endpoints));
    return {
      writer,
      watcher,
      async restart() {
        await etcd.members[0]!.stop('SIGKILL');
        await etcd.members[0]!.start();
      },
      async cleanup() {
        await writer.close();
        await watcher.close();
        await etcd.close();
      },
    };
  },
  skip,
);

describe('etcd key store', { skip: skip ?? false }, () => {
  let etcd: EtcdCluster;
  let raw: Etcd3;
  before(async () => {
    etcd = await startEtcd();
    raw = new Etcd3({ hosts: etcd.endpoints });
  });
  after(async () => {
    raw?.close();
    await etcd?.close();
  });

  test('entries are stored as raw bytes under <prefix><name>, and read from there', async () => {
    const store = await EtcdKeyStore.connect(config(etcd.endpoints, { prefix: 'layout/keys/' }));
    try {
      const value = Buffer.from([0, 1, 2, 0xff, 0xfe]);
      await store.create('stored', value);
      assert.deepEqual(await raw.get('layout/keys/stored').buffer(), value);

      await raw.put('layout/keys/written-elsewhere').value(Buffer.from('entry'));
      assert.equal(Buffer.from(await store.get('written-elsewhere')).toString(), 'entry');
      assert.deepEqual(await listAll(store), ['stored', 'written-elsewhere']);

      await store.delete('stored');
      assert.equal(await raw.get('layout/keys/stored').buffer(), null);
    } finally {
      await store.close();
    }
  });

  test('stores with different prefixes do not see each other; keys outside the prefix are never listed', async () => {
    const a = await EtcdKeyStore.connect(config(etcd.endpoints, { prefix: 'tenant-a/' }));
    const b = await EtcdKeyStore.connect(config(etcd.endpoints, { prefix: 'tenant-b/' }));
    try {
      await raw.put('tenant-').value('just before the prefix');
      await raw.put('tenant-a').value('the prefix without its slash');
      await raw.put('tenant-a0').value('just after the prefix range');
      await a.create('k', Buffer.from('a'));
      await b.create('k', Buffer.from('b'));
      assert.equal(Buffer.from(await a.get('k')).toString(), 'a');
      assert.equal(Buffer.from(await b.get('k')).toString(), 'b');
      assert.deepEqual(await listAll(a), ['k']);
      await a.delete('k');
      await assert.rejects(a.get('k'), (err) => isKesError(err, 'KES_ERR_KEY_NOT_FOUND'));
      assert.equal(Buffer.from(await b.get('k')).toString(), 'b');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('listing with a page size of 1 and 2 produces every name once, in order', async () => {
    await raw.put('pages/keys/ÿ').value('x'); // written as UTF-8 by the client: a valid name
    await raw.put(Buffer.concat([Buffer.from('pages/keys/'), Buffer.from([0xc3])])).value('x'); // invalid UTF-8: skipped
    const names = ['b', 'a', 'ab', 'a-b', 'é', 'z'];
    for (const pageSize of [1, 2]) {
      const store = await EtcdKeyStore.connect(config(etcd.endpoints, { prefix: 'pages/keys/' }), { pageSize });
      try {
        if (pageSize === 1) for (const n of names) await store.create(n, Buffer.from(n));
        const expected = [...names, 'ÿ'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        assert.deepEqual(await listAll(store), expected, `page size ${pageSize}`);
        assert.deepEqual(await listAll(store, 'a'), ['a', 'a-b', 'ab'], `page size ${pageSize}`);
      } finally {
        await store.close();
      }
    }
  });

  test('status reports a latency; calls after close fail instead of hanging', async () => {
    const store = await EtcdKeyStore.connect(config(etcd.endpoints));
    const { latencyMs } = await store.status();
    assert.ok(latencyMs >= 0);
    await store.close();
    await assert.rejects(store.get('k'), (err: Error) => !(err instanceof KeyStoreUnreachableError) && /^etcd: failed to get 'k': /.test(err.message));
  });
});

describe('etcd key store: unreachable and hung clusters', { skip: skip ?? false, concurrency: true }, () => {
  test('connecting to an endpoint nobody listens on fails with a clear error', { timeout: 30_000 }, async () => {
    const endpoint = await deadEndpoint();
    await assert.rejects(EtcdKeyStore.connect(config([endpoint]), { timeoutMs: 2_000 }), (err: Error) => {
      assert.ok(err instanceof KeyStoreUnreachableError, String(err));
      assert.match(err.message, new RegExp(`^etcd: cannot use the cluster at ${endpoint}: `));
      return true;
    });
  });

  test('a call to a hung member ends with KeyStoreUnreachableError by its deadline', { timeout: 30_000 }, async () => {
    // The test's time-out is the assertion that nothing hangs: without the deadline, calls to a
    // frozen process (its sockets open, nothing answering) would never end.
    const etcd = await startEtcd();
    try {
      const store = await EtcdKeyStore.connect(config(etcd.endpoints), { timeoutMs: 500 });
      await store.create('before', Buffer.from('x'));
      etcd.members[0]?.pause();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['status', () => store.status()],
        ['create', () => store.create('during', Buffer.from('x'))],
        ['get', () => store.get('before')],
        ['delete', () => store.delete('before')],
        ['list', () => listAll(store)],
      ];
      await Promise.all(calls.map(([what, call]) => assert.rejects(call(), isUnreachable, what)));
      etcd.members[0]?.resume();
      // The frozen member still received the writes and applies them when it resumes: a write
      // that timed out may have happened. So only check that the store works again.
      await eventually(() => store.status());
      await store.create('after', Buffer.from('y'));
      assert.equal(Buffer.from(await store.get('after')).toString(), 'y');
      await store.close();
    } finally {
      await etcd.close();
    }
  });

  test('calls to a stopped cluster fail with KeyStoreUnreachableError; the store recovers when it returns', { timeout: 60_000 }, async () => {
    const etcd = await startEtcd();
    try {
      const store = await EtcdKeyStore.connect(config(etcd.endpoints), { timeoutMs: 2_000 });
      await store.create('kept', Buffer.from('x'));
      await etcd.members[0]?.stop();
      await assert.rejects(store.get('kept'), isUnreachable);
      await assert.rejects(store.create('other', Buffer.from('x')), isUnreachable);
      await assert.rejects(store.status(), isUnreachable);
      await etcd.members[0]?.start();
      assert.equal(Buffer.from(await eventually(() => store.get('kept'))).toString(), 'x');
      await store.close();
    } finally {
      await etcd.close();
    }
  });
});

describe('etcd key store: authentication', { skip: skip ?? false }, () => {
  const rootPassword = 'root-secret-7b1e';
  const kesPassword = 'kes-secret-93ac';
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startEtcd();
    const admin = new Etcd3({ hosts: etcd.endpoints });
    try {
      await admin.role('root').create();
      await admin.user('root').create(rootPassword);
      await admin.user('root').addRole('root');
      const role = await admin.role('kes').create();
      await role.grant({ permission: 'Readwrite', range: admin.range({ prefix: 'kes/keys/' }) });
      await admin.user('kes').create(kesPassword);
      await admin.user('kes').addRole('kes');
      await admin.auth.authEnable();
    } finally {
      admin.close();
    }
  });
  after(async () => {
    await etcd?.close();
  });

  test('a user with read/write on the prefix uses the store', async () => {
    const store = await EtcdKeyStore.connect(config(etcd.endpoints, { username: 'kes', password: kesPassword }));
    try {
      await store.create('authed', Buffer.from('x'));
      assert.equal(Buffer.from(await store.get('authed')).toString(), 'x');
      assert.deepEqual(await listAll(store), ['authed']);
      await store.delete('authed');
    } finally {
      await store.close();
    }
  });

  test('a wrong password fails the connect with an error that does not contain it', async () => {
    await assert.rejects(EtcdKeyStore.connect(config(etcd.endpoints, { username: 'kes', password: 'wrong-password-5d2f' })), (err: Error) => {
      assert.ok(!(err instanceof KeyStoreUnreachableError), 'not an unreachable cluster');
      assert.match(err.message, /^etcd: cannot use the cluster at .*authentication failed/);
      assert.ok(!err.message.includes('wrong-password-5d2f') && !err.stack?.includes('wrong-password-5d2f'));
      return true;
    });
  });

  test('no credentials, or a user without access to the prefix, fail the connect', async () => {
    await assert.rejects(EtcdKeyStore.connect(config(etcd.endpoints)), /^Error: etcd: cannot use the cluster at .*: (etcdserver: user name is empty|etcdserver: permission denied)$/);
    await assert.rejects(
      EtcdKeyStore.connect(config(etcd.endpoints, { prefix: 'other/', username: 'kes', password: kesPassword })),
      /^Error: etcd: cannot use the cluster at .*permission denied/,
    );
  });
});

describe('etcd key store: TLS', { skip: skip ?? false }, () => {
  let etcd: EtcdCluster;
  let dir: string;
  let endpoints: string[];
  let files: { caFile: string; certFile: string; keyFile: string; clientCert: string; clientKey: string };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kes-etcd-tls-'));
    const pki = createTestPki();
    const client = pki.client({ keyType: 'ec', commonName: 'kes' });
    files = { ...pki.writeFiles(dir), clientCert: join(dir, 'client.crt'), clientKey: join(dir, 'client.key') };
    writeFileSync(files.clientCert, client.certPem);
    writeFileSync(files.clientKey, client.keyPem, { mode: 0o600 });
    etcd = await startEtcd({ tls: { ...files, clientCertAuth: true, client: { certFile: files.clientCert, keyFile: files.clientKey } } });
    // A host name, as the certificate names (TLS wants no IP address as server name).
    endpoints = etcd.endpoints.map((e) => e.replace(/^https:\/\/127\.0\.0\.1:/, 'https://localhost:'));
  });
  after(async () => {
    await etcd?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('with the CA and a client certificate the store works over TLS', async () => {
    assert.match(endpoints[0] as string, /^https:\/\/localhost:/);
    const withoutScheme = endpoints.map((e) => e.replace(/^https:\/\//, '')); // tls implies https
    const store = await EtcdKeyStore.connect(config(withoutScheme, { tls: { caPath: files.caFile, certFile: files.clientCert, keyFile: files.clientKey } }));
    try {
      await store.create('over-tls', Buffer.from('x'));
      assert.equal(Buffer.from(await store.get('over-tls')).toString(), 'x');
    } finally {
      await store.close();
    }
  });

  test('without a client certificate, or without the CA, the connect fails', { timeout: 30_000 }, async () => {
    await assert.rejects(EtcdKeyStore.connect(config(endpoints, { tls: { caPath: files.caFile } }), { timeoutMs: 2_000 }), /^\w*Error: etcd: cannot use the cluster at https:/);
    await assert.rejects(
      EtcdKeyStore.connect(config(endpoints, { tls: { certFile: files.clientCert, keyFile: files.clientKey } }), { timeoutMs: 2_000 }),
      /^\w*Error: etcd: cannot use the cluster at https:/,
    );
  });

  test('an unreadable TLS file is named in the error', async () => {
    const missing = join(dir, 'missing-ca.crt');
    await assert.rejects(EtcdKeyStore.connect(config(endpoints, { tls: { caPath: missing } })), (err: Error) => err.message === `etcd: cannot read the CA certificates '${missing}': no such file or directory`);
  });
});

/** Retries call until it succeeds (the client's circuit breaker may hold a recovered endpoint back for a few seconds). */
async function eventually<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof KeyStoreUnreachableError)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
