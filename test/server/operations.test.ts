/**
 * Authorization by operation, not by spelling (api/operations.ts): no route may perform an
 * operation that the operation's canonical path would refuse. The walk over the route table
 * observes what each route really does (the key operations it calls) and checks that the policy
 * check covers it, and that denying any path the route needs refuses the request.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as P from '../../src/api/paths.js';
import { buildRoutes, type Route } from '../../src/server/routes.js';
import { SecretKey } from '../../src/crypto/secret-key.js';
import { HmacKey } from '../../src/crypto/hmac-key.js';
import { KeyCache } from '../../src/keystore/cache.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestCert } from '../helpers/certs.js';

const denied = '{"message":"not authorized: insufficient permissions"\n}';

describe('authorization by operation', () => {
  let t: TestServer;
  let app: TestCert;
  let ciphertext: string;
  before(async () => {
    t = await startTestServer((config, pki) => {
      app = pki.client({ commonName: 'app' });
      // The broad-allow-with-targeted-deny style SECURITY.md recommends.
      config.policies = { app: { allow: ['/v1/key/*'], deny: ['/v1/key/decrypt/app-secret*'], identities: [app.identity] } };
    });
    const admin = t.client();
    assert.equal((await admin.request('POST', '/v1/key/create/app-secret')).status, 200);
    ciphertext = (await admin.request('POST', '/v1/key/generate/app-secret', {})).json().ciphertext;
  });
  after(() => t.close());

  for (const protocol of ['HTTP/1.1', 'HTTP/2'] as const) {
    test(`a decrypt deny also closes the legacy bulk decrypt route (${protocol})`, async () => {
      const c = protocol === 'HTTP/2' ? t.http2(app) : t.client(app);
      const single = await c.request('PUT', '/v1/key/decrypt/app-secret', { ciphertext, context: '' });
      assert.deepEqual([single.status, single.body], [403, denied]);
      const bulk = await c.request('POST', '/v1/key/bulk/decrypt/app-secret', [{ ciphertext, context: '' }]);
      assert.deepEqual([bulk.status, bulk.body], [403, denied]);
      // The admin's bulk decryption still works: the route itself is served.
      const admin = await t.client().request('POST', '/v1/key/bulk/decrypt/app-secret', [{ ciphertext, context: '' }]);
      assert.equal(admin.status, 200);
    });
  }

  test('the access-denied log line names the refused operation', async () => {
    await t.server.reload({ ...t.config, log: { ...t.config.log, error: -4 } });
    await t.client(app).request('POST', '/v1/key/bulk/decrypt/app-secret', [{ ciphertext, context: '' }]);
    assert.match(t.stderr(), /access denied: rejected by policy 'app'.*req\.operation.*\/v1\/key\/decrypt\/app-secret/);
  });
});

/**
 * A successful request for every route of the table (a route missing here fails the walk).
 * Requests run in this order, on a server where `k` exists and `gone` can be deleted.
 */
const SAMPLES: Record<string, { resource: string; body?: () => object; stream?: boolean }> = {
  [P.PATH_READY]: { resource: '' },
  [P.PATH_STATUS]: { resource: '' },
  [P.PATH_METRICS]: { resource: '' },
  [P.PATH_API]: { resource: '' },
  [P.PATH_KEY_CREATE]: { resource: 'made' },
  [P.PATH_KEY_IMPORT]: { resource: 'imported', body: () => ({ key: Buffer.alloc(32, 7).toString('base64'), cipher: 'AES256' }) },
  [P.PATH_KEY_DESCRIBE]: { resource: 'k' },
  [P.PATH_KEY_LIST]: { resource: '*' },
  [P.PATH_KEY_DELETE]: { resource: 'gone' },
  [P.PATH_KEY_GENERATE]: { resource: 'k', body: () => ({ context: '' }) },
  [P.PATH_KEY_ENCRYPT]: { resource: 'k', body: () => ({ plaintext: 'aGVsbG8=', context: '' }) },
  [P.PATH_KEY_DECRYPT]: { resource: 'k', body: () => ({ ciphertext: sealed, context: '' }) },
  [P.PATH_KEY_HMAC]: { resource: 'k', body: () => ({ message: 'aGVsbG8=' }) },
  [P.PATH_KEY_BULK_DECRYPT]: { resource: 'k', body: () => [{ ciphertext: sealed, context: '' }] },
  [P.PATH_KEY_ROTATE]: { resource: 'k' }, // k gets version 2
  [P.PATH_KEY_DELETE_VERSION]: { resource: 'k', body: () => ({ version: 2 }) },
  [P.PATH_KEY_REWRAP]: { resource: 'k', body: () => ({ ciphertext: sealed, context: '' }) },
  [P.PATH_POLICY_DESCRIBE]: { resource: 'everything' },
  [P.PATH_POLICY_READ]: { resource: 'everything' },
  [P.PATH_POLICY_LIST]: { resource: '*' },
  [P.PATH_IDENTITY_DESCRIBE]: { resource: '' }, // filled in with the caller's identity
  [P.PATH_IDENTITY_LIST]: { resource: '*' },
  [P.PATH_LOG_ERROR]: { resource: '', stream: true },
  [P.PATH_LOG_AUDIT]: { resource: '', stream: true },
};
let sealed = '';

/**
 * The key operations a handler can perform, each with the canonical paths that authorize it
 * (an encryption is what generate and encrypt do; reading a key is part of every key operation).
 */
