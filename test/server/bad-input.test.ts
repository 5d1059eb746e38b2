/**
 * The bad-input matrix over the live server (issue 7): every route of the route table × every
 * class of bad input that applies to it (test/helpers/bad-input.ts), over HTTP/1.1 and HTTP/2,
 * as the admin and as an identity whose policy allows two paths. Every row asserts the exact
 * status and KES (MinKMS) message, and never a 5xx but the 501s of what openkes does not offer;
 * the server answers after each route's rows; and the files of the key store (fs) are
 * byte-identical afterwards.
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
import { BackupKey } from '../../src/backup/backup-key.js';
import * as M from '../../src/kms/messages.js';
import { BODY_SHAPES, OK, bodyRows, kmsFrame, limitedRows, mismatch, rawClient, requestRows, send, type OtherRequest, type RawClient, type Row, type Transport, type ValidRequest } from '../helpers/bad-input.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

/** MinKMS command frames (docs/minkms.md): KEY:STATUS of k1 is `00cc 00000004 0a026b31` (§5.4). */
const status = (name: string) => kmsFrame(204, M.KeyStatusRequest.encode({ name }));
const frames = (...f: Buffer[]) => Buffer.concat(f);

/**
 * MinKMS commands of `/v1/kms[/<enclave>]` besides the valid KEY:STATUS of k1, with the KES paths
 * a config policy must allow (each command's operation and subject, server/access.ts). None
 * changes the store: the writes fail.
 */
