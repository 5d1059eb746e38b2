/**
 * Two servers on one real 3-member etcd cluster (loopback): keys are shared, concurrent creates
 * of one name have one winner, a lost member changes nothing, a lost majority fails writes and
 * readiness while cached keys keep serving, and the cluster's return heals both servers.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestClient, TestResponse } from '../helpers/https-client.js';
import { etcdSkip, startEtcd, type EtcdCluster, type EtcdMember } from '../helpers/etcd.js';

const skip = etcdSkip();
const b64 = (s: string) => Buffer.from(s).toString('base64');
const errorBody = (message: string) => `{"message":${JSON.stringify(message)}\n}`;

/** The member's own id and the id of the leader it follows ('0': none). */
async function memberStatus(member: EtcdMember): Promise<{ id: string; leader: string }> {
  const client = new Etcd3({ hosts: member.clientUrl });
  try {
    const status = await client.maintenance.status();
    return { id: status.header.member_id, leader: status.leader };
  } finally {
    client.close();
  }
}

/** The member the others follow. */
async function leaderOf(etcd: EtcdCluster): Promise<EtcdMember> {
  for (const member of etcd.members.filter((m) => m.running)) {
    const { id, leader } = await memberStatus(member);
    if (id === leader) return member;
  }
  throw new Error(`no leader among the running members:\n${etcd.logs()}`);
}

/** Repeats request until its status is the wanted one; the test's time-out bounds the wait. */
async function until(request: () => Promise<TestResponse>, status: number): Promise<TestResponse> {
  for (;;) {
    const r = await request();
    if (r.status === status) return r;
    await sleep(200);
  }
}

