/**
 * Authorization by operation, not by spelling (api/operations.ts): no route may perform an
 * operation that the operation's canonical path would refuse. The walk over the route table
 * observes what each route really does (the key operations it calls) and checks that the policy
 * check covers it, and that denying any path the route needs refuses the request. Routes that
 * authorize in their handler (MinKMS's: each command by its operation's KES path, server/access.ts)
 * get the same walk, one sample per command, and the SysAdmin-only and open routes theirs.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as P from '../../src/api/paths.js';
import { buildRoutes, type Route } from '../../src/server/routes.js';
import { SecretKey } from '../../src/crypto/secret-key.js';
import { HmacKey } from '../../src/crypto/hmac-key.js';
import { KeyCache } from '../../src/keystore/cache.js';
import { holdsKey } from '../../src/keystore/entry-names.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestCert } from '../helpers/certs.js';
import { kmsFrame, rawClient, type RawResponse, type Transport } from '../helpers/bad-input.js';
import { BackupKey } from '../../src/backup/backup-key.js';
import { kmsIdentityOf } from '../../src/auth/kms-credentials.js';
import { CMD, COMMANDS } from '../../src/kms/commands.js';
import { decodeFrames } from '../../src/kms/frames.js';
import * as M from '../../src/kms/messages.js';

const denied = '{"message":"not authorized: insufficient permissions"\n}';
/** MinKMS's ErrPermission (docs/minkms.md): the refusal of the routes that authorize in their handler. */
const kmsDenied = '{"message":"access denied: insufficient permissions"\n}';

/** A MinKMS command frame with its request message. */
const cmd = <T>(command: number, codec: M.MessageCodec<T>, msg: Partial<T>): Buffer => kmsFrame(command, codec.encode(msg));

/** Sends one request over a new connection (HTTP/1.1 or HTTP/2), with the certificate (none: null). */
async function call(t: TestServer, cert: TestCert | null, method: string, path: string, body?: Buffer, opts: { transport?: Transport; stream?: boolean } = {}): Promise<RawResponse> {
  const c = rawClient(opts.transport ?? 'HTTP/1.1', t.port, t.pki.ca.certPem, cert ?? undefined);
  try {
    return await c.request({ what: '', method, path, body, stream: opts.stream, expect: { status: 0 } });
  } finally {
    c.close();
  }
}

/** The payloads of a command answer's frames, checked to answer the given commands in order. */
function answers(r: RawResponse, ...commands: number[]): Buffer[] {
  assert.equal(r.status, 200, r.body);
  const frames = decodeFrames(r.bytes, Infinity);
  assert.deepEqual(frames.map((f) => f.command), commands);
  return frames.map((f) => f.payload);
}

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

  for (const transport of ['HTTP/1.1', 'HTTP/2'] as const) {
    test(`a decrypt deny also closes MinKMS KEY:DECRYPT, with or without the enclave (${transport})`, async () => {
      const [generated] = answers(await call(t, app, 'POST', '/v1/kms', cmd(CMD.KEY_GENERATE, M.GenerateKeyRequest, { name: 'app-secret' }), { transport }), CMD.KEY_GENERATE);
      const dek = M.GenerateKeyResponse.decode(generated!);
      for (const path of ['/v1/kms', '/v1/kms/default']) {
        const r = await call(t, app, 'POST', path, cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'app-secret', ciphertext: dek.ciphertext }), { transport });
        assert.deepEqual([r.status, r.body], [403, kmsDenied], path);
      }
      // The admin decrypts: the command itself is served.
      const [plain] = answers(await call(t, t.admin, 'POST', '/v1/kms', cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'app-secret', ciphertext: dek.ciphertext }), { transport }), CMD.KEY_DECRYPT);
      assert.deepEqual(M.DecryptResponse.decode(plain!).plaintext, dek.plaintext);
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
    // A MinKMS listing reads each listed key for its version and type (docs/minkms.md "Listings").
    authorizedBy: [P.PATH_KEY_DESCRIBE, P.PATH_KEY_GENERATE, P.PATH_KEY_ENCRYPT, P.PATH_KEY_DECRYPT, P.PATH_KEY_HMAC, P.PATH_KEY_REWRAP, P.PATH_KEY_LIST],
  },
];
KEY_OPERATIONS.push({ ...KEY_OPERATIONS.at(-1)!, method: 'peek' });

