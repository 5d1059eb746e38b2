/** Go ServeMux routing, methods, body limits, time-outs and the /v1/api table (protocol.md §1, §6). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestClient } from '../helpers/https-client.js';

describe('routing and transport', () => {
  let t: TestServer;
  let c: TestClient;
  before(async () => {
    t = await startTestServer((config) => {
      config.api['/v1/key/encrypt/'] = { skipAuth: false, timeoutMs: 300 };
    });
    c = t.client();
  });
  after(() => t.close());

  test('unknown paths get Go\'s 404 text', async () => {
    for (const path of ['/', '/v1', '/v1/status/', '/v1/unknown', '/v1/identity/self/describe/', '/v2/key/create/x']) {
      const r = await c.request('GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body, '404 page not found\n');
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
    }
  });

  test('subtree roots without the slash are 301 redirects that keep the query', async () => {
    for (const path of ['/v1/key/list', '/v1/identity/list', '/v1/policy/list', '/v1/key/create']) {
      const r = await c.request('GET', `${path}?a=b`);
      assert.equal(r.status, 301, path);
      assert.equal(r.headers.location, `${path}/?a=b`);
      assert.match(r.body, /Moved Permanently/);
    }
    const post = await c.request('POST', '/v1/key/list');
    assert.equal(post.status, 301);
    assert.equal(post.body, '');
  });

  test('unclean paths are redirected to the cleaned path', async () => {
    for (const [path, location] of [
      ['/v1//status', '/v1/status'],
      ['/v1/./status', '/v1/status'],
      ['/v1/key/../status', '/v1/status'],
      ['/v1/key/create/..%2F..%2Fstatus', '/v1/status'],
    ]) {
      const r = await c.request('GET', path!);
      assert.equal(r.status, 301, path);
      assert.equal(r.headers.location, location, path);
    }
  });

  test('a wrong method is 405 with an Accept header; POST is fine for PUT routes', async () => {
    let r = await c.request('GET', '/v1/key/create/x');
    assert.equal(r.status, 405);
    assert.equal(r.headers.accept, 'PUT');
    assert.equal(r.body, `{"message":"received method 'GET' expected 'PUT'"\n}`);
    r = await c.request('POST', '/v1/status');
    assert.deepEqual([r.status, r.headers.accept], [405, 'GET']);
    r = await c.request('HEAD', '/v1/status');
    assert.equal(r.status, 405);
    r = await c.request('PUT', '/v1/key/delete/x');
    assert.deepEqual([r.status, r.headers.accept], [405, 'DELETE']);
    r = await c.request('POST', '/v1/key/create/post-ok');
    assert.equal(r.status, 200);
  });

  test('a malformed percent-escape is 400', async () => {
    const r = await c.request('GET', '/v1/key/describe/%zz');
    assert.equal(r.status, 400);
  });

  test('bodies over the route limit are 413 (declared or streamed)', async () => {
    await c.request('POST', '/v1/key/create/big');
    const big = JSON.stringify({ plaintext: Buffer.alloc(800_000).toString('base64') });
    assert.ok(big.length > 1_000_000);
    let r = await c.request('PUT', '/v1/key/encrypt/big', big);
    assert.deepEqual([r.status, r.body], [413, '{"message":"request body too large"\n}']);
    r = await c.request('PUT', '/v1/key/encrypt/big', big, { 'transfer-encoding': 'chunked' });
    assert.equal(r.status, 413);
    // The server is still healthy afterwards.
    r = await c.request('PUT', '/v1/key/encrypt/big', { plaintext: 'AAAA' });
    assert.equal(r.status, 200);
  });

  test('a request that does not finish in the route timeout gets 503 and the connection closes', async () => {
    await c.request('POST', '/v1/key/create/slow');
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    // Promise 100 bytes of body, send 10.
    socket.write('PUT /v1/key/encrypt/slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{"plaintex');
    let text = '';
    socket.on('data', (d) => (text += d));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    assert.match(text, /^HTTP\/1\.1 503/);
    assert.match(text, /\{"message":"request timeout exceeded"\n\}$/);
  });

  test('/v1/api lists the 22 KES routes with their defaults (test-vectors.md §9)', async () => {
    const r = await c.request('GET', '/v1/api');
    const apis = r.json() as { method: string; path: string; max_body: number; timeout: number }[];
    assert.equal(apis.length, 22);
    const byPath = new Map(apis.map((a) => [a.path, a]));
    const expect = (path: string, method: string, maxBody: number, timeout: number) => assert.deepEqual(byPath.get(path), { method, path, max_body: maxBody, timeout }, path);
    expect('/version', 'GET', 0, 10);
    expect('/v1/api', 'GET', 0, 10);
    for (const p of ['/v1/ready', '/v1/status', '/v1/metrics', '/v1/key/describe/', '/v1/key/list/', '/v1/policy/describe/', '/v1/policy/read/', '/v1/policy/list/', '/v1/identity/describe/', '/v1/identity/list/', '/v1/identity/self/describe']) {
      expect(p, 'GET', 0, 15);
    }
    expect('/v1/key/create/', 'PUT', 0, 15);
    expect('/v1/key/delete/', 'DELETE', 0, 15);
    for (const p of ['/v1/key/import/', '/v1/key/generate/', '/v1/key/decrypt/', '/v1/key/hmac/']) expect(p, 'PUT', 1_000_000, 15);
    expect('/v1/key/encrypt/', 'PUT', 1_000_000, 0); // overridden to 300 ms by this test's config: truncated to 0 s
    expect('/v1/log/error', 'GET', 0, 0);
    expect('/v1/log/audit', 'GET', 0, 0);
  });

  test('/version needs no identity', async () => {
    const r = await c.request('GET', '/version');
    assert.equal(r.status, 200);
    // KES's fields, then MinKMS's VersionResponse (docs/minkms.md): no other keys.
    assert.deepEqual(Object.keys(r.json()), ['version', 'commit', 'api_version', 'host']);
    assert.equal(r.json().api_version, 'v1');
    assert.match(r.json().host, /^127\.0\.0\.1:\d+$/);
    assert.match(r.json().version, /^\d+\.\d+\.\d+/);
  });
});