describe('two servers on a 3-member etcd cluster', { skip: skip ?? false, timeout: 120_000 }, () => {
  let etcd: EtcdCluster;
  let a: TestServer;
  let b: TestServer;
  let ca: TestClient;
  let cb: TestClient;
  before(async () => {
    etcd = await startEtcd({ members: 3 });
    const configure = (config: TestServer['config']) => {
      config.keystore = { type: 'etcd', endpoints: etcd.endpoints, prefix: 'kes/keys/' };
      config.cache.offline = 5 * 60_000; // cached keys keep serving while the cluster is down
    };
    a = await startTestServer(configure);
    b = await startTestServer(configure);
    ca = a.client(); // each server's own admin
    cb = b.client();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await etcd?.close();
  });

  test('a key created through one server is used through the other', async () => {
    assert.equal((await ca.request('POST', '/v1/key/create/shared-key')).status, 200);
    const gen = await ca.request('POST', '/v1/key/generate/shared-key', { context: b64('ctx') });
    assert.equal(gen.status, 200);
    const dec = await cb.request('POST', '/v1/key/decrypt/shared-key', { ciphertext: gen.json().ciphertext, context: b64('ctx') });
    assert.equal(dec.status, 200);
    assert.equal(dec.json().plaintext, gen.json().plaintext);
    assert.deepEqual((await cb.request('GET', '/v1/key/list/shared-*')).json(), { names: ['shared-key'] });
  });

  test('the same key created concurrently through both: exactly one 200, the other 400', async () => {
    for (let i = 0; i < 5; i++) {
      const name = `race-key-${i}`;
      const results = await Promise.all([ca.request('POST', `/v1/key/create/${name}`), cb.request('POST', `/v1/key/create/${name}`)]);
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 400], name);
      const loser = results.find((r) => r.status === 400);
      assert.equal(loser?.body, errorBody('key already exists'), name);
    }
  });

  test('with one member (the leader) stopped, everything keeps working', async () => {
    const leader = await leaderOf(etcd);
    await leader.stop('SIGKILL');
    // Until the others elect a new leader, writes wait (up to etcd's request time-out, about
    // 7 s with default settings, within the store's deadline); start from the new steady state.
    await etcd.waitHealthy();
    for (const [i, [mine, other]] of ([[ca, cb], [cb, ca]] as const).entries()) {
      const name = `one-down-${i}`;
      assert.equal((await mine.request('POST', `/v1/key/create/${name}`)).status, 200, name);
      const enc = await other.request('POST', `/v1/key/encrypt/${name}`, { plaintext: b64('secret') });
      assert.equal(enc.status, 200, name);
      const dec = await mine.request('POST', `/v1/key/decrypt/${name}`, { ciphertext: enc.json().ciphertext });
      assert.equal(Buffer.from(dec.json().plaintext, 'base64').toString(), 'secret');
      assert.equal((await other.request('DELETE', `/v1/key/delete/${name}`)).status, 200, name);
    }
    assert.equal((await ca.request('GET', '/v1/ready')).status, 200);
    assert.equal((await cb.request('GET', '/v1/ready')).status, 200);
  });

  test('with a majority stopped, creates fail with 502, cached keys keep serving, /v1/ready says 504', async () => {
    // Both servers use the key right before, so both caches hold it.
    const enc = await ca.request('POST', '/v1/key/encrypt/shared-key', { plaintext: b64('cached') });
    assert.equal(enc.status, 200);
    assert.equal((await cb.request('POST', '/v1/key/decrypt/shared-key', { ciphertext: enc.json().ciphertext })).status, 200);

    const [stopping, survivor] = etcd.members.filter((m) => m.running);
    assert.ok(stopping && survivor);
    await stopping.stop('SIGKILL'); // one of three left
    // Once the survivor notices it has no leader (an election time-out), status checks fail at
    // once; before that they wait for the store's deadline.
    while ((await memberStatus(survivor)).leader !== '0') await sleep(100);

    await until(() => ca.request('GET', '/v1/ready'), 504);
    await until(() => cb.request('GET', '/v1/ready'), 504);

    for (const [mine, other] of [[ca, cb], [cb, ca]] as const) {
      const e = await mine.request('POST', '/v1/key/encrypt/shared-key', { plaintext: b64('still here') });
      assert.equal(e.status, 200);
      const d = await other.request('POST', '/v1/key/decrypt/shared-key', { ciphertext: e.json().ciphertext });
      assert.equal(d.status, 200);
      assert.equal(Buffer.from(d.json().plaintext, 'base64').toString(), 'still here');
    }

    // Each waits for the store's deadline (10 s): run them together.
    const [createA, createB] = await Promise.all([ca.request('POST', '/v1/key/create/no-quorum-a'), cb.request('POST', '/v1/key/create/no-quorum-b')]);
    for (const r of [createA, createB]) {
      assert.equal(r.status, 502);
      assert.equal(r.body, errorBody('failed to create key'));
    }
    const status = await ca.request('GET', '/v1/status');
    assert.equal(status.json().keystore_unreachable, true);
  });

  test('members restarted: both servers resume without a restart', async () => {
    const stopped = etcd.members.filter((m) => !m.running);
    await Promise.all(stopped.map((m) => m.start({ waitHealthy: false })));
    await etcd.waitHealthy();

    await until(() => ca.request('GET', '/v1/ready'), 200);
    await until(() => cb.request('GET', '/v1/ready'), 200);
    const created = await until(() => cb.request('POST', '/v1/key/create/after-restart'), 200);
    assert.equal(created.status, 200);
    const gen = await ca.request('POST', '/v1/key/generate/after-restart');
    assert.equal(gen.status, 200);
    const dec = await cb.request('POST', '/v1/key/decrypt/after-restart', { ciphertext: gen.json().ciphertext });
    assert.equal(dec.json().plaintext, gen.json().plaintext);
    const names = (await ca.request('GET', '/v1/key/list/*')).json().names as string[];
    for (const n of ['shared-key', 'race-key-0', 'after-restart']) assert.ok(names.includes(n), `${n} listed`);
  });
});