const KMS_OTHERS: readonly OtherRequest[] = [
  { what: 'KEY:STATUS of another key', body: status('k2'), needs: ['/v1/key/describe/k2'], expect: { status: 200, frames: [204] } },
  { what: 'a batch of KEY:STATUS of two keys', body: frames(status('k1'), status('k2')), needs: ['/v1/key/describe/k1', '/v1/key/describe/k2'], expect: { status: 200, frames: [204, 204] } },
  { what: 'KEY:ENCRYPT', body: kmsFrame(205, M.EncryptRequest.encode({ name: 'k1', plaintext: Buffer.from('hello') })), needs: ['/v1/key/encrypt/k1'], expect: { status: 200, frames: [205] } },
  {
    what: 'a batch of KEY:STATUS and KEY:ENCRYPT',
    body: frames(status('k1'), kmsFrame(205, M.EncryptRequest.encode({ name: 'k1', plaintext: Buffer.from('hello') }))),
    needs: ['/v1/key/describe/k1', '/v1/key/encrypt/k1'],
    expect: { status: 200, frames: [204, 205] },
  },
  { what: 'KEY:LIST', body: kmsFrame(208, M.ListRequest.encode({ prefix: 'k' })), needs: ['/v1/key/list/k*'], expect: { status: 200, frames: [208] } },
  { what: 'KEY:STATUS of a key that does not exist', body: status('no-such-key'), needs: ['/v1/key/describe/no-such-key'], expect: { status: 404, message: 'key does not exist' } },
  { what: 'KEY:CREATE of a key that exists', body: kmsFrame(201, M.CreateKeyRequest.encode({ name: 'k1' })), needs: ['/v1/key/create/k1'], expect: { status: 409, message: 'key already exists' } },
  {
    what: 'KEY:DELETE of a key that does not exist',
    body: kmsFrame(202, M.DeleteKeyRequest.encode({ name: 'no-such-key', allVersions: true })),
    needs: ['/v1/key/delete/no-such-key'],
    expect: { status: 404, message: 'key does not exist' },
  },
  { what: 'ENCLAVE:LIST (a system command)', body: kmsFrame(104, M.ListRequest.encode({})), needs: 'sysadmin', expect: { status: 200, frames: [104] } },
];

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
  const raws = new Map<string, RawClient>();
  const counts = { resources: 0, bodies: 0, limited: 0 };

  before(async () => {
    t = await startTestServer((config, pki, dir) => {
      limited = pki.client({ commonName: 'limited' });
      keysDir = join(dir, 'keys');
      config.keystore = { type: 'fs', path: keysDir };
      config.policies = { limited: { allow: [...allowed], deny: [], identities: [limited.identity] } };
      config.backup = { key: BackupKey.generate() };
    });
    const admin = t.client();
    for (const name of ['k1', 'k2']) assert.equal((await admin.request('PUT', `/v1/key/create/${name}`)).status, 200);
    const context = b64('ctx');
    const { ciphertext } = (await admin.request('PUT', '/v1/key/encrypt/k1', { plaintext: b64('hello'), context })).json();
    const backup = await raw('HTTP/1.1', 'admin').request({ what: 'a backup', method: 'GET', path: '/v1/db', expect: OK });
    assert.equal(backup.status, 200, backup.body);
    const notSupported = (what: string) => ({ status: 501, message: `not supported: ${what}` });
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
      // MinKMS: requests that do not change the store.
      '/v1/kms': { resource: '', body: status('k1'), expect: { status: 200, frames: [204] }, needs: ['/v1/key/describe/k1'], others: KMS_OTHERS },
      '/v1/kms/': {
        resource: 'default',
        body: status('k1'),
        expect: { status: 200, frames: [204] },
        needs: ['/v1/key/describe/k1'],
        // Config identities act in the default enclave only.
        others: [...KMS_OTHERS, { what: 'an enclave that does not exist', resource: 'no-such-enclave', body: status('k1'), needs: 'sysadmin', expect: { status: 404, message: 'enclave does not exist' } }],
      },
      '/v1/health/live': { resource: '', expect: OK },
      '/v1/health/ready': { resource: '', expect: OK },
      '/v1/db': {
        resource: '',
        expect: OK,
        needs: 'sysadmin',
        others: [{ what: 'method PUT: a backup, into a store that is not empty', method: 'PUT', body: backup.bytes, expect: { status: 409, message: 'key store is not empty: a backup is restored into an empty store' } }],
      },
      // Error records only: nothing is streamed while the matrix runs.
      '/v1/debug/log': { resource: '', body: M.LogRequest.encode({ level: 8, message: 'matrix' }), expect: OK, stream: true, needs: 'sysadmin' },
      '/v1/debug/pprof': {
        resource: '',
        expect: notSupported('profiling'),
        needs: 'sysadmin',
        others: [
          { what: 'method GET (profiling status)', method: 'GET', expect: notSupported('profiling') },
          { what: 'method DELETE (stop profiling)', method: 'DELETE', expect: notSupported('profiling') },
        ],
      },
      '/v1/debug/restart': { resource: '', expect: notSupported('restart'), needs: 'sysadmin' },
      '/v1/rpc/': { resource: 'replicate', expect: notSupported('inter-node RPC') },
    };
    hashBefore = hashTree(keysDir);
  });

  after(async () => {
    for (const r of raws.values()) r.close();
    await t.close();
  });

  /** The client for binary bodies, declared lengths and POST streams. */
  const raw = (transport: Transport, who: 'admin' | 'limited') => {
    const id = `${transport} ${who}`;
    let r = raws.get(id);
    if (!r) raws.set(id, (r = rawClient(transport, t.port, t.pki.ca.certPem, who === 'admin' ? t.admin : limited)));
    return r;
  };

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

  /** The route at a path and its valid request, if the table has one. */
  const neighbour = (path: string): [Route, ValidRequest] | undefined => {
    const route = ROUTES.find((r) => r.path === path);
    return route && [route, valid[path]!];
  };

  /** Runs rows in order; collects every mismatch, so one failure shows all of a route's. */
  async function run(transport: Transport, who: 'admin' | 'limited', rows: Row[], kind: keyof typeof counts): Promise<void> {
    const failures: string[] = [];
    counts[kind] += rows.length;
    for (const row of rows) {
      const label = `${transport} ${who} ${row.method} ${row.path.slice(0, 80)}${row.path.length > 80 ? '…' : ''} (${row.what})`;
      let r;
      try {
        r = await send(client(transport, who), transport, row, raw(transport, who));
      } catch (err) {
        failures.push(`${label}: request failed: ${(err as Error).message}`);
        continue;
      }
      if (r.status >= 500 && r.status !== row.expect.status) failures.push(`${label}: a ${r.status}`);
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
    const unanswered = ROUTES.flatMap((r) => (r.alsoAccepts ?? []).filter((m) => !valid[r.path]?.others?.some((o) => o.method === m)).map((m) => `${m} ${r.path}`));
    assert.deepEqual(unanswered, [], 'describe a valid request of each method a route also accepts in its others');
  });

  for (const transport of TRANSPORTS) {
    describe(transport, () => {
      for (const route of ROUTES) {
        test(`${route.method} ${route.path}: bad resources, methods, queries and headers`, async () => {
          await run(transport, 'admin', requestRows(route, valid[route.path]!, neighbour), 'resources');
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
