/**
 * No stale key seals data, across servers sharing a real etcd or PostgreSQL (each server
 * `kes server --workers 2`, caches kept 5 minutes): a delete or re-create through one server
 * reaches the other through the store's notifications (etcd watch, PostgreSQL LISTEN/NOTIFY);
 * after the store restarts (notifications interrupted), the other server re-reads what it
 * cached; and in offline mode a key warmed up by one request is served by every worker while
 * etcd hangs. Waits poll with generous limits, far below the cache expiry; the propagation delay
 * itself is measured by bench/propagation.ts.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startClusterServer, type ClusterServer } from '../helpers/cluster-server.js';
import { etcdSkip, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { postgresSkip, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import type { TestResponse } from '../helpers/https-client.js';

const CACHE = 'cache:\n  expiry:\n    any: 5m\n    unused: 5m\n    offline: 5m\n';
/** Automatic rotation of auto-* keys, every 2 s, on both servers (4 workers checking). */
const ROTATION = 'rotation:\n  - keys: auto-*\n    every: 2s\n';
/** How long the tests wait for a change to reach the other server (the target is 1 s). */
const PROPAGATION_LIMIT_MS = 10_000;
/** After a store restart: reconnecting, resuming notifications and re-reading the cache. */
const RESYNC_LIMIT_MS = 30_000;

/** Repeats request (each on a new connection, alternating workers) until it gives status. */
async function until(what: string, limitMs: number, request: () => Promise<TestResponse>, status: number): Promise<void> {
  const end = Date.now() + limitMs;
  let last: TestResponse | undefined;
  while (Date.now() < end) {
    // Two in a row: both workers of the server must agree.
    const [x, y] = [await request(), await request()];
    if (x.status === status && y.status === status) return;
    last = x.status === status ? y : x;
    await sleep(100);
  }
  assert.fail(`${what}: still ${last?.status} ${last?.body} after ${limitMs} ms`);
}

interface Backend {
  name: string;
  skip: string | false | undefined;
  start(): Promise<{
    keystore: () => string;
    restart(): Promise<void>;
    /** Deletes an entry without a notification (PostgreSQL: plain SQL), if the store can. */
    deleteSilently?(name: string): Promise<void>;
    close(): Promise<void>;
  }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'etcd',
    skip: etcdSkip(),
    async start() {
      const etcd: EtcdCluster = await startEtcd();
      return {
        keystore: () => `  etcd:\n    endpoints:\n      - ${etcd.endpoints[0]}\n    prefix: kes/keys/\n`,
        async restart() {
          await etcd.members[0]!.stop('SIGKILL');
          await sleep(500);
          await etcd.members[0]!.start();
        },
        close: () => etcd.close(),
      };
    },
  },
  {
    name: 'PostgreSQL',
    skip: postgresSkip(),
    async start() {
      const pg: PostgresServer = await startPostgres();
      return {
        keystore: () => `  postgres:\n    url: ${pg.url}\n    table: kes_keys\n`,
        async restart() {
          await pg.stop();
          await sleep(500);
          await pg.start();
        },
        async deleteSilently(name) {
          await pg.query('DELETE FROM kes_keys WHERE name = $1', [name]);
        },
        close: () => pg.close(),
      };
    },
  },
];

