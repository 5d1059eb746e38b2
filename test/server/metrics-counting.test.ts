/**
 * Where the request metrics count (protocol.md §12): as KES, a request of a key, policy or identity
 * route is counted once it passes the method and policy checks, whatever its handler answers;
 * requests refused before (405, 403, a missing certificate), unknown paths and redirects are
 * not counted. One test per outcome class.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestCert } from '../helpers/certs.js';
import type { MetricsSnapshot } from '../../src/metrics/metrics.js';

describe('request metrics count what KES counts', () => {
  let t: TestServer;
  let app: TestCert;
  before(async () => {
    t = await startTestServer((config, pki) => {
      app = pki.client({ commonName: 'app' });
      config.policies = { app: { allow: ['/v1/key/describe/*'], deny: [], identities: [app.identity] } };
      // skip_auth makes client certificates optional: a request without one reaches a route.
      config.api = { '/v1/ready': { skipAuth: true }, '/v1/key/generate/': { skipAuth: false, timeoutMs: 1000 } };
    });
    assert.equal((await t.client().request('POST', '/v1/key/create/k')).status, 200);
  });
  after(() => t.close());

  /** The change of the counters while fn runs: [class, code] → count, and the histogram count. */
  async function counted(fn: () => Promise<unknown>): Promise<{ codes: string[]; timed: number }> {
    const before = structuredClone(t.server.runtime.metrics.data);
    await fn();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the close event records the request
    const after = t.server.runtime.metrics.data;
    const codes: string[] = [];
    for (const family of ['success', 'error', 'failure'] as const) {
      for (const [code, n] of Object.entries(after[family])) {
        for (let i = (before as MetricsSnapshot)[family][code] ?? 0; i < n; i++) codes.push(`${family} ${code}`);
      }
    }
    assert.equal(after.active, 0, 'no request is left active');
    return { codes, timed: after.count - before.count };
  }

  test('2xx: a request its handler answers', async () => {
    assert.deepEqual(await counted(() => t.client().request('GET', '/v1/key/describe/k')), { codes: ['success 200'], timed: 1 });
  });

  test('4xx from the handler (or its body limit): counted as errors', async () => {
    assert.deepEqual(await counted(() => t.client().request('GET', '/v1/key/describe/missing')), { codes: ['error 404'], timed: 1 });
    assert.deepEqual(await counted(() => t.client().request('POST', '/v1/key/encrypt/k', 'nope')), { codes: ['error 400'], timed: 1 });
    assert.deepEqual(await counted(() => t.client().request('POST', '/v1/key/encrypt/k', ' '.repeat(1_000_001))), { codes: ['error 413'], timed: 1 });
  });

  test('5xx: a route time-out is counted as a failure', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, servername: 'localhost', ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, ALPNProtocols: ['http/1.1'] });
    const result = await counted(
      () =>
        new Promise<void>((resolve) => {
          socket.once('secureConnect', () => socket.write('POST /v1/key/generate/k HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n{'));
          socket.on('data', () => undefined);
          socket.once('close', () => resolve());
        }),
    );
    assert.deepEqual(result, { codes: ['failure 503'], timed: 1 });
  });

  test('a policy refusal (403) is not counted, not even with a body over the limit', async () => {
    assert.deepEqual(await counted(() => t.client(app).request('DELETE', '/v1/key/delete/k')), { codes: [], timed: 0 });
    const big = await counted(async () => assert.equal((await t.client(app).request('POST', '/v1/key/encrypt/k', ' '.repeat(1_000_001))).status, 403));
    assert.deepEqual(big, { codes: [], timed: 0 });
  });

  test('a wrong method (405) is not counted', async () => {
    assert.deepEqual(await counted(() => t.client().request('GET', '/v1/key/create/k')), { codes: [], timed: 0 });
  });

  test('a missing client certificate (400) is not counted', async () => {
    const r = await counted(async () => assert.equal((await t.client(null).request('GET', '/v1/key/describe/k')).status, 400));
    assert.deepEqual(r, { codes: [], timed: 0 });
  });

  test('unknown paths, redirects and routes KES does not meter are not counted', async () => {
    for (const path of ['/v1/nope', '/v1/key/list', '/v1/status', '/version', '/v1/ready']) {
      assert.deepEqual(await counted(() => t.client().request('GET', path)), { codes: [], timed: 0 }, path);
    }
  });
});
