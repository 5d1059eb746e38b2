/**
 * Key store fault scenarios (issue 7, item 4) against a real store process, shared by the etcd
 * and PostgreSQL fault tests:
 *
 *   describeStoreFaults('etcd', { skip, start: async () => ({ keystore, kill, restart, pause, resume, close }) });
 *
 * One store and two in-process servers on it: A with offline caching (`cache.expiry.offline`),
 * B without. The scenarios run in order, each building on the state the previous one left:
 *
 *   (a) the store is killed (SIGKILL) while a load of create/generate/decrypt runs: every
 *       answer is correct or KES's 502/503 error for the operation, none takes longer than its
 *       route time-out plus slack;
 *   (c) while it is down: keys cached on A keep serving after the unused expiry (A is offline),
 *       the same keys on B (no offline caching) are evicted and fail, uncached keys fail, and
 *       /v1/ready and /v1/status report the store unreachable;
 *   (b) it is restarted on the same port and data: both servers recover without a restart,
 *       every create acknowledged in (a) exists and every data key of (a) decrypts;
 *   (d) it hangs (SIGSTOP): every request, /v1/ready and /v1/status included, answers within
 *       its route time-out plus slack; after SIGCONT the servers recover.
 *
 * Time-outs are short (store 1.5 s, key routes 3 s, listing 1 s) so that the scenarios stay
 * fast; what dominates is the cache's status probe, every 10 s, which notices an outage and a
 * recovery.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyStoreConfig, ServerConfig } from '../../src/config/types.js';
import { startTestServer, type TestServer } from './test-server.js';
import type { TestClient, TestResponse } from './https-client.js';

/** A store process the scenarios can crash, restart and freeze. */
export interface FaultyStore {
  /** The `keystore:` section for the store, with the given call time-out. */
  keystore(timeoutMs: number): KeyStoreConfig;
  /** Crashes the store (SIGKILL of its processes). */
  kill(): Promise<void>;
  /** Starts the killed store again on the same port and data; resolves once it serves. */
  restart(): Promise<void>;
  /** Freezes the store (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Unfreezes it (SIGCONT). */
  resume(): void;
  /** Removes the store and its data. */
  close(): Promise<void>;
}

export interface StoreFaultOptions {
  /** Skip every scenario with this message (the store's binary is missing). */
  skip?: string;
  start(): Promise<FaultyStore>;
}

/** Bound of every store call. */
const STORE_TIMEOUT_MS = 1_500;
/** Route time-out of the key routes the scenarios use. */
const KEY_ROUTE_TIMEOUT_MS = 3_000;
/** Route time-out of listings: shorter than the store's, so a hung store meets it first. */
const LIST_ROUTE_TIMEOUT_MS = 1_000;
/** Default route time-out (/v1/ready, /v1/status). */
const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
/** The latest an answer may come: its route time-out plus this. */
const SLACK_MS = 5_000;
/** Cache expiry of unused keys: an unused key is gone after at most this long. */
const UNUSED_EXPIRY_MS = 3_000;
/** The cache's status probe runs every 10 s (src/keystore/cache.ts) and takes up to the store time-out. */
const PROBE_BOUND_MS = 10_000 + STORE_TIMEOUT_MS + SLACK_MS;
/** How long the servers may take to serve again once the store is back (etcd's client rests a failed member for 5 s). */
const RECOVERY_BOUND_MS = 15_000;

const KEY_ROUTES = ['/v1/key/create/', '/v1/key/generate/', '/v1/key/encrypt/', '/v1/key/decrypt/', '/v1/key/describe/'];

type Op = 'create' | 'generate' | 'encrypt' | 'decrypt' | 'describe' | 'list';

/** KES's 502 message for a store failure during each operation (protocol.md §5.3). */
const STORE_FAILURE: Record<Op, string> = {
  create: 'failed to create key',
  generate: 'failed to read key',
  encrypt: 'failed to read key',
  decrypt: 'failed to read key',
  describe: 'failed to read key',
  list: 'failed to list keys',
};

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** A data key the load got: decrypting `ciphertext` with `name` and `context` must give `plaintext`. */
interface DataKey {
  name: string;
  context: string;
  plaintext: string;
  ciphertext: string;
}

/** Answers of one scenario, counted. */
class Tally {
  readonly ok: Record<string, number> = {};
  readonly failed: Record<string, number> = {};
  add(op: string, ok: boolean): void {
    const t = ok ? this.ok : this.failed;
    t[op] = (t[op] ?? 0) + 1;
  }
  total(t: Record<string, number>): number {
    return Object.values(t).reduce((a, b) => a + b, 0);
  }
  toString(): string {
    return `ok ${JSON.stringify(this.ok)}, failed ${JSON.stringify(this.failed)}`;
  }
}