for (const backend of BACKENDS) {
  describe(`two servers on one ${backend.name}: changes propagate`, { skip: backend.skip || false, timeout: 180_000 }, () => {
    let store: Awaited<ReturnType<Backend['start']>>;
    let a: ClusterServer;
    let b: ClusterServer;
    before(async () => {
      store = await backend.start();
      a = await startClusterServer({ keystore: store.keystore, sections: CACHE + ROTATION });
      b = await startClusterServer({ keystore: store.keystore, sections: CACHE + ROTATION, share: a });
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await store?.close();
    });

    test('a rotation through one server: every worker of it seals with the new version at once, the other server soon', async () => {
      const versionOf = (r: TestResponse) => {
        const c = Buffer.from(r.json().ciphertext, 'base64');
        return c.subarray(0, 4).toString('hex') === '6f6b7601' ? c.readUInt32BE(4) : 1;
      };
      assert.equal((await a.once('POST', '/v1/key/create/r1')).status, 200);
      for (let i = 0; i < 4; i++) {
        assert.equal(versionOf(await a.once('POST', '/v1/key/generate/r1', {})), 1);
        assert.equal(versionOf(await b.once('POST', '/v1/key/generate/r1', {})), 1);
      }
      assert.deepEqual((await a.once('PUT', '/v1/key/rotate/r1')).json(), { version: 2 });
      for (let i = 0; i < 4; i++) assert.equal(versionOf(await a.once('POST', '/v1/key/generate/r1', {})), 2, `a, request ${i}`);
      const end = Date.now() + PROPAGATION_LIMIT_MS;
      while (versionOf(await b.once('POST', '/v1/key/generate/r1', {})) !== 2 || versionOf(await b.once('POST', '/v1/key/generate/r1', {})) !== 2) {
        assert.ok(Date.now() < end, 'b seals with version 2 within the limit');
        await sleep(100);
      }
    });

    test('10 concurrent rotations through both servers: every answered version is in the ring, none lost', async () => {
      assert.equal((await a.once('POST', '/v1/key/create/r2')).status, 200);
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).once('PUT', '/v1/key/rotate/r2')));
      const won = answers.filter((r) => r.status === 200).map((r) => r.json().version as number);
      for (const r of answers) if (r.status !== 200) assert.deepEqual([r.status, r.json().message], [409, 'key was changed concurrently: try again']);
      assert.ok(won.length >= 5, `at least half succeed: ${answers.map((r) => r.status).join(' ')}`);
      assert.equal(new Set(won).size, won.length, 'no version twice');
      const versions = (await b.once('GET', '/v1/key/describe/r2')).json().versions.map((v: { version: number }) => v.version);
      assert.deepEqual(versions, Array.from({ length: won.length + 1 }, (_, i) => i + 1));
      assert.deepEqual([...won].sort((x, y) => x - y), versions.slice(1));
    });

    test('automatic rotation checked by both servers (four workers) happens once per period', async () => {
      assert.equal((await a.once('POST', '/v1/key/create/auto-r')).status, 200);
      await sleep(7_000);
      const versions = (await b.once('GET', '/v1/key/describe/auto-r')).json().versions as { version: number; created_at: string }[];
      assert.ok(versions.length >= 2, `rotated at least once in 7 s: ${versions.length} versions`);
      assert.deepEqual(versions.map((v) => v.version), Array.from({ length: versions.length }, (_, i) => i + 1));
      const times = versions.map((v) => Date.parse(v.created_at));
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 1_900, `version ${i + 1} came ${times[i]! - times[i - 1]!} ms after version ${i}: rotated twice`);
    });

    test('a delete through one server is seen by the other', async () => {
      assert.equal((await a.once('POST', '/v1/key/create/k1')).status, 200);
      for (let i = 0; i < 4; i++) assert.equal((await b.once('POST', '/v1/key/generate/k1', {})).status, 200, 'both of b\'s workers cache k1');
      assert.equal((await a.once('DELETE', '/v1/key/delete/k1')).status, 200);
      await until('b generates with the deleted key', PROPAGATION_LIMIT_MS, () => b.once('POST', '/v1/key/generate/k1', {}), 404);
    });

    test('after a re-create through one server, the other seals only with the new key', async () => {
      assert.equal((await a.once('POST', '/v1/key/create/k2')).status, 200);
      for (let i = 0; i < 4; i++) await b.once('POST', '/v1/key/generate/k2', {});
      assert.equal((await a.once('DELETE', '/v1/key/delete/k2')).status, 200);
      assert.equal((await a.once('POST', '/v1/key/create/k2')).status, 200);
      const fresh = (await a.once('POST', '/v1/key/generate/k2', {})).json().ciphertext;
      // Once b decrypts what a sealed with the new key, b has dropped the old one ...
      await until('b decrypts with the new key', PROPAGATION_LIMIT_MS, () => b.once('POST', '/v1/key/decrypt/k2', { ciphertext: fresh }), 200);
      // ... so every data key b hands out now opens at a.
      for (let i = 0; i < 6; i++) {
        const dek = await b.once('POST', '/v1/key/generate/k2', {});
        const dec = await a.once('POST', '/v1/key/decrypt/k2', { ciphertext: dek.json().ciphertext });
        assert.deepEqual([dec.status, dec.json().plaintext], [200, dek.json().plaintext], `data key ${i}`);
      }
    });

    test('after the store restarts (notifications interrupted), a delete still reaches the other server', async () => {
      for (const name of ['before', 'during']) {
        assert.equal((await a.once('POST', `/v1/key/create/${name}`)).status, 200);
        for (let i = 0; i < 4; i++) assert.equal((await b.once('POST', `/v1/key/generate/${name}`, {})).status, 200);
      }
      // A delete no notification reports (plain SQL) is found when b re-reads its cache.
      const silent = store.deleteSilently !== undefined;
      if (silent) {
        assert.equal((await a.once('POST', '/v1/key/create/silent')).status, 200);
        for (let i = 0; i < 4; i++) assert.equal((await b.once('POST', '/v1/key/generate/silent', {})).status, 200);
        await store.deleteSilently!('silent');
        assert.equal((await b.once('POST', '/v1/key/generate/silent', {})).status, 200, 'unnotified: b still has it cached');
      }
      await store.restart();
      // Deleted as soon as the store answers, maybe before b's notifications are back.
      const end = Date.now() + RESYNC_LIMIT_MS;
      let deleted = await a.once('DELETE', '/v1/key/delete/during');
      while (deleted.status >= 500 && Date.now() < end) {
        await sleep(100);
        deleted = await a.once('DELETE', '/v1/key/delete/during');
      }
      assert.equal(deleted.status, 200, `a deletes through the restarted store: ${deleted.body}`);
      await until('b generates with the key deleted around the restart', RESYNC_LIMIT_MS, () => b.once('POST', '/v1/key/generate/during', {}), 404);
      assert.match(b.cli.stderr(), /key store notifications interrupted/);
      if (silent) {
        await until('b drops the key deleted without a notification', RESYNC_LIMIT_MS, () => b.once('POST', '/v1/key/generate/silent', {}), 404);
        assert.match(b.cli.stderr(), /re-read \d+ cached keys, dropped [1-9]/);
      }
      await until('b re-read its cache', RESYNC_LIMIT_MS, async () => ({ status: /notifications resumed: re-read \d+ cached keys/.test(b.cli.stderr()) ? 200 : 0 }) as TestResponse, 200);
      // Once notifications are back, changes travel as before. (A call may still meet the store
      // client's reconnection after the restart: a 5xx is retried, as for the delete above.)
      let again = await a.once('DELETE', '/v1/key/delete/before');
      for (const end = Date.now() + RESYNC_LIMIT_MS; again.status >= 500 && Date.now() < end; ) {
        await sleep(100);
        again = await a.once('DELETE', '/v1/key/delete/before');
      }
      assert.equal(again.status, 200, `a deletes after the restart: ${again.body}`);
      await until('b generates with a key deleted after the restart', PROPAGATION_LIMIT_MS, () => b.once('POST', '/v1/key/generate/before', {}), 404);
    });
  });
}

describe('offline mode spans the workers: a hung etcd after one warm-up request', { skip: etcdSkip() ?? false, timeout: 120_000 }, () => {
  let etcd: EtcdCluster;
  let s: ClusterServer;
  before(async () => {
    etcd = await startEtcd();
    s = await startClusterServer({ keystore: () => `  etcd:\n    endpoints:\n      - ${etcd.endpoints[0]}\n    prefix: kes/keys/\n    timeout: 2s\n`, sections: CACHE });
  });
  after(async () => {
    etcd?.members[0]?.resume();
    await s?.close();
    await etcd?.close();
  });

  test('every worker serves the key one worker fetched', async () => {
    assert.equal((await s.once('POST', '/v1/key/create/warm')).status, 200);
    await sleep(500); // the create's own cache traffic settles
    assert.equal((await s.once('POST', '/v1/key/generate/warm', {})).status, 200, 'the single warm-up request');
    await sleep(200); // its fill reaches the other worker through the primary
    etcd.members[0]!.pause();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await s.once('POST', '/v1/key/generate/warm', {})).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    etcd.members[0]!.resume();
  });
});
