/**
 * No request can crash the server: HTTP/2 frame sequences around every answer shape, sent with a
 * raw-frame client (END_STREAM on HEADERS or on an empty DATA frame, trailers, RST_STREAM at
 * every point, window updates, a body after the response, a wrong content-length). The server
 * runs in a child process, so a native abort shows as its exit; after every case the connection
 * must still answer a PING, and well-formed sequences must get the answer the request deserves.
 *
 * Regression: Node 20 aborted (`Http2Stream::OnTrailers: Assertion failed`) when a stream was
 * reset right after a synchronous empty 200 and the client's END_STREAM came in an empty DATA
 * frame of the same read.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { ERROR, FLAG, FRAME, frame, headerBlock, RawH2, requestHeaders, type StreamResult } from '../helpers/h2-frames.js';
import type { TestCert } from '../helpers/certs.js';
import { http2Client } from '../helpers/https-client.js';
import { buildRoutes } from '../../src/server/routes.js';
import { Router } from '../../src/server/router.js';
import { kmsFrame } from '../helpers/bad-input.js';
import * as M from '../../src/kms/messages.js';
import { CMD } from '../../src/kms/commands.js';

/** MinKMS command frames (docs/minkms.md). */
const keyStatus = (name: string) => kmsFrame(CMD.KEY_STATUS, M.KeyStatusRequest.encode({ name }));
const keyGenerate = (name: string) => kmsFrame(CMD.KEY_GENERATE, M.GenerateKeyRequest.encode({ name }));

/** One request and the status it deserves when sent well-formed. */
interface Shape {
  what: string;
  method: string;
  /** Called once per case: fresh names keep answers stable. */
  path: (n: number) => string;
  /** A JSON text, or the bytes of a binary body (MinKMS command frames, a LogRequest, a backup). */
  body?: string | Buffer;
  status?: number;
  /** Sent by the app identity (a policy) instead of the admin. */
  app?: boolean;
  /** A response that streams without end (log subscriptions). */
  endless?: boolean;
  /** Run before the case (e.g. create the key it deletes). */
  setup?: (n: number) => Promise<void>;
}

/** How a client sends a request: frames, in order, with pauses for the server's answer. */
interface Sequence {
  what: string;
  /** The request reaches the server whole and well-formed: the shape's status is expected. */
  clean?: 'always' | 'without-body';
  /** The client resets the stream: the server owes it no answer. */
  resets?: boolean;
  send(c: RawH2, id: number, headers: ReturnType<typeof requestHeaders>, body: string | Buffer): Promise<void>;
}

const trailers = (c: RawH2, id: number) => c.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, headerBlock([['x-trailer', '1']])));
/** Waits (briefly) for the server's response headers or the end of the stream. */
const answered = (c: RawH2, id: number, ms = 150) =>
  new Promise<void>((resolve) => {
    const start = Date.now();
    const poll = () => {
      const r = c.result(id);
      if (r.status !== undefined || r.ended || c.gone(id) || Date.now() - start > ms) resolve();
      else setTimeout(poll, 2);
    };
    poll();
  });