const KEY_OPERATIONS: { name: string; target: object; method: string; authorizedBy: string[] }[] = [
  { name: 'decrypt', target: SecretKey.prototype, method: 'decrypt', authorizedBy: [P.PATH_KEY_DECRYPT] },
  // Rewrapping's re-encryption is its own operation: allowed by its own path (with decrypt).
  { name: 'encrypt', target: SecretKey.prototype, method: 'encrypt', authorizedBy: [P.PATH_KEY_ENCRYPT, P.PATH_KEY_GENERATE, P.PATH_KEY_REWRAP] },
  { name: 'hmac', target: HmacKey.prototype, method: 'sum', authorizedBy: [P.PATH_KEY_HMAC] },
  { name: 'store key', target: KeyCache.prototype, method: 'create', authorizedBy: [P.PATH_KEY_CREATE, P.PATH_KEY_IMPORT] },
  { name: 'delete key', target: KeyCache.prototype, method: 'delete', authorizedBy: [P.PATH_KEY_DELETE] },
  { name: 'change key', target: KeyCache.prototype, method: 'replace', authorizedBy: [P.PATH_KEY_ROTATE, P.PATH_KEY_DELETE_VERSION] },
  { name: 'list keys', target: KeyCache.prototype, method: 'list', authorizedBy: [P.PATH_KEY_LIST] },
  {
    name: 'read key',
    target: KeyCache.prototype,
    method: 'get',
    authorizedBy: [P.PATH_KEY_DESCRIBE, P.PATH_KEY_GENERATE, P.PATH_KEY_ENCRYPT, P.PATH_KEY_DECRYPT, P.PATH_KEY_HMAC, P.PATH_KEY_REWRAP],
  },
];
KEY_OPERATIONS.push({ ...KEY_OPERATIONS.at(-1)!, method: 'peek' });

/** Records which key operations run while fn runs. */
async function observe(fn: () => Promise<void>): Promise<Set<(typeof KEY_OPERATIONS)[number]>> {
  const seen = new Set<(typeof KEY_OPERATIONS)[number]>();
  const originals = KEY_OPERATIONS.map((op) => {
    const target = op.target as Record<string, (...a: unknown[]) => unknown>;
    const original = target[op.method]!;
    target[op.method] = function (this: unknown, ...args: unknown[]) {
      seen.add(op);
      return original.apply(this, args);
    };
    return () => (target[op.method] = original);
  });
  try {
    await fn();
  } finally {
    originals.forEach((restore) => restore());
  }
  return seen;
}

describe('the route table walk: every route is authorized for every operation it performs', () => {
  let t: TestServer;
  let caller: TestCert;
  const routes = buildRoutes().filter((r) => r.auth === 'verify');

  before(async () => {
    t = await startTestServer((config, pki, dir) => {
      caller = pki.client({ commonName: 'caller' });
      config.policies = { everything: { allow: ['/*'], deny: [], identities: [caller.identity] } };
      // Each check reloads the policies: a store that outlives reloads.
      config.keystore = { type: 'fs', path: join(dir, 'keys') };
    });
    SAMPLES[P.PATH_IDENTITY_DESCRIBE]!.resource = caller.identity;
    const admin = t.client();
    for (const name of ['k', 'gone']) assert.equal((await admin.request('POST', `/v1/key/create/${name}`)).status, 200);
    sealed = (await admin.request('POST', '/v1/key/encrypt/k', { plaintext: 'aGVsbG8=', context: '' })).json().ciphertext;
  });
  after(() => t.close());

  /** Sends the route's sample request with a policy allowing everything but `deny`. */
  async function send(route: Route, deny: string[] = []): Promise<{ status: number; body: string }> {
    const sample = SAMPLES[route.path]!;
    await t.server.reload({ ...t.config, policies: { everything: { allow: ['/*'], deny, identities: [caller.identity] } } });
    const c = t.client(caller);
    try {
      if (sample.stream && deny.length === 0) {
        const s = await c.stream(route.path + sample.resource);
        s.close();
        return { status: s.status, body: '' };
      }
      return await c.request(route.method, route.path + sample.resource, sample.body?.());
    } finally {
      c.close();
    }
  }

  test('every route that checks a policy has a sample request here', () => {
    assert.deepEqual(
      routes.map((r) => r.path).filter((p) => !SAMPLES[p]),
      [],
      'add a successful sample request for each new route to SAMPLES',
    );
  });

  for (const route of routes) {
    test(`${route.method} ${route.path}`, async () => {
      const sample = SAMPLES[route.path]!;
      const needed = [route.path, ...route.operations];
      // What the route really does, with everything allowed.
      let answer = { status: 0, body: '' };
      const performed = await observe(async () => void (answer = await send(route)));
      assert.equal(answer.status, 200, `the sample request succeeds: ${answer.body}`);
      for (const op of performed) {
        assert.ok(
          op.authorizedBy.some((p) => needed.includes(p)),
          `${route.path} performs '${op.name}' but its policy check covers only ${needed.join(', ')}: list the operation in api/operations.ts`,
        );
      }
      // Denying any path the route needs (its own, or an operation's canonical path) refuses it.
      for (const path of needed) {
        const refused = await send(route, [path + sample.resource]);
        assert.deepEqual([refused.status, refused.body], [403, denied], `denying ${path}${sample.resource} refuses ${route.path}`);
      }
      if (route.path === P.PATH_KEY_CREATE || route.path === P.PATH_KEY_IMPORT) {
        assert.equal((await t.client().request('DELETE', `/v1/key/delete/${sample.resource}`)).status, 200);
      }
      if (route.path === P.PATH_KEY_DELETE) {
        assert.equal((await t.client().request('POST', '/v1/key/create/gone')).status, 200);
      }
    });
  }
});