/**
 * Records which key operations run while fn runs. The key cache also holds the records of MinKMS
 * enclaves, policies and identities (keystore/entry-names.ts): reading those is no key operation.
 */
async function observe(fn: () => Promise<void>): Promise<Set<(typeof KEY_OPERATIONS)[number]>> {
  const seen = new Set<(typeof KEY_OPERATIONS)[number]>();
  const originals = KEY_OPERATIONS.map((op) => {
    const target = op.target as Record<string, (...a: unknown[]) => unknown>;
    const original = target[op.method]!;
    target[op.method] = function (this: unknown, ...args: unknown[]) {
      if (!(op.target === KeyCache.prototype && typeof args[0] === 'string' && !holdsKey(args[0]))) seen.add(op);
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

/**
 * What a caller needs on a route that authorizes in its handler (auth `none` or `identify`):
 * `anyone` (any certificate: as in KES, a connection without one is refused unless a route has
 * `skip_auth`), `sysadmin` (the admin: no config policy grants it), or the KES paths with their
 * subjects that a config policy must allow (a MinKMS command's operation: api/operations.ts OPS,
 * server/access.ts).
 */
type Needs = 'anyone' | 'sysadmin' | readonly string[];

/** A request of such a route, its answer for a caller that may make it, and what it needs. */
interface HandlerSample {
  what: string;
  /** Default: the route's method. */
  method?: string;
  resource?: string;
  body?: () => Buffer;
  stream?: boolean;
  needs: Needs;
  status: number;
  /** The commands the answer's frames answer (MinKMS command requests). */
  frames?: readonly number[];
  /** Runs before the sample. */
  setup?: () => Promise<void>;
  /** Undoes what a successful request changed, so that it can be made again. */
  undo?: () => Promise<void>;
  /** A server defect (reported): the sample runs as a to-do until it is fixed. */
  known?: string;
}

/** The route prefix of a KES path with its subject (`/v1/key/list/k*`): the canonical path of its operation. */
const canonical = (path: string): string => {
  const route = buildRoutes()
    .filter((r) => r.auth === 'verify' && path.startsWith(r.path))
    .sort((a, b) => b.path.length - a.path.length)[0];
  assert.ok(route, `no KES route serves ${path}`);
  return route.path;
};

describe('routes that authorize in their handler: MinKMS commands by the KES paths of their operations', () => {
  let t: TestServer;
  let caller: TestCert;
  let stranger: TestCert;
  /** A runtime identity of the default enclave (IDENTITY:CREATE: the hash of no real certificate). */
  const runtime = createHash('sha256').update('runtime identity').digest('hex');
  let sealed: Buffer = Buffer.alloc(0);
  let backup: Buffer = Buffer.alloc(0);

  /** The admin's MinKMS request; it must succeed. */
  const admin = async (path: string, ...frames: Buffer[]) => {
    const r = await call(t, t.admin, 'POST', path, Buffer.concat(frames));
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    return r;
  };
  const kes = async (method: string, path: string, body?: object) => {
    const r = await t.client().request(method, path, body);
    assert.equal(r.status, 200, `${method} ${path}: ${r.body}`);
  };
  const keyStatus = (name: string) => cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name });
  const generate = (name: string) => cmd(CMD.KEY_GENERATE, M.GenerateKeyRequest, { name });
  const list = (command: number, prefix = '') => cmd(command, M.ListRequest, { prefix });

  /**
   * Samples of every route that does not check a policy before its handler (`/v1/kms`: one per
   * command openkes serves, with the KES path and subject of its operation). On a server where
   * the keys `k`, `gone`, `single`, `ring` (two versions), the runtime policy `p`, the runtime
   * identity `runtime` and the enclave `e` with its key `ek` exist.
   */
  const SAMPLES: Record<string, HandlerSample[]> = {
    [P.PATH_VERSION]: [{ what: 'the version', needs: 'anyone', status: 200 }],
    [P.PATH_IDENTITY_SELF_DESCRIBE]: [{ what: 'the caller', needs: 'anyone', status: 200 }],
    [P.PATH_HEALTH_LIVE]: [{ what: 'live', needs: 'anyone', status: 200 }],
    [P.PATH_HEALTH_READY]: [{ what: 'ready', needs: 'anyone', status: 200 }],
    [P.PATH_KMS]: [
      // Keys: the KES path of each operation with the key name.
      {
        what: 'KEY:CREATE',
        body: () => cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'made' }),
        needs: ['/v1/key/create/made'],
        status: 200,
        frames: [CMD.KEY_CREATE],
        undo: () => kes('DELETE', '/v1/key/delete/made'),
      },
      { what: 'KEY:CREATE with addVersion (a rotation)', body: () => cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'k', addVersion: true }), needs: ['/v1/key/rotate/k'], status: 200, frames: [CMD.KEY_CREATE] },
      {
        what: 'KEY:IMPORT',
        body: () => cmd(CMD.KEY_IMPORT, M.ImportKeyRequest, { name: 'imported', key: Buffer.alloc(32, 7) }),
        needs: ['/v1/key/import/imported'],
        status: 200,
        frames: [CMD.KEY_IMPORT],
        undo: () => kes('DELETE', '/v1/key/delete/imported'),
      },
      {
        what: 'KEY:DELETE of all versions',
        body: () => cmd(CMD.KEY_DELETE, M.DeleteKeyRequest, { name: 'gone', allVersions: true }),
        needs: ['/v1/key/delete/gone'],
        status: 200,
        frames: [CMD.KEY_DELETE],
        undo: () => kes('PUT', '/v1/key/create/gone'),
      },
      {
        what: 'KEY:DELETE of one version',
        body: () => cmd(CMD.KEY_DELETE, M.DeleteKeyRequest, { name: 'ring', version: 1 }),
        needs: ['/v1/key/delete-version/ring'],
        status: 200,
        frames: [CMD.KEY_DELETE],
        setup: async () => {
          await t.client().request('DELETE', '/v1/key/delete/ring');
          await kes('PUT', '/v1/key/create/ring');
          await kes('PUT', '/v1/key/rotate/ring');
        },
      },
      {
        // The last version goes with its key (docs/minkms.md "Keys"): a deletion of the key, which
        // KES's delete-version route refuses (the only version of a key cannot be deleted).
        what: 'KEY:DELETE of the only version (deletes the key)',
        body: () => cmd(CMD.KEY_DELETE, M.DeleteKeyRequest, { name: 'single', version: 0 }),
        needs: ['/v1/key/delete-version/single', '/v1/key/delete/single'],
        status: 200,
        frames: [CMD.KEY_DELETE],
        undo: () => kes('PUT', '/v1/key/create/single'),
      },
      { what: 'KEY:STATUS', body: () => keyStatus('k'), needs: ['/v1/key/describe/k'], status: 200, frames: [CMD.KEY_STATUS] },
      // A listing needs the listing's path; who made a key and when it shows only where the
      // caller may describe the key (test/server/minkms-access.test.ts).
      { what: 'KEY:LIST', body: () => list(CMD.KEY_LIST, 'k'), needs: ['/v1/key/list/k*'], status: 200, frames: [CMD.KEY_LIST] },
      { what: 'KEY:ENCRYPT', body: () => cmd(CMD.KEY_ENCRYPT, M.EncryptRequest, { name: 'k', plaintext: Buffer.from('hello') }), needs: ['/v1/key/encrypt/k'], status: 200, frames: [CMD.KEY_ENCRYPT] },
      { what: 'KEY:DECRYPT', body: () => cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'k', ciphertext: sealed }), needs: ['/v1/key/decrypt/k'], status: 200, frames: [CMD.KEY_DECRYPT] },
      { what: 'KEY:GENERATE', body: () => generate('k'), needs: ['/v1/key/generate/k'], status: 200, frames: [CMD.KEY_GENERATE] },
      { what: 'KEY:MAC', body: () => cmd(CMD.KEY_MAC, M.MACRequest, { name: 'k', message: Buffer.from('hello') }), needs: ['/v1/key/hmac/k'], status: 200, frames: [CMD.KEY_MAC] },
      // A batch needs what each of its commands needs: one refused command refuses it whole.
      {
        what: 'a batch of KEY:STATUS, KEY:GENERATE and KEY:DECRYPT',
        body: () => Buffer.concat([keyStatus('k'), generate('k'), cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'k', ciphertext: sealed })]),
        needs: ['/v1/key/describe/k', '/v1/key/generate/k', '/v1/key/decrypt/k'],
        status: 200,
        frames: [CMD.KEY_STATUS, CMD.KEY_GENERATE, CMD.KEY_DECRYPT],
      },
      { what: 'a batch of KEY:GENERATE of two keys', body: () => Buffer.concat([generate('k'), generate('gone')]), needs: ['/v1/key/generate/k', '/v1/key/generate/gone'], status: 200, frames: [CMD.KEY_GENERATE, CMD.KEY_GENERATE] },
      // Runtime policies and identities: their reads by the KES paths of the same reads.
      { what: 'POLICY:GET', body: () => cmd(CMD.POLICY_GET, M.PolicyRequest, { name: 'p' }), needs: ['/v1/policy/read/p'], status: 200, frames: [CMD.POLICY_GET] },
      { what: 'POLICY:STATUS', body: () => cmd(CMD.POLICY_STATUS, M.PolicyRequest, { name: 'p' }), needs: ['/v1/policy/describe/p'], status: 200, frames: [CMD.POLICY_STATUS] },
      { what: 'POLICY:LIST', body: () => list(CMD.POLICY_LIST), needs: ['/v1/policy/list/*'], status: 200, frames: [CMD.POLICY_LIST] },
      { what: 'IDENTITY:STATUS (hex)', body: () => cmd(CMD.IDENTITY_STATUS, M.IdentityRequest, { identity: runtime }), needs: [`/v1/identity/describe/${runtime}`], status: 200, frames: [CMD.IDENTITY_STATUS] },
      {
        // The SDK's spelling of the same identity is the same operation on the same identity.
        what: 'IDENTITY:STATUS (h1:)',
        body: () => cmd(CMD.IDENTITY_STATUS, M.IdentityRequest, { identity: kmsIdentityOf(runtime) }),
        needs: [`/v1/identity/describe/${runtime}`],
        status: 200,
        frames: [CMD.IDENTITY_STATUS],
      },
      { what: 'IDENTITY:LIST', body: () => list(CMD.IDENTITY_LIST), needs: ['/v1/identity/list/*'], status: 200, frames: [CMD.IDENTITY_LIST] },
      // Operations without a KES path: runtime policies' and identities' writes, enclaves (system).
      {
        what: 'POLICY:CREATE',
        body: () => cmd(CMD.POLICY_CREATE, M.CreatePolicyRequest, { name: 'p2', allow: { 'KEY:STATUS': ['k*'] } }),
        needs: 'sysadmin',
        status: 200,
        frames: [CMD.POLICY_CREATE],
        undo: async () => void (await admin(P.PATH_KMS, cmd(CMD.POLICY_DELETE, M.DeletePolicyRequest, { name: 'p2' }))),
      },
      {
        what: 'POLICY:DELETE',
        body: () => cmd(CMD.POLICY_DELETE, M.DeletePolicyRequest, { name: 'p3' }),
        needs: 'sysadmin',
        status: 200,
        frames: [CMD.POLICY_DELETE],
        setup: async () => void (await admin(P.PATH_KMS, cmd(CMD.POLICY_CREATE, M.CreatePolicyRequest, { name: 'p3' }))),
      },
      { what: 'POLICY:ASSIGN', body: () => cmd(CMD.POLICY_ASSIGN, M.AssignPolicyRequest, { identity: runtime, policy: 'p' }), needs: 'sysadmin', status: 200, frames: [CMD.POLICY_ASSIGN] },
      {
        what: 'IDENTITY:CREATE',
        body: () => cmd(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, { identity: 'ab'.repeat(32), privilege: 'User' }),
        needs: 'sysadmin',
        status: 200,
        frames: [CMD.IDENTITY_CREATE],
        undo: async () => void (await admin(P.PATH_KMS, cmd(CMD.IDENTITY_DELETE, M.DeleteIdentityRequest, { identity: 'ab'.repeat(32) }))),
      },
      {
        what: 'IDENTITY:DELETE',
        body: () => cmd(CMD.IDENTITY_DELETE, M.DeleteIdentityRequest, { identity: 'cd'.repeat(32) }),
        needs: 'sysadmin',
        status: 200,
        frames: [CMD.IDENTITY_DELETE],
        setup: async () => void (await admin(P.PATH_KMS, cmd(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, { identity: 'cd'.repeat(32) }))),
      },
      {
        what: 'ENCLAVE:CREATE',
        body: () => cmd(CMD.ENCLAVE_CREATE, M.CreateEnclaveRequest, { name: 'e2' }),
        needs: 'sysadmin',
        status: 200,
        frames: [CMD.ENCLAVE_CREATE],
        undo: async () => void (await admin(P.PATH_KMS, cmd(CMD.ENCLAVE_DELETE, M.DeleteEnclaveRequest, { name: 'e2' }))),
      },
      {
        what: 'ENCLAVE:DELETE',
        body: () => cmd(CMD.ENCLAVE_DELETE, M.DeleteEnclaveRequest, { name: 'e3' }),
        needs: 'sysadmin',
        status: 200,
        frames: [CMD.ENCLAVE_DELETE],
        setup: async () => void (await admin(P.PATH_KMS, cmd(CMD.ENCLAVE_CREATE, M.CreateEnclaveRequest, { name: 'e3' }))),
      },
      { what: 'ENCLAVE:STATUS', body: () => cmd(CMD.ENCLAVE_STATUS, M.EnclaveStatusRequest, { name: 'e' }), needs: 'sysadmin', status: 200, frames: [CMD.ENCLAVE_STATUS] },
      { what: 'ENCLAVE:LIST', body: () => list(CMD.ENCLAVE_LIST), needs: 'sysadmin', status: 200, frames: [CMD.ENCLAVE_LIST] },
    ],
    [P.PATH_KMS_ENCLAVE]: [
      { what: 'KEY:GENERATE in the default enclave, named', resource: 'default', body: () => generate('k'), needs: ['/v1/key/generate/k'], status: 200, frames: [CMD.KEY_GENERATE] },
      { what: 'KEY:GENERATE in the default enclave, unnamed', resource: '', body: () => generate('k'), needs: ['/v1/key/generate/k'], status: 200, frames: [CMD.KEY_GENERATE] },
      // Config identities act in the default enclave only.
      { what: 'KEY:GENERATE in another enclave', resource: 'e', body: () => generate('ek'), needs: 'sysadmin', status: 200, frames: [CMD.KEY_GENERATE] },
    ],
    [P.PATH_DB]: [
      { what: 'a backup', needs: 'sysadmin', status: 200 },
      { what: 'a restore into a store that is not empty', method: 'PUT', body: () => backup, needs: 'sysadmin', status: 409 },
    ],
    [P.PATH_DEBUG_LOG]: [{ what: 'the log stream', body: () => M.LogRequest.encode({ level: 8 }), stream: true, needs: 'sysadmin', status: 200 }],
    // Not offered: the debug endpoints are SysAdmin's (others are refused first), RPC's 501 is anyone's.
    [P.PATH_DEBUG_PPROF]: [
      { what: 'start profiling', needs: 'sysadmin', status: 501 },
      { what: 'profiling status', method: 'GET', needs: 'sysadmin', status: 501 },
      { what: 'stop profiling', method: 'DELETE', needs: 'sysadmin', status: 501 },
    ],
    [P.PATH_DEBUG_RESTART]: [{ what: 'restart', needs: 'sysadmin', status: 501 }],
    [P.PATH_RPC]: [{ what: 'replication', resource: 'replicate', needs: 'anyone', status: 501 }],
  };

  const routes = buildRoutes().filter((r) => r.auth !== 'verify');

  before(async () => {
    t = await startTestServer((config, pki, dir) => {
      caller = pki.client({ commonName: 'caller' });
      stranger = pki.client({ commonName: 'stranger' });
      config.policies = { everything: { allow: ['/*'], deny: [], identities: [caller.identity] } };
      config.keystore = { type: 'fs', path: join(dir, 'keys') };
      config.backup = { key: BackupKey.generate() };
    });
    for (const name of ['k', 'gone', 'single', 'ring', 'app-x', 'app-y', 'other-x']) await kes('PUT', `/v1/key/create/${name}`);
    await kes('PUT', '/v1/key/rotate/ring');
    const [encrypted] = answers(await admin(P.PATH_KMS, cmd(CMD.KEY_ENCRYPT, M.EncryptRequest, { name: 'k', plaintext: Buffer.from('hello') })), CMD.KEY_ENCRYPT);
    sealed = M.EncryptResponse.decode(encrypted!).ciphertext;
    await admin(P.PATH_KMS, cmd(CMD.POLICY_CREATE, M.CreatePolicyRequest, { name: 'p', allow: { 'KEY:STATUS': ['k*'] } }));
    await admin(P.PATH_KMS, cmd(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, { identity: runtime }));
    await admin(P.PATH_KMS, cmd(CMD.ENCLAVE_CREATE, M.CreateEnclaveRequest, { name: 'e' }));
    await admin('/v1/kms/e', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'ek' }));
    const r = await call(t, t.admin, 'GET', P.PATH_DB);
    assert.equal(r.status, 200, r.body);
    backup = r.bytes;
  });
  after(() => t.close());

  /** Sends a sample as the admin, as the caller with a policy (allow, deny), or as an identity no policy names. */
  async function send(route: Route, sample: HandlerSample, who: 'admin' | 'stranger' | { allow: string[]; deny: string[] }): Promise<RawResponse> {
    if (typeof who === 'object') await t.server.reload({ ...t.config, policies: { everything: { ...who, identities: [caller.identity] } } });
    const cert = who === 'admin' ? t.admin : who === 'stranger' ? stranger : caller;
    return call(t, cert, sample.method ?? route.method, route.path + (sample.resource ?? ''), sample.body?.(), { stream: sample.stream });
  }

  /** Checks the answer of a caller that may make the request, and undoes what it changed. */
  async function served(r: RawResponse, sample: HandlerSample, who: string): Promise<void> {
    assert.equal(r.status, sample.status, `${who}: ${r.body}`);
    if (sample.frames && r.status === 200) answers(r, ...sample.frames);
    if (r.status === 200) await sample.undo?.();
  }

  test('every route that does not check a policy first has samples here, for each method it accepts', () => {
    assert.deepEqual(
      routes.flatMap((r) => [r.method, ...(r.alsoAccepts ?? [])].filter((m) => !SAMPLES[r.path]?.some((s) => (s.method ?? r.method) === m)).map((m) => `${m} ${r.path}`)),
      [],
      'add samples of each new route (and method) to SAMPLES',
    );
    // Every command openkes serves (not the cluster commands and KEY:LISTVERSIONS: 501).
    const served = new Set(SAMPLES[P.PATH_KMS]!.flatMap((s) => s.frames ?? []));
    const unsupported: number[] = [CMD.CLUSTER_ADDNODE, CMD.CLUSTER_REMOVENODE, CMD.CLUSTER_STATUS, CMD.CLUSTER_EDIT, CMD.CLUSTER_ADDHSM, CMD.CLUSTER_REMOVEHSM, CMD.KEY_LISTVERSIONS];
    assert.deepEqual(COMMANDS.filter((c) => !unsupported.includes(c.number) && !served.has(c.number)).map((c) => c.name ?? c.number), [], 'add a sample of each MinKMS command');
  });

  for (const route of routes) {
    for (const sample of SAMPLES[route.path] ?? []) {
      test(`${sample.method ?? route.method} ${route.path}: ${sample.what}`, { todo: sample.known }, async () => {
        const { needs } = sample;
        await sample.setup?.();
        // What the request really does, made by the admin (SysAdmin).
        let answer: RawResponse | undefined;
        const performed = await observe(async () => void (answer = await send(route, sample, 'admin')));
        await served(answer!, sample, 'the admin');
        if (typeof needs === 'object') {
          const paths = needs.map(canonical);
          for (const op of performed) {
            assert.ok(op.authorizedBy.some((p) => paths.includes(p)), `${sample.what} performs '${op.name}' but needs only ${needs.join(', ')}`);
          }
        }

        // A config identity allowed every path: refused what no policy grants.
        await sample.setup?.();
        const everything = await send(route, sample, { allow: ['/*'], deny: [] });
        if (needs === 'sysadmin') assert.deepEqual([everything.status, everything.body], [403, kmsDenied], 'a SysAdmin-only request');
        else await served(everything, sample, 'an identity allowed /*');

        if (needs === 'anyone') {
          await served(await send(route, sample, { allow: [], deny: [] }), sample, 'an identity allowed nothing');
          await served(await send(route, sample, 'stranger'), sample, 'an identity no policy names');
        }
        if (typeof needs === 'object') {
          // Exactly the paths it needs are enough; denying any of them refuses the request.
          await sample.setup?.();
          await served(await send(route, sample, { allow: [...needs], deny: [] }), sample, `an identity allowed ${needs.join(', ')}`);
          for (const path of needs) {
            await sample.setup?.();
            const refused = await send(route, sample, { allow: ['/*'], deny: [path] });
            assert.deepEqual([refused.status, refused.body], [403, kmsDenied], `denying ${path} refuses ${sample.what}`);
            if (refused.status === 200) await sample.undo?.();
          }
        }
      });
    }
  }

  test('a policy allowing /v1/key/generate/app-* allows KEY:GENERATE of app-x, and nothing else', async () => {
    await t.server.reload({ ...t.config, policies: { everything: { allow: ['/v1/key/generate/app-*'], deny: [], identities: [caller.identity] } } });
    for (const transport of ['HTTP/1.1', 'HTTP/2'] as const) {
      const kms = (path: string, ...frames: Buffer[]) => call(t, caller, 'POST', path, Buffer.concat(frames), { transport });
      const refused = async (what: string, answer: Promise<RawResponse>) => {
        const r = await answer;
        assert.deepEqual([r.status, r.body], [403, kmsDenied], `${what} (${transport})`);
      };
      const [dek] = answers(await kms('/v1/kms', generate('app-x')), CMD.KEY_GENERATE);
      answers(await kms('/v1/kms/default', generate('app-x')), CMD.KEY_GENERATE);
      answers(await kms('/v1/kms/', generate('app-x')), CMD.KEY_GENERATE);
      answers(await kms('/v1/kms', generate('app-x'), generate('app-y')), CMD.KEY_GENERATE, CMD.KEY_GENERATE);
      const ciphertext = M.GenerateKeyResponse.decode(dek!).ciphertext;
      await refused('KEY:DECRYPT of app-x', kms('/v1/kms', cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'app-x', ciphertext })));
      await refused('KEY:GENERATE of other-x', kms('/v1/kms', generate('other-x')));
      await refused('KEY:STATUS of app-x', kms('/v1/kms', keyStatus('app-x')));
      await refused('KEY:CREATE of app-z', kms('/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'app-z' })));
      // One refused command refuses the whole batch, wherever it is.
      await refused('a batch with KEY:GENERATE of other-x last', kms('/v1/kms', generate('app-x'), generate('app-y'), generate('other-x')));
      await refused('a batch with KEY:GENERATE of other-x first', kms('/v1/kms', generate('other-x'), generate('app-x')));
      await refused('a batch with KEY:DECRYPT of app-x', kms('/v1/kms', generate('app-x'), cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'app-x', ciphertext })));
      // Config identities act in the default enclave only.
      await refused('KEY:GENERATE in another enclave', kms('/v1/kms/e', generate('app-x')));
      // The KES API under the same policy.
      const c = transport === 'HTTP/2' ? t.http2(caller) : t.client(caller);
      assert.equal((await c.request('PUT', '/v1/key/generate/app-x', {})).status, 200);
      const decrypt = await c.request('PUT', '/v1/key/decrypt/app-x', { ciphertext: 'AA==', context: '' });
      assert.deepEqual([decrypt.status, decrypt.body], [403, denied]);
    }
    assert.equal((await t.client().request('GET', '/v1/key/describe/app-z')).status, 404, 'nothing was created');
  });
});