const SEQUENCES: Sequence[] = [
  { what: 'HEADERS+END_STREAM', clean: 'without-body', send: async (c, id, h) => c.headers(id, h, true) },
  { what: 'HEADERS, DATA+END_STREAM (one write)', clean: 'always', send: async (c, id, h, b) => c.send(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headerBlock(h)), frame(FRAME.DATA, FLAG.END_STREAM, id, Buffer.from(b))) },
  { what: 'HEADERS, empty DATA+END_STREAM (one write)', clean: 'without-body', send: async (c, id, h) => c.send(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headerBlock(h)), frame(FRAME.DATA, FLAG.END_STREAM, id)) },
  { what: 'HEADERS, then empty DATA+END_STREAM', clean: 'without-body', send: async (c, id, h) => (c.headers(id, h, false), await tick(), c.data(id, '', true)) },
  { what: 'HEADERS, DATA, empty DATA+END_STREAM', clean: 'always', send: async (c, id, h, b) => (c.headers(id, h, false), c.data(id, b, false), c.data(id, '', true)) },
  { what: 'HEADERS, DATA byte by byte, END_STREAM', clean: 'always', send: async (c, id, h, b) => (c.headers(id, h, false), [...Buffer.from(b)].forEach((x) => c.data(id, Buffer.from([x]), false)), c.data(id, '', true)) },
  { what: 'HEADERS, DATA, trailers', clean: 'always', send: async (c, id, h, b) => (c.headers(id, h, false), c.data(id, b, false), trailers(c, id)) },
  { what: 'HEADERS, trailers', clean: 'without-body', send: async (c, id, h) => (c.headers(id, h, false), trailers(c, id)) },
  { what: 'HEADERS, WINDOW_UPDATEs, DATA+END_STREAM', clean: 'always', send: async (c, id, h, b) => (c.headers(id, h, false), c.windowUpdate(id, 1 << 20), c.windowUpdate(0, 1 << 20), c.data(id, b, true)) },
  { what: 'HEADERS, PRIORITY, DATA+END_STREAM', clean: 'always', send: async (c, id, h, b) => (c.headers(id, h, false), c.send(frame(FRAME.PRIORITY, 0, id, Buffer.from([0, 0, 0, 0, 16]))), c.data(id, b, true)) },
  { what: 'HEADERS, the answer, then DATA+END_STREAM (a body after the response)', send: async (c, id, h, b) => (c.headers(id, h, false), await answered(c, id), c.data(id, b, true)) },
  { what: 'HEADERS, the answer, then empty DATA+END_STREAM', send: async (c, id, h) => (c.headers(id, h, false), await answered(c, id), c.data(id, '', true)) },
  { what: 'HEADERS, the answer, then trailers', send: async (c, id, h) => (c.headers(id, h, false), await answered(c, id), trailers(c, id)) },
  { what: 'HEADERS+END_STREAM, the answer, then DATA on the closed stream', send: async (c, id, h, b) => (c.headers(id, h, true), await answered(c, id), c.data(id, b, true)) },
  { what: 'HEADERS+END_STREAM, the answer, then WINDOW_UPDATE on the closed stream', send: async (c, id, h) => (c.headers(id, h, true), await answered(c, id), c.windowUpdate(id, 100)) },
  { what: 'HEADERS, RST_STREAM (one write)', resets: true, send: async (c, id, h) => (c.headers(id, h, false), c.rst(id)) },
  { what: 'HEADERS+END_STREAM, RST_STREAM (one write)', resets: true, send: async (c, id, h) => (c.headers(id, h, true), c.rst(id)) },
  { what: 'HEADERS, DATA, RST_STREAM', resets: true, send: async (c, id, h, b) => (c.headers(id, h, false), c.data(id, b.slice(0, 1), false), c.rst(id)) },
  { what: 'HEADERS, empty DATA+END_STREAM, RST_STREAM', resets: true, send: async (c, id, h) => (c.headers(id, h, false), c.data(id, '', true), c.rst(id, ERROR.INTERNAL_ERROR)) },
  { what: 'HEADERS, the answer, then RST_STREAM', resets: true, send: async (c, id, h) => (c.headers(id, h, false), await answered(c, id), c.rst(id)) },
  { what: 'HEADERS+END_STREAM, the answer, then RST_STREAM', resets: true, send: async (c, id, h) => (c.headers(id, h, true), await answered(c, id), c.rst(id, ERROR.NO_ERROR)) },
  { what: 'HEADERS with a content-length the DATA does not match', send: async (c, id, h, b) => (c.headers(id, [...h, ['content-length', String(b.length + 5)]], false), c.data(id, b, true)) },
  { what: 'HEADERS, a zero WINDOW_UPDATE on the stream, DATA+END_STREAM', send: async (c, id, h, b) => (c.headers(id, h, false), c.windowUpdate(id, 0), c.data(id, b, true)) },
];

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('HTTP/2 frame sequences never crash the server', () => {
  let s: ServerProcess;
  let app: TestCert;
  let ciphertext: string;
  const admin = () => http2Client(s.port, s.pki.ca.certPem, s.admin);
  let helper: ReturnType<typeof http2Client>;
  before(async () => {
    s = await startServerProcess((config, pki) => {
      app = pki.client({ commonName: 'app' });
      config.policies = { app: { allow: ['/v1/key/generate/*', '/v1/key/decrypt/*'], deny: [], identities: [app.identity] } };
      config.api = { '/v1/ready': { skipAuth: true }, '/v1/key/encrypt/': { skipAuth: false, timeoutMs: 1000 } };
    });
    helper = admin();
    assert.equal((await helper.request('POST', '/v1/key/create/k')).status, 200);
    ciphertext = (await helper.request('POST', '/v1/key/generate/k', {})).json().ciphertext;
  });
  after(async () => {
    helper?.close();
    await s?.close();
  });

  const decryptBody = () => JSON.stringify({ ciphertext, context: '' });
  const SHAPES: Shape[] = [
    { what: 'ready (skip_auth): 200, empty', method: 'GET', path: () => '/v1/ready', status: 200 },
    { what: 'create: 200, empty', method: 'PUT', path: (n) => `/v1/key/create/c${n}`, status: 200 },
    { what: 'import: 200, empty', method: 'PUT', path: (n) => `/v1/key/import/i${n}`, body: JSON.stringify({ key: Buffer.alloc(32, 1).toString('base64'), cipher: 'AES256' }), status: 200 },
    { what: 'delete: 200, empty', method: 'DELETE', path: (n) => `/v1/key/delete/d${n}`, status: 200, setup: async (n) => void (await helper.request('POST', `/v1/key/create/d${n}`)) },
    { what: 'describe: 200, JSON', method: 'GET', path: () => '/v1/key/describe/k', status: 200 },
    { what: 'version: 200, JSON, no auth', method: 'GET', path: () => '/version', status: 200 },
    { what: 'generate: 200, JSON', method: 'PUT', path: () => '/v1/key/generate/k', body: '{"context":""}', status: 200 },
    { what: 'decrypt: 200, JSON', method: 'PUT', path: () => '/v1/key/decrypt/k', get body() { return decryptBody(); }, status: 200 },
    { what: 'decrypt by a policy: 200, JSON', method: 'PUT', path: () => '/v1/key/decrypt/k', get body() { return decryptBody(); }, status: 200, app: true },
    { what: 'bulk decrypt: 200, JSON', method: 'POST', path: () => '/v1/key/bulk/decrypt/k', get body() { return `[${decryptBody()}]`; }, status: 200 },
    { what: 'hmac: 200, JSON', method: 'PUT', path: () => '/v1/key/hmac/k', body: '{"message":"aGk="}', status: 200 },
    { what: 'list: 200, streamed', method: 'GET', path: () => '/v1/key/list/*', status: 200 },
    { what: 'status: 200, JSON', method: 'GET', path: () => '/v1/status', status: 200 },
    { what: 'invalid name: 400', method: 'PUT', path: () => '/v1/key/create/-bad', status: 400 },
    { what: 'invalid body: 400', method: 'PUT', path: () => '/v1/key/decrypt/k', body: 'nope', status: 400 },
    { what: 'existing key: 400', method: 'PUT', path: () => '/v1/key/create/k', status: 400 },
    { what: 'policy denial: 403', method: 'PUT', path: () => '/v1/key/create/x', status: 403, app: true },
    { what: 'missing key: 404', method: 'GET', path: () => '/v1/key/describe/missing', status: 404 },
    { what: 'unknown path: 404 text', method: 'GET', path: () => '/v1/nope', status: 404 },
    { what: 'wrong method: 405', method: 'GET', path: () => '/v1/key/create/x', status: 405 },
    { what: 'declared body too large: 413', method: 'PUT', path: () => '/v1/key/decrypt/k', body: '{}' },
    { what: 'redirect: 301', method: 'GET', path: () => '/v1/key/list', status: 301 },
    { what: 'log stream: 200, endless', method: 'GET', path: () => '/v1/log/error', status: 200, endless: true },
    { what: 'audit stream: 200, endless', method: 'GET', path: () => '/v1/log/audit', status: 200, endless: true },
    { what: 'encrypt: 200, JSON', method: 'PUT', path: () => '/v1/key/encrypt/k', body: '{"plaintext":"aGk=","context":""}', status: 200 },
    { what: 'metrics: 200, text', method: 'GET', path: () => '/v1/metrics', status: 200 },
    { what: 'api: 200, JSON', method: 'GET', path: () => '/v1/api', status: 200 },
    { what: 'policy describe: 200, JSON', method: 'GET', path: () => '/v1/policy/describe/app', status: 200 },
    { what: 'policy read: 200, JSON', method: 'GET', path: () => '/v1/policy/read/app', status: 200 },
    { what: 'policy list: 200, streamed', method: 'GET', path: () => '/v1/policy/list/*', status: 200 },
    { what: 'identity describe: 200, JSON', method: 'GET', path: () => `/v1/identity/describe/${app.identity}`, status: 200 },
    { what: 'identity list: 200, streamed', method: 'GET', path: () => '/v1/identity/list/*', status: 200 },
    { what: 'self describe by a policy: 200, JSON', method: 'GET', path: () => '/v1/identity/self/describe', status: 200, app: true },
    { what: 'rotate: 200, JSON', method: 'PUT', path: (n) => `/v1/key/rotate/r${n}`, body: JSON.stringify({ key: Buffer.alloc(32, 2).toString('base64'), cipher: 'AES256' }), status: 200, setup: async (n) => void (await helper.request('POST', `/v1/key/create/r${n}`)) },
    { what: 'delete a missing version: 404', method: 'PUT', path: () => '/v1/key/delete-version/k', body: '{"version":99}', status: 404 },
    { what: 'rewrap: 200, JSON', method: 'PUT', path: () => '/v1/key/rewrap/k', get body() { return decryptBody(); }, status: 200 },
    // MinKMS: binary command frames, a bare LogRequest, and the endpoints openkes does not offer.
    { what: 'kms KEY:STATUS: 200, frames', method: 'POST', path: () => '/v1/kms', body: keyStatus('k'), status: 200 },
    { what: 'kms batch of KEY:STATUS and KEY:GENERATE: 200, frames', method: 'POST', path: () => '/v1/kms', body: Buffer.concat([keyStatus('k'), keyGenerate('k')]), status: 200 },
    { what: 'kms KEY:GENERATE in the enclave by a policy: 200, frames', method: 'POST', path: () => '/v1/kms/default', body: keyGenerate('k'), status: 200, app: true },
    { what: 'kms KEY:STATUS denied by a policy: 403', method: 'POST', path: () => '/v1/kms', body: keyStatus('k'), status: 403, app: true },
    { what: 'kms malformed frames: 400', method: 'POST', path: () => '/v1/kms', body: keyStatus('k').subarray(0, 7), status: 400 },
    { what: 'kms missing key: 404', method: 'POST', path: () => '/v1/kms/default', body: keyStatus('missing'), status: 404 },
    { what: 'kms invalid enclave: 400', method: 'POST', path: () => '/v1/kms/-bad', body: keyStatus('k'), status: 400 },
    { what: 'kms unsupported command: 501', method: 'POST', path: () => '/v1/kms', body: kmsFrame(CMD.KEY_LISTVERSIONS), status: 501 },
    { what: 'health live: 200, empty', method: 'GET', path: () => '/v1/health/live', status: 200 },
    { what: 'health ready: 200, empty', method: 'GET', path: () => '/v1/health/ready', status: 200 },
    // The server process has no backup key (it does not survive its JSON config).
    { what: 'db read: 501', method: 'GET', path: () => '/v1/db', status: 501 },
    { what: 'db write: 501', method: 'PUT', path: () => '/v1/db', body: Buffer.from('not a backup'), status: 501 },
    { what: 'debug log: 200, endless', method: 'POST', path: () => '/v1/debug/log', body: M.LogRequest.encode({ level: 8 }), status: 200, endless: true },
    // Sent without its body, the request is an empty LogRequest: a stream, reset as the others.
    { what: 'debug log, a malformed LogRequest: 400', method: 'POST', path: () => '/v1/debug/log', body: Buffer.from('ffff', 'hex'), status: 400, endless: true },
    { what: 'pprof: 501', method: 'POST', path: () => '/v1/debug/pprof', status: 501 },
    { what: 'pprof status: 501', method: 'GET', path: () => '/v1/debug/pprof', status: 501 },
    { what: 'restart: 501', method: 'POST', path: () => '/v1/debug/restart', status: 501 },
    { what: 'rpc: 501', method: 'POST', path: () => '/v1/rpc/vote', status: 501 },
  ];

  test('the shapes cover every route of the table', () => {
    const covered = new Set(SHAPES.map((shape) => new Router(buildRoutes()).match(shape.path(0))).flatMap((m) => (m.kind === 'route' ? [m.route.path] : [])));
    assert.deepEqual(buildRoutes().map((r) => r.path).filter((p) => !covered.has(p)), [], 'add a shape for each new route');
  });

  let conns: Record<'admin' | 'app', RawH2 | undefined> = { admin: undefined, app: undefined };
  let nextId: Record<'admin' | 'app', number> = { admin: 1, app: 1 };
  let n = 0;

  /** The shape's connection, reconnected when the server closed it (a connection error). */
  async function connection(who: 'admin' | 'app'): Promise<RawH2> {
    const c = conns[who];
    if (c && !c.closed && c.goaway === undefined && nextId[who] < 1_000) return c;
    c?.close();
    conns[who] = await RawH2.connect(s.port, s.pki.ca.certPem, who === 'app' ? app : s.admin);
    nextId[who] = 1;
    return conns[who]!;
  }

  /**
   * Fails when the server process has exited. When the server closed the connection, a new one
   * must answer a PING; if it cannot, the process gets time to be seen exiting.
   */
  async function assertAlive(what: string, c?: RawH2): Promise<void> {
    if (c?.closed) {
      const served = await RawH2.connect(s.port, s.pki.ca.certPem, s.admin)
        .then(async (probe) => {
          const pong = await probe.pong().catch(() => false);
          probe.close();
          return pong;
        })
        .catch(() => false);
      if (!served) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.equal(s.exit(), undefined, `the server died after ${what}:\n${s.stderr()}`);
  }

  async function run(shape: Shape, seq: Sequence): Promise<StreamResult> {
    const who = shape.app ? 'app' : 'admin';
    const c = await connection(who);
    const id = nextId[who];
    nextId[who] += 2;
    n++;
    await shape.setup?.(n);
    const extra: [string, string][] = shape.what.includes('413') ? [['content-length', '2000000']] : [];
    await seq.send(c, id, requestHeaders(shape.method, shape.path(n), extra), shape.body ?? '{}');
    let result: StreamResult;
    if (seq.resets) {
      result = c.result(id);
    } else if (shape.endless) {
      await answered(c, id, 2000);
      result = c.result(id);
      if (!result.ended) c.rst(id);
    } else {
      result = await c.finished(id, 5000).catch((err: Error) => {
        const frames = c.frames.filter((f) => f.stream === id || f.stream === 0).map((f) => `${f.stream}:${f.type}/${f.flags}`);
        throw new Error(`${shape.what} / ${seq.what}: ${err.message}; frames: ${frames.join(' ')}; goaway ${c.goaway}, closed ${c.closed}`);
      });
    }
    await c.pong();
    await assertAlive(`${shape.what} / ${seq.what}`, c);
    return result;
  }

  for (const seq of SEQUENCES) {
    test(seq.what, async () => {
      for (const shape of SHAPES) {
        const result = await run(shape, seq);
        const clean = seq.clean === 'always' || (seq.clean === 'without-body' && shape.body === undefined);
        if (clean && shape.status !== undefined) assert.equal(result.status, shape.status, `${shape.what} / ${seq.what}: ${result.data.toString()}`);
      }
    });
  }

  test('a route time-out (503) followed by the rest of the body, trailers or a reset', async () => {
    for (const tail of ['data', 'empty', 'trailers', 'rst'] as const) {
      const c = await connection('admin');
      const id = nextId.admin;
      nextId.admin += 2;
      c.headers(id, requestHeaders('PUT', '/v1/key/encrypt/k'), false);
      c.data(id, '{"plaintext":', false);
      await answered(c, id, 3000);
      assert.equal(c.result(id).status, 503, tail);
      if (tail === 'data') c.data(id, '"aGk="}', true);
      if (tail === 'empty') c.data(id, '', true);
      if (tail === 'trailers') trailers(c, id);
      if (tail === 'rst') c.rst(id);
      await c.finished(id, 5000);
      await c.pong();
      await assertAlive(`a time-out, then ${tail}`, c);
    }
  });

  test('many streams of the crashing sequence in one write, on fresh connections', async () => {
    for (let round = 0; round < 5; round++) {
      const c = await RawH2.connect(s.port, s.pki.ca.certPem, s.admin);
      const frames: Buffer[] = [];
      for (let i = 0; i < 100; i++) {
        const id = 1 + 2 * i;
        const path = i % 2 ? '/v1/ready' : `/v1/key/create/burst-${round}-${i}`;
        frames.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headerBlock(requestHeaders(i % 2 ? 'GET' : 'PUT', path))), frame(FRAME.DATA, FLAG.END_STREAM, id));
      }
      c.send(...frames);
      await c.finished(199, 5000);
      await c.pong();
      await assertAlive(`burst ${round}`, c);
      c.close();
    }
  });

  test('the server still serves normal requests, and logged no crash', async () => {
    for (const c of Object.values(conns)) c?.close();
    const client = admin();
    try {
      assert.equal((await client.request('GET', '/v1/key/describe/k')).status, 200);
      assert.equal((await client.request('POST', '/v1/key/decrypt/k', { ciphertext, context: '' })).status, 200);
    } finally {
      client.close();
    }
    await assertAlive('all cases');
    assert.doesNotMatch(s.stderr(), /Assertion failed|internal error|uncaught/i);
  });
});
