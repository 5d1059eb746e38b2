/**
 * The bad-input matrix over the live server (issue 7): every route of the route table × every
 * class of bad input that applies to it (test/helpers/bad-input.ts), over HTTP/1.1 and HTTP/2,
 * as the admin and as an identity whose policy allows two paths. Every row asserts the exact
 * status and KES message, and never a 5xx; the server answers after each route's rows; and the
 * files of the key store (fs) are byte-identical afterwards.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestCert } from '../helpers/certs.js';
import type { TestClient } from '../helpers/https-client.js';
import { buildRoutes, type Route } from '../../src/server/routes.js';
import { BODY_SHAPES, OK, bodyRows, limitedRows, mismatch, requestRows, send, type Row, type Transport, type ValidRequest } from '../helpers/bad-input.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

/** The route table the server is started with (no `api:` overrides). */
const ROUTES: readonly Route[] = buildRoutes();
const TRANSPORTS: readonly Transport[] = ['HTTP/1.1', 'HTTP/2'];

/** A hash of every file (name and bytes) of a directory tree. */
function hashTree(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(d, entry.name);
      hash.update(`${path}\0`);
      if (entry.isDirectory()) walk(path);
      else hash.update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

describe('bad input on every route', () => {
  let t: TestServer;
  let limited: TestCert;
  let keysDir: string;
  let hashBefore: string;
  let valid: Record<string, ValidRequest>;
  const allowed = new Set(['/v1/key/describe/k1', '/v1/key/encrypt/k1']);
  const clients = new Map<string, TestClient>();
  const counts = { resources: 0, bodies: 0, limited: 0 };

  before(async () => {
    t = await startTestServer((config, pki, dir) => {
      limited = pki.client({ commonName: 'limited' });
      keysDir = join(dir, 'keys');
      config.keystore = { type: 'fs', path: keysDir };
      config.policies = { limited: { allow: [...allowed], deny: [], identities: [limited.identity] } };
    });
    const admin = t.client();
    for (const name of ['k1', 'k2']) assert.equal((await admin.request('PUT', `/v1/key/create/${name}`)).status, 200);
    const context = b64('ctx');
    const { ciphertext } = (await admin.request('PUT', '/v1/key/encrypt/k1', { plaintext: b64('hello'), context })).json();
    valid = {
      '/version': { resource: '', expect: OK },
      '/v1/ready': { resource: '', expect: OK },
      '/v1/status': { resource: '', expect: OK },
      '/v1/metrics': { resource: '', expect: OK },
      '/v1/api': { resource: '', expect: OK },
      '/v1/key/create/': { resource: 'k1', expect: { status: 400, message: 'key already exists' } },
      '/v1/key/import/': { resource: 'k1', body: { key: b64(Buffer.alloc(32, 7)), cipher: 'AES256' }, expect: { status: 400, message: 'key already exists' } },
      '/v1/key/describe/': { resource: 'k1', expect: OK },
      '/v1/key/list/': { resource: 'k*', expect: OK },
      '/v1/key/delete/': { resource: 'no-such-key', expect: { status: 404, message: 'key does not exist' } },
      '/v1/key/generate/': { resource: 'k1', body: { context }, expect: OK },
      '/v1/key/encrypt/': { resource: 'k1', body: { plaintext: b64('hello'), context }, expect: OK },
      '/v1/key/decrypt/': { resource: 'k1', body: { ciphertext, context }, expect: OK },
      '/v1/key/hmac/': { resource: 'k1', body: { message: b64('hello') }, expect: OK },
      '/v1/key/bulk/decrypt/': { resource: 'k1', body: [{ ciphertext, context }], expect: OK },
      // Key rings: requests that do not change the store.
      '/v1/key/rotate/': { resource: 'no-such-key', body: { key: b64(Buffer.alloc(32, 7)), cipher: 'AES256' }, expect: { status: 404, message: 'key does not exist' } },
      '/v1/key/delete-version/': { resource: 'k1', body: { version: 99 }, expect: { status: 404, message: 'key version does not exist' } },
      '/v1/key/rewrap/': { resource: 'k1', body: { ciphertext, context }, expect: OK },
      '/v1/policy/describe/': { resource: 'limited', expect: OK },
      '/v1/policy/read/': { resource: 'limited', expect: OK },
      '/v1/policy/list/': { resource: '*', expect: OK },
      '/v1/identity/describe/': { resource: limited.identity, expect: OK },
      '/v1/identity/list/': { resource: '*', expect: OK },
      '/v1/identity/self/describe': { resource: '', expect: OK },
      '/v1/log/error': { resource: '', expect: OK, stream: true },
      '/v1/log/audit': { resource: '', expect: OK, stream: true },
    };
    hashBefore = hashTree(keysDir);
  });

  after(() => t.close());

  const client = (transport: Transport, who: 'admin' | 'limited') => {
    const id = `${transport} ${who}`;
    let c = clients.get(id);
    if (!c) {
      const cert = who === 'admin' ? t.admin : limited;
      c = transport === 'HTTP/1.1' ? t.client(cert) : t.http2(cert);
      clients.set(id, c);
    }
    return c;
  };

  /** Runs rows in order; collects every mismatch, so one failure shows all of a route's. */
  async function run(transport: Transport, who: 'admin' | 'limited', rows: Row[], kind: keyof typeof counts): Promise<void> {
    const failures: string[] = [];
    counts[kind] += rows.length;
    for (const row of rows) {
      const label = `${transport} ${who} ${row.method} ${row.path.slice(0, 80)}${row.path.length > 80 ? '…' : ''} (${row.what})`;
      let r;
      try {
        r = await send(client(transport, who), transport, row);
      } catch (err) {
        failures.push(`${label}: request failed: ${(err as Error).message}`);
        continue;
      }
      if (r.status >= 500) failures.push(`${label}: a ${r.status}`);
      const problem = mismatch(r, row.expect, row.method);
      if (problem) failures.push(`${label}: ${problem}`);
    }
    assert.deepEqual(failures, []);
    // The server still answers, on the same client (reconnecting if the server closed it).
    assert.equal((await client(transport, who).request('GET', '/v1/status')).status, who === 'admin' ? 200 : 403);
  }

  test('every route has a valid request and, when it reads a body, a body shape', () => {
    const paths = t.server.current.routes.map((r) => r.path);
    assert.deepEqual(paths, ROUTES.map((r) => r.path), 'the live route table is the one the matrix is built from');
    assert.deepEqual(paths.filter((p) => !valid[p]), [], 'describe the valid request of these routes in this file');
    assert.deepEqual(ROUTES.filter((r) => r.maxBody > 0 && !BODY_SHAPES[r.path]).map((r) => r.path), [], 'describe their bodies in BODY_SHAPES');
  });

  for (const transport of TRANSPORTS) {
    describe(transport, () => {
      for (const route of ROUTES) {
        test(`${route.method} ${route.path}: bad resources, methods, queries and headers`, async () => {
          await run(transport, 'admin', requestRows(route, valid[route.path]!), 'resources');
        });
        const shape = BODY_SHAPES[route.path];
        if (shape) {
          test(`${route.method} ${route.path}: bad bodies`, async () => {
            await run(transport, 'admin', bodyRows(route, valid[route.path]!, shape), 'bodies');
          });
        }
        test(`${route.method} ${route.path}: an identity whose policy does not allow it`, async () => {
          await run(transport, 'limited', limitedRows(route, valid[route.path]!, allowed, shape), 'limited');
        });
      }
    });
  }

  test('afterwards the stored keys are byte-identical and no request failed inside the server', async (ctx) => {
    assert.equal(hashTree(keysDir), hashBefore);
    assert.deepEqual(readdirSync(keysDir).sort(), ['k1', 'k2']);
    assert.doesNotMatch(t.stderr(), /level=ERROR/);
    const r = await t.client().request('PUT', '/v1/key/decrypt/k1', valid['/v1/key/decrypt/']!.body as object);
    assert.deepEqual(r.json(), { plaintext: b64('hello') });
    const total = counts.resources + counts.bodies + counts.limited;
    ctx.diagnostic(`${total} matrix rows (${total / 2} per transport) over ${ROUTES.length} routes: ${counts.resources} resource/method/query, ${counts.bodies} body, ${counts.limited} policy-limited`);
  });
});
