/**
 * HTTP/2 through the core stream API (src/server/http2-wire.ts): what the compatibility layer
 * did for free and the wire must do itself, and the stream limit that spreads a Go client's
 * requests over several connections (docs/performance.md).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { once } from 'node:events';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { startClusterServer } from '../helpers/cluster-server.js';

describe('HTTP/2 wire', () => {
  let t: TestServer;
  let session: http2.ClientHttp2Session;
  before(async () => {
    t = await startTestServer();
    session = http2.connect(`https://127.0.0.1:${t.port}`, { ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost' });
    session.on('error', () => undefined);
    await once(session, 'remoteSettings');
    const created = await call({ ':method': 'POST', ':path': '/v1/key/create/k' });
    assert.equal(created.status, 200);
  });
  after(async () => {
    session.close();
    await t.close();
  });

  /** One request on the shared session: status, headers, body and how many body bytes came. */
  function call(headers: http2.OutgoingHttpHeaders, body?: string) {
    const stream = session.request(headers, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      let text = '';
      let response: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => (response = h));
      stream.on('data', (c: Buffer) => (text += c.toString()));
      stream.on('end', () => resolve({ status: Number(response[':status']), headers: response, body: text }));
      stream.on('error', reject);
    });
  }

  test('one worker announces 250 concurrent streams, as Go\'s server; a client with 300 in flight gets every answer', async () => {
    assert.equal(session.remoteSettings.maxConcurrentStreams, 250);
    const context = Buffer.from('ctx').toString('base64');
    const answers = await Promise.all(Array.from({ length: 300 }, () => call({ ':method': 'POST', ':path': '/v1/key/generate/k' }, JSON.stringify({ context }))));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    for (const a of answers) assert.equal(Buffer.from(a.body ? JSON.parse(a.body).plaintext : '', 'base64').length, 32);
  });

  test('responses carry Content-Length and Date, as Go\'s', async () => {
    const r = await call({ ':method': 'GET', ':path': '/v1/key/describe/k' });
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
    assert.ok(!Number.isNaN(Date.parse(String(r.headers.date))));
  });

  test('HEAD gets the headers of GET, with the length of a body it does not send', async () => {
    const get = await call({ ':method': 'GET', ':path': '/v1/key/list' });
    const head = await call({ ':method': 'HEAD', ':path': '/v1/key/list' });
    assert.equal(get.status, 301);
    assert.equal(head.status, 301);
    assert.ok(get.body.length > 0);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(get.body)));
    assert.equal(head.headers.location, get.headers.location);
  });

  test('Expect: 100-continue is answered with 100 before the body is sent', async () => {
    const stream = session.request({ ':method': 'POST', ':path': '/v1/key/encrypt/k', expect: '100-continue' }, { endStream: false });
    await once(stream, 'continue');
    stream.end(JSON.stringify({ plaintext: Buffer.from('hello').toString('base64') }));
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    let body = '';
    for await (const c of stream) body += c;
    assert.equal(headers[':status'], 200);
    assert.ok(JSON.parse(body).ciphertext);
  });

  test('a stream reset in the middle of its body ends quietly: no internal error, the session goes on', async () => {
    const before = t.stderr().length;
    const stream = session.request({ ':method': 'POST', ':path': '/v1/key/encrypt/k', 'content-length': '1000' }, { endStream: false });
    stream.write('{"plaintext":"');
    await new Promise((r) => setTimeout(r, 50));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await once(stream, 'close');
    await new Promise((r) => setTimeout(r, 50));
    const r = await call({ ':method': 'GET', ':path': '/v1/key/describe/k' });
    assert.equal(r.status, 200);
    assert.doesNotMatch(t.stderr().slice(before), /level=ERROR/);
  });

  test('an answer sent before the body was read stops the rest of the body, and the stream closes', async () => {
    // A key name that is not valid is refused before the body is read (400).
    const stream = session.request({ ':method': 'POST', ':path': '/v1/key/encrypt/bad*name' }, { endStream: false });
    stream.write('x'.repeat(1024));
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(headers[':status'], 400);
    stream.resume();
    // The client never ends its body: the server's reset (NO_ERROR) closes the stream.
    await once(stream, 'close');
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
  });
});

describe('HTTP/2 with several workers', () => {
  test('--workers 2 announces 16 concurrent streams, so a Go client with more in flight opens connections the workers share', async () => {
    const s = await startClusterServer({ workers: 2 });
    const session = http2.connect(`https://127.0.0.1:${s.port}`, { ca: s.pki.ca.certPem, cert: s.admin.certPem, key: s.admin.keyPem, servername: 'localhost' });
    try {
      session.on('error', () => undefined);
      await once(session, 'remoteSettings');
      assert.equal(session.remoteSettings.maxConcurrentStreams, 16);
    } finally {
      session.close();
      await s.close();
    }
  });
});
