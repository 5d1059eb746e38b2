/** Servers sharing one PostgreSQL key store (a real PostgreSQL, see test/helpers/postgres.ts). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestClient, TestResponse } from '../helpers/https-client.js';
import { freePort, postgresSkip, startPostgres, type PostgresServer } from '../helpers/postgres.js';

const skip = postgresSkip() || undefined;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const statusAndMessage = (r: TestResponse) => [r.status, r.status === 200 ? undefined : r.json().message];

describe('two servers on one PostgreSQL key store', { skip }, () => {
  let pg: PostgresServer;
  let a: TestServer;
  let b: TestServer;
  let ca: TestClient;
  let cb: TestClient;
  before(async () => {
    pg = await startPostgres();
    a = await startTestServer((config) => {
      config.keystore = pg.keystore();
    });
    // The second server has the first one's admin (its own test CA, the same client certificate).
    b = await startTestServer((config) => {
      config.keystore = pg.keystore();
      config.admin = a.admin.identity;
    });
    ca = a.client();
    cb = b.client(a.admin);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await pg?.close();
  });

  test('a key created through one server is used through the other', async () => {
    assert.equal((await ca.request('POST', '/v1/key/create/shared-key')).status, 200);
    const enc = await ca.request('PUT', '/v1/key/encrypt/shared-key', { plaintext: b64('hello'), context: b64('ctx') });
    assert.equal(enc.status, 200);
    const dec = await cb.request('PUT', '/v1/key/decrypt/shared-key', { ciphertext: enc.json().ciphertext, context: b64('ctx') });
    assert.equal(dec.status, 200);
    assert.equal(Buffer.from(dec.json().plaintext, 'base64').toString(), 'hello');
    assert.equal((await cb.request('GET', '/v1/key/describe/shared-key')).json().created_by, a.admin.identity);
    assert.deepEqual(statusAndMessage(await cb.request('POST', '/v1/key/create/shared-key')), [400, 'key already exists']);
    const row = await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM kes_keys WHERE name = 'shared-key'");
    assert.equal(row.rows[0]?.n, 1);
  });

  test('the same key created concurrently through both: exactly one 200, the other 400', async () => {
    for (let i = 0; i < 5; i++) {
      const path = `/v1/key/create/race-${i}`;
      const results = (await Promise.all([ca.request('POST', path), cb.request('POST', path)])).map(statusAndMessage);
      assert.deepEqual(
        results.sort((x, y) => Number(x[0]) - Number(y[0])),
        [
          [200, undefined],
          [400, 'key already exists'],
        ],
        `race-${i}`,
      );
    }
  });

  test('a key deleted through one server is gone for the other', async () => {
    assert.equal((await cb.request('POST', '/v1/key/create/short-lived')).status, 200);
    assert.equal((await ca.request('DELETE', '/v1/key/delete/short-lived')).status, 200);
    assert.equal((await cb.request('DELETE', '/v1/key/delete/short-lived')).status, 404);
  });

  test('listing with _ in the pattern lists exactly the matching names (no LIKE wildcard)', async () => {
    for (const name of ['my_key', 'my_key-2', 'myXkey', 'my-key', 'my__']) assert.equal((await ca.request('POST', `/v1/key/create/${name}`)).status, 200);
    const names = (r: TestResponse) => r.json().names as string[];
    assert.deepEqual(names(await cb.request('GET', '/v1/key/list/my_*')), ['my__', 'my_key', 'my_key-2']);
    assert.deepEqual(names(await cb.request('GET', '/v1/key/list/my*')), ['my-key', 'myXkey', 'my__', 'my_key', 'my_key-2']);
  });

  test('database stopped: creates fail with 502 and /v1/ready is 504; restarted: both servers work again', async () => {
    assert.equal((await ca.request('GET', '/v1/ready')).status, 200);
    await pg.stop();
    try {
      for (const c of [ca, cb]) {
        assert.deepEqual(statusAndMessage(await c.request('POST', '/v1/key/create/during-outage')), [502, 'failed to create key']);
        assert.equal((await c.request('GET', '/v1/ready')).status, 504);
        assert.equal((await c.request('GET', '/v1/status')).json().keystore_unreachable, true);
      }
    } finally {
      await pg.start();
    }
    // A server whose background probe saw the outage reports ready again after its next probe.
    for (const c of [ca, cb]) await until(async () => (await c.request('GET', '/v1/ready')).status === 200);
    assert.equal((await ca.request('POST', '/v1/key/create/after-outage')).status, 200);
    assert.deepEqual(statusAndMessage(await cb.request('POST', '/v1/key/create/after-outage')), [400, 'key already exists']);
    const enc = await cb.request('PUT', '/v1/key/encrypt/after-outage', { plaintext: b64('back'), context: b64('') });
    assert.equal(enc.status, 200);
    assert.equal((await ca.request('PUT', '/v1/key/decrypt/after-outage', { ciphertext: enc.json().ciphertext, context: b64('') })).status, 200);
    assert.equal((await cb.request('GET', '/v1/key/describe/shared-key')).status, 200);

    const log = a.stderr() + b.stderr();
    assert.match(log, /postgres: failed to create 'during-outage': connect ECONNREFUSED 127\.0\.0\.1:\d+/);
    assert.ok(!log.includes(pg.password), 'the database password is not logged');
  });
});

test('the server does not start when PostgreSQL cannot be reached', { skip }, async () => {
  const port = await freePort();
  await assert.rejects(
    startTestServer((c) => {
      c.keystore = { type: 'postgres', host: '127.0.0.1', port, user: 'kes', password: 'never-shown', database: 'kes', table: 'kes_keys' };
    }),
    (err: Error) => {
      assert.equal(err.message, `postgres: cannot connect to 127.0.0.1:${port}/kes: connect ECONNREFUSED 127.0.0.1:${port}`);
      return true;
    },
  );
});

/** Polls check every 100 ms until it holds, for at most 30 s (the servers probe the store every 10 s). */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