/**
 * Sends a request and fails (instead of waiting) when no answer comes within the route
 * time-out plus slack.
 */
async function timed(client: TestClient, routeTimeoutMs: number, method: string, path: string, body?: object): Promise<TestResponse> {
  const bound = routeTimeoutMs + SLACK_MS;
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${method} ${path}: no answer within ${bound} ms (route time-out ${routeTimeoutMs} ms + ${SLACK_MS} ms)`)), bound);
  });
  try {
    const res = await Promise.race([client.request(method, path, body), late]);
    const ms = performance.now() - start;
    assert.ok(ms <= bound, `${method} ${path} answered after ${Math.round(ms)} ms, above ${bound} ms`);
    return res;
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that res is KES's error for a failed store call: 502 `failed to <op>` or 503 `request timeout exceeded`. */
function assertStoreFailure(op: Op, res: TestResponse, context: string): void {
  const message = res.headers['content-type'] === 'application/json' ? (JSON.parse(res.body) as { message?: unknown }).message : res.body;
  const allowed = [`502 ${STORE_FAILURE[op]}`, '503 request timeout exceeded'];
  assert.ok(allowed.includes(`${res.status} ${String(message)}`), `${context}: ${op} answered ${res.status} ${res.body.trim()}, expected one of: ${allowed.join(' | ')}`);
}

/** Polls check every 100 ms until it holds; fails after boundMs. Returns the time it took. */
async function until(what: string, boundMs: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > boundMs) throw new Error(`${what}: not within ${boundMs} ms`);
    await sleep(100);
  }
  return performance.now() - start;
}

export function describeStoreFaults(name: string, options: StoreFaultOptions): void {
  describe(`${name} key store faults`, { skip: options.skip ?? false }, () => {
    let store: FaultyStore;
    let a: TestServer; // offline caching on
    let b: TestServer; // offline caching off
    let ca: TestClient;
    let cb: TestClient;
    const acked: string[] = []; // creates answered 200 during (a)
    const dataKeys: DataKey[] = []; // data keys generated during (a)
    const warm = ['warm-0', 'warm-1', 'warm-2'];
    const warmCiphertexts = new Map<string, string>(); // name -> ciphertext of 'warm <name>'
    const cold = 'cold-0'; // created, never read before (c)

    const configure = (offline: number) => (c: ServerConfig) => {
      c.keystore = store.keystore(STORE_TIMEOUT_MS);
      c.cache = { ...c.cache, unused: UNUSED_EXPIRY_MS, offline };
      for (const path of KEY_ROUTES) c.api[path] = { skipAuth: false, timeoutMs: KEY_ROUTE_TIMEOUT_MS };
      c.api['/v1/key/list/'] = { skipAuth: false, timeoutMs: LIST_ROUTE_TIMEOUT_MS };
    };
    const decryptWarm = (client: TestClient, key: string) =>
      timed(client, KEY_ROUTE_TIMEOUT_MS, 'PUT', `/v1/key/decrypt/${key}`, { ciphertext: warmCiphertexts.get(key), context: b64(Buffer.from(key)) });
    const readyAnswer = async (client: TestClient) => {
      const res = await timed(client, DEFAULT_ROUTE_TIMEOUT_MS, 'GET', '/v1/ready');
      return `${res.status} ${res.status === 200 ? '' : res.json().message}`.trim();
    };

    before(async () => {
      store = await options.start();
      a = await startTestServer(configure(60_000));
      b = await startTestServer((c) => {
        configure(0)(c);
        c.admin = a.admin.identity;
      });
      ca = a.client();
      cb = b.client(a.admin);
      for (const key of [...warm, cold]) assert.equal((await ca.request('POST', `/v1/key/create/${key}`)).status, 200, key);
      for (const key of warm) {
        const enc = await ca.request('PUT', `/v1/key/encrypt/${key}`, { plaintext: b64(Buffer.from(`warm ${key}`)), context: b64(Buffer.from(key)) });
        assert.equal(enc.status, 200);
        warmCiphertexts.set(key, enc.json().ciphertext);
        assert.equal((await decryptWarm(cb, key)).status, 200, 'cached on B too');
      }
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await store?.close();
    });

    test('(a) store killed under load: every answer is correct or KES 502/503, none hangs', async (t) => {
      const tally = new Tally();
      let stop = false;
      let seq = 0;
      // Keeps the warm keys in use on both servers, so that only the outage can evict them.
      const keeper = (async () => {
        while (!stop) {
          for (const key of warm) for (const c of [ca, cb]) assert.equal((await decryptWarm(c, key)).status, 200, `cached ${key} serves`);
          await sleep(200);
        }
      })();
      const worker = async (w: number) => {
        const client = w % 2 === 0 ? ca : cb;
        while (!stop) {
          const key = `load-${w}-${seq++}`;
          const created = await timed(client, KEY_ROUTE_TIMEOUT_MS, 'POST', `/v1/key/create/${key}`);
          tally.add('create', created.status === 200);
          if (created.status !== 200) assertStoreFailure('create', created, key);
          else {
            acked.push(key);
            const context = b64(randomBytes(8));
            const gen = await timed(client, KEY_ROUTE_TIMEOUT_MS, 'PUT', `/v1/key/generate/${key}`, { context });
            tally.add('generate', gen.status === 200);
            if (gen.status !== 200) assertStoreFailure('generate', gen, key);
            else dataKeys.push({ name: key, context, ...(gen.json() as { plaintext: string; ciphertext: string }) });
          }
          const dk = dataKeys[Math.floor(Math.random() * dataKeys.length)];
          if (dk) {
            // Through the other server: its cache may not hold the key yet.
            const other = client === ca ? cb : ca;
            const dec = await timed(other, KEY_ROUTE_TIMEOUT_MS, 'PUT', `/v1/key/decrypt/${dk.name}`, { ciphertext: dk.ciphertext, context: dk.context });
            tally.add('decrypt', dec.status === 200);
            if (dec.status === 200) assert.equal(dec.json().plaintext, dk.plaintext, `decrypt ${dk.name}: a wrong plaintext`);
            else assertStoreFailure('decrypt', dec, dk.name);
          }
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      const failing = (async () => {
        await sleep(700);
        await store.kill();
        // Longer than the store time-out, so that calls caught by the kill end too.
        await sleep(STORE_TIMEOUT_MS + 1_500);
        stop = true;
      })();
      try {
        await Promise.all([load, keeper, failing]);
      } finally {
        stop = true;
      }
      t.diagnostic(`answers: ${tally}`);
      assert.ok((tally.ok.create ?? 0) > 0 && (tally.ok.decrypt ?? 0) > 0, `the load ran before the kill: ${tally}`);
      assert.ok((tally.failed.create ?? 0) > 0, `creates hit the dead store: ${tally}`);
    });

    test('(c) store down: cached keys keep serving with offline caching, uncached ones fail with KES errors', async (t) => {
      // Keep the warm keys in use until A's status probe has marked the store offline.
      let stop = false;
      const keeper = (async () => {
        while (!stop) {
          for (const key of warm) for (const c of [ca, cb]) assert.equal((await decryptWarm(c, key)).status, 200, `cached ${key} serves`);
          await sleep(200);
        }
      })();
      let waited: number;
      try {
        waited = await until('the servers see the store offline', PROBE_BOUND_MS, () => a.server.current.cache.isOffline && b.server.current.cache.isOffline);
      } finally {
        stop = true;
        await keeper;
      }
      t.diagnostic(`offline noticed after ${Math.round(waited)} ms`);
      // Leave the keys unused for longer than the unused expiry.
      await sleep(UNUSED_EXPIRY_MS + 1_500);

      for (const key of warm) {
        const dec = await decryptWarm(ca, key);
        assert.equal(dec.status, 200, `A (offline caching) still serves cached ${key}: ${dec.body}`);
        assert.equal(Buffer.from(dec.json().plaintext, 'base64').toString(), `warm ${key}`);
        const enc = await timed(ca, KEY_ROUTE_TIMEOUT_MS, 'PUT', `/v1/key/encrypt/${key}`, { plaintext: b64(Buffer.from('x')) });
        assert.equal(enc.status, 200, `A encrypts with cached ${key}`);
        assertStoreFailure('decrypt', await decryptWarm(cb, key), `B (no offline caching) evicted ${key}`);
      }
      for (const c of [ca, cb]) {
        assertStoreFailure('encrypt', await timed(c, KEY_ROUTE_TIMEOUT_MS, 'PUT', `/v1/key/encrypt/${cold}`, { plaintext: b64(Buffer.from('x')) }), 'an uncached key');
        assertStoreFailure('create', await timed(c, KEY_ROUTE_TIMEOUT_MS, 'POST', '/v1/key/create/during-outage'), 'a create');
        assert.equal(await readyAnswer(c), '504 key store is not reachable');
        const status = await timed(c, DEFAULT_ROUTE_TIMEOUT_MS, 'GET', '/v1/status');
        assert.equal(status.status, 200);
        assert.deepEqual([status.json().keystore_unreachable, status.json().keystore_unavailable, status.json().keystore_latency], [true, true, undefined]);
      }
    });

    test('(b) store restarted: the servers recover without a restart; acknowledged creates and data keys of (a) hold', async (t) => {
      await store.restart();
      let n = 0;
      for (const [label, c] of [['A', ca], ['B', cb]] as const) {
        const took = await until(`server ${label} creates keys again`, RECOVERY_BOUND_MS, async () => {
          const res = await timed(c, KEY_ROUTE_TIMEOUT_MS, 'POST', `/v1/key/create/recovered-${label}-${n++}`);
          if (res.status !== 200) assertStoreFailure('create', res, 'while recovering');
          return res.status === 200;
        });
        t.diagnostic(`server ${label} recovered after ${Math.round(took)} ms`);
      }
      for (const c of [ca, cb]) assert.equal((await timed(c, KEY_ROUTE_TIMEOUT_MS, 'PUT', `/v1/key/encrypt/${cold}`, { plaintext: b64(Buffer.from('x')) })).status, 200, 'the uncached key is read from the store again');
      // Nothing acknowledged was lost, and no data key decrypts to anything else.
      for (const [i, key] of acked.entries()) {
        const res = await timed(i % 2 === 0 ? ca : cb, KEY_ROUTE_TIMEOUT_MS, 'GET', `/v1/key/describe/${key}`);
        assert.equal(res.status, 200, `acknowledged create of ${key}: ${res.status} ${res.body}`);
      }
      for (const [i, dk] of dataKeys.entries()) {
        const res = await timed(i % 2 === 0 ? ca : cb, KEY_ROUTE_TIMEOUT_MS, 'PUT', `/v1/key/decrypt/${dk.name}`, { ciphertext: dk.ciphertext, context: dk.context });
        assert.equal(res.status, 200, `data key of ${dk.name}: ${res.body}`);
        assert.equal(res.json().plaintext, dk.plaintext, `data key of ${dk.name}`);
      }
      t.diagnostic(`checked ${acked.length} acknowledged creates and ${dataKeys.length} data keys`);
      // /v1/ready follows at the next status probe.
      for (const c of [ca, cb]) await until('/v1/ready answers 200 again', PROBE_BOUND_MS, async () => (await readyAnswer(c)) === '200');
    });

    test('(d) store hung (SIGSTOP): every request answers within its route time-out, then the servers recover', async (t) => {
      // A key the servers have not read yet, so that using it needs the store.
      assert.equal((await ca.request('POST', '/v1/key/create/hung-uncached')).status, 200);
      // And a key both servers have just read.
      for (const c of [ca, cb]) assert.equal((await decryptWarm(c, warm[0]!)).status, 200);
      store.pause();
      try {
        const start = performance.now();
        const checks = [ca, cb].flatMap((c) => [
          timed(c, KEY_ROUTE_TIMEOUT_MS, 'POST', '/v1/key/create/during-hang').then((r) => assertStoreFailure('create', r, 'create on a hung store')),
          timed(c, KEY_ROUTE_TIMEOUT_MS, 'PUT', '/v1/key/generate/hung-uncached', {}).then((r) => assertStoreFailure('generate', r, 'generate on a hung store')),
          timed(c, LIST_ROUTE_TIMEOUT_MS, 'GET', '/v1/key/list/*').then((r) => {
            assert.deepEqual([r.status, r.json().message], [503, 'request timeout exceeded'], 'a listing meets its 1 s route time-out first');
          }),
          readyAnswer(c).then((r) => assert.equal(r, '504 key store is not reachable')),
          timed(c, DEFAULT_ROUTE_TIMEOUT_MS, 'GET', '/v1/status').then((r) => {
            assert.equal(r.status, 200);
            assert.equal(r.json().keystore_unreachable, true);
          }),
          decryptWarm(c, warm[0]!).then((r) => assert.equal(r.status, 200, 'a cached key does not need the store')),
        ]);
        await Promise.all(checks);
        t.diagnostic(`${checks.length} requests answered within ${Math.round(performance.now() - start)} ms while the store hung`);
      } finally {
        store.resume();
      }
      for (const [label, c] of [['A', ca], ['B', cb]] as const) {
        let n = 0;
        const took = await until(`server ${label} serves again after the hang`, RECOVERY_BOUND_MS, async () => {
          const res = await timed(c, KEY_ROUTE_TIMEOUT_MS, 'PUT', '/v1/key/generate/hung-uncached', {});
          if (res.status !== 200) assertStoreFailure('generate', res, `after the hang (${n++})`);
          return res.status === 200;
        });
        t.diagnostic(`server ${label} served again ${Math.round(took)} ms after SIGCONT`);
      }
    });
  });
}
