/**
 * Slow, silent and flooding clients (issue 7; protocol.md §1.1: Go's ReadHeaderTimeout 5 s and
 * IdleTimeout 90 s): they are closed, or answered with a 4xx, and the server stays up. The slow
 * scenarios wait for the real 5 s time-outs, so they run concurrently.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as net from 'node:net';
import * as http2 from 'node:http2';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** What a raw connection received until it closed, and after how long. */
interface Closed {
  text: string;
  ms: number;
}

/** Resolves when socket closes (or rejects after limitMs: the server did not close it). */
function whenClosed(socket: net.Socket, limitMs: number): Promise<Closed> {
  const start = performance.now();
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${limitMs} ms`));
    }, limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: performance.now() - start });
    });
  });
}

/** A log stream over HTTP/1.1 and one over HTTP/2, with when each ends (or fails). */
async function logStreams(t: TestServer, path: string) {
  const streams = [await t.client().stream(path), await t.http2().stream(path)];
  assert.deepEqual(streams.map((s) => s.status), [200, 200]);
  const ended = streams.map((s) => (async () => {
    for await (const _ of s.lines) void _;
    return 'ended';
  })().catch(() => 'ended'));
  return { ended, close: () => streams.forEach((s) => s.close()) };
}

describe('slow and silent clients', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer((config) => {
      config.api['/v1/key/encrypt/'] = { skipAuth: false, timeoutMs: 1000 };
    });
    assert.equal((await t.client().request('PUT', '/v1/key/create/slow-key')).status, 200);
  });
  after(() => t.close());

  /** A TLS connection as the admin; resolves once the handshake is done. */
  async function connect(alpn = 'http/1.1'): Promise<tls.TLSSocket> {
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost', ALPNProtocols: [alpn] });
    await once(socket, 'secureConnect');
    return socket;
  }

  // The waits of these tests overlap: they run concurrently.
  describe('the 5 s header timeout', { concurrency: true }, () => {
    test('HTTP/1.1 headers sent one byte per second: closed without an answer', async () => {
      const socket = await connect();
      const headers = 'GET /v1/status HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n';
      let sent = 0;
      const trickle = setInterval(() => socket.writable && socket.write(headers[sent++]!), 1000);
      try {
        const closed = await whenClosed(socket, 9000);
        assert.equal(closed.text, '', 'no response to incomplete headers');
        assert.ok(closed.ms > 3500, `closed after ${closed.ms} ms: too early for the 5 s timeout`);
        assert.ok(sent < headers.length);
      } finally {
        clearInterval(trickle);
      }
    });

    test('a TLS connection that never sends a request is closed', async () => {
      const closed = await whenClosed(await connect(), 9000);
      assert.equal(closed.text, '');
    });

    test('a TCP connection that never starts the TLS handshake is closed', async () => {
      const socket = net.connect(t.port, '127.0.0.1');
      await once(socket, 'connect');
      const closed = await whenClosed(socket, 9000);
      assert.ok(closed.ms > 3500, `closed after ${closed.ms} ms`);
    });

    test('a TLS handshake that stops halfway is closed', async () => {
      const socket = net.connect(t.port, '127.0.0.1');
      await once(socket, 'connect');
      // The first bytes of a ClientHello record: handshake, TLS 1.0 record version, 512 bytes.
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
      await whenClosed(socket, 9000);
    });

    test('an HTTP/2 connection that never opens a stream is closed', async () => {
      const session = http2.connect(`https://127.0.0.1:${t.port}`, { ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost' });
      session.on('error', () => undefined);
      await once(session, 'connect');
      const start = performance.now();
      const closed = await Promise.race([once(session, 'close').then(() => true), sleep(9000).then(() => false)]);
      session.destroy();
      assert.ok(closed, 'the server did not close the session');
      assert.ok(performance.now() - start > 3500);
    });

    test('after a first request the connection is kept alive beyond 5 s (idle timeout 90 s)', async () => {
      const socket = await connect();
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      const request = 'GET /v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n';
      socket.write(request);
      await sleep(6500);
      assert.equal(socket.destroyed, false, 'the connection was closed while idle for 6.5 s');
      socket.write(request);
      while ((text.match(/HTTP\/1\.1 200 OK/g) ?? []).length < 2) await once(socket, 'data');
      socket.destroy();
    });

    test('log streams stay open beyond 5 s, over HTTP/1.1 and HTTP/2', async () => {
      const { ended, close } = await logStreams(t, '/v1/log/error');
      const first = await Promise.race([...ended, sleep(6500).then(() => 'open')]);
      assert.equal(first, 'open');
      close();
    });

    test('a slow body is cut by the route timeout: 503 and the connection closed (HTTP/1.1)', async () => {
      const socket = await connect();
      socket.write('PUT /v1/key/encrypt/slow-key HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{"plain');
      const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
      try {
        const closed = await whenClosed(socket, 5000);
        assert.match(closed.text, /^HTTP\/1\.1 503 /);
        assert.match(closed.text, /\{"message":"request timeout exceeded"\n\}$/);
      } finally {
        clearInterval(trickle);
      }
    });

    test('a slow body is cut by the route timeout: 503 and the stream closed (HTTP/2)', async () => {
      const session = http2.connect(`https://127.0.0.1:${t.port}`, { ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost' });
      session.on('error', () => undefined);
      const stream = session.request({ ':method': 'PUT', ':path': '/v1/key/encrypt/slow-key', 'content-length': '100' }, { endStream: false });
      // Listen from the start: the answer and the close can arrive in one read, and a close
      // emitted before a later listener is attached would be missed.
      const closed = once(stream, 'close');
      let body = '';
      stream.on('data', (d: Buffer) => (body += d));
      stream.on('error', () => undefined);
      stream.write('{"plain');
      const trickle = setInterval(() => stream.writable && stream.write(' '), 200);
      try {
        const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
        assert.equal(headers[':status'], 503);
        await Promise.race([closed, sleep(5000).then(() => assert.fail('the stream was not closed'))]);
        assert.equal(body, '{"message":"request timeout exceeded"\n}');
        // The session itself still works.
        const ok = session.request({ ':method': 'PUT', ':path': '/v1/key/encrypt/slow-key' });
        ok.end(JSON.stringify({ plaintext: b64('hi') }));
        const [h] = (await once(ok, 'response')) as [http2.IncomingHttpHeaders];
        assert.equal(h[':status'], 200);
        ok.resume();
        await once(ok, 'end');
      } finally {
        clearInterval(trickle);
        session.destroy();
      }
    });
  });

  test('the server still answers afterwards', async () => {
    assert.equal((await t.client().request('GET', '/v1/status')).status, 200);
    assert.match(t.stderr(), /TLS handshake error/);
  });
});

describe('a configured route timeout on a stream', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer((config) => {
      // Log streams have no time-out by default; one given in the config cuts a started stream.
      config.api['/v1/log/audit'] = { skipAuth: false, timeoutMs: 1000 };
    });
  });
  after(() => t.close());

  test('a started stream is cut when the timeout passes (HTTP/1.1 and HTTP/2)', async () => {
    const { ended, close } = await logStreams(t, '/v1/log/audit');
    try {
      assert.deepEqual(await Promise.all(ended.map((e) => Promise.race([e, sleep(5000).then(() => 'open')]))), ['ended', 'ended']);
    } finally {
      close();
    }
  });
});

describe('header floods and malformed HTTP/1.1', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    assert.equal((await t.client().request('PUT', '/v1/key/create/flood-key')).status, 200);
  });
  after(() => t.close());

  /** Sends raw bytes on a new HTTP/1.1 connection; returns what came back until the server closed it. */
  async function raw(request: string): Promise<Closed> {
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    await once(socket, 'secureConnect');
    const closed = whenClosed(socket, 8000);
    socket.write(request);
    return closed;
  }

  const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);

  const ROWS: [what: string, request: string, status: number][] = [
    ['a 20 KiB header', `GET /v1/status HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['4000 headers', `GET /v1/status HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 4000 }, (_, i) => `X-H${i}: 1\r\n`).join('')}\r\n`, 431],
    ['a 20 KiB URL', `GET /v1/key/describe/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 431],
    ['an unknown method', 'FOO /v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n', 400],
    ['a non-numeric Content-Length', 'PUT /v1/key/encrypt/flood-key HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n', 400],
    ['two different Content-Lengths', 'PUT /v1/key/encrypt/flood-key HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}', 400],
    ['Content-Length with chunked encoding', 'PUT /v1/key/encrypt/flood-key HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['a bad chunk size', 'PUT /v1/key/encrypt/flood-key HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['a header without a colon', 'GET /v1/status HTTP/1.1\r\nHost: localhost\r\nBroken\r\n\r\n', 400],
    ['a NUL in a header value', 'GET /v1/status HTTP/1.1\r\nHost: localhost\r\nX-A: a\0b\r\n\r\n', 400],
    ['an unknown HTTP version', 'GET /v1/status HTTP/7.1\r\nHost: localhost\r\n\r\n', 400],
    ['a request line of garbage', '\x16\x03\x01garbage\r\n\r\n', 400],
  ];

  for (const [what, request, status] of ROWS) {
    test(`HTTP/1.1 with ${what}: ${status} and the connection closed`, async () => {
      const closed = await raw(request);
      assert.equal(statusOf(closed.text), status, closed.text.slice(0, 200));
    });
  }

  test('HTTP/1.1 with 1000 small headers (under 16 KiB) is served', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    await once(socket, 'secureConnect');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d));
    socket.write(`GET /v1/status HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 1000 }, (_, i) => `X${i}: 1\r\n`).join('')}\r\n`);
    while (!/\r\n\r\n\{.*\}\n$/s.test(text)) await once(socket, 'data');
    assert.equal(statusOf(text), 200);
    socket.destroy();
  });

  /** One HTTP/2 request with extra headers; the stream's outcome. */
  async function h2(session: http2.ClientHttp2Session, headers: Record<string, string>): Promise<{ status?: number; error?: string }> {
    const stream = session.request({ ':method': 'GET', ':path': '/v1/status', ...headers });
    return new Promise((resolve) => {
      stream.on('response', (h) => {
        stream.resume();
        resolve({ status: Number(h[':status']) });
      });
      stream.on('error', (err: Error) => resolve({ error: err.message }));
      stream.on('close', () => resolve({ error: `closed with code ${stream.rstCode}` }));
    });
  }

  test('HTTP/2 with too many or too large headers: the stream is refused, the session and the server stay up', async () => {
    const session = http2.connect(`https://127.0.0.1:${t.port}`, {
      ca: t.pki.ca.certPem,
      cert: t.admin.certPem,
      key: t.admin.keyPem,
      servername: 'localhost',
      maxSendHeaderBlockLength: 1 << 20,
    });
    session.on('error', () => undefined);
    try {
      const refused = { error: 'Stream closed with error code NGHTTP2_ENHANCE_YOUR_CALM' };
      const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`x-h${i}`, '1']));
      assert.deepEqual(await h2(session, many), refused, '300 headers');
      assert.deepEqual(await h2(session, { 'x-big': 'a'.repeat(100_000) }), refused, 'a 100 kB header');
      assert.deepEqual(await h2(session, { 'x-big': 'a'.repeat(17_000) }), refused, 'a 17 kB header');
      assert.deepEqual(await h2(session, { 'x-big': 'a'.repeat(15_000) }), { status: 200 }, 'a 15 kB header is fine');
      assert.deepEqual(await h2(session, {}), { status: 200 }, 'the session still works');
      assert.equal((await t.http2().request('GET', '/v1/status')).status, 200);
    } finally {
      session.destroy();
    }
  });

  test('a 50 MB streamed body is refused after the 1 MB limit without being read (HTTP/1.1 and HTTP/2)', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const total = 50 * 1024 * 1024;

    // HTTP/1.1: 413, then the connection is closed before the client could send it all.
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    await once(socket, 'secureConnect');
    const closed = whenClosed(socket, 10_000);
    socket.write('PUT /v1/key/encrypt/flood-key HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n');
    let sent = 0;
    let drained = () => undefined as void;
    socket.on('drain', () => drained()).on('close', () => drained());
    while (sent < total && socket.writable) {
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      sent += chunk.length;
      if (!socket.write('\r\n')) await new Promise<void>((resolve) => (drained = resolve));
    }
    const { text } = await closed;
    assert.equal(statusOf(text), 413);
    assert.ok(sent < total / 2, `the client could send ${sent} bytes`);

    // HTTP/2: 413, then the stream is reset; the session keeps working.
    const session = http2.connect(`https://127.0.0.1:${t.port}`, { ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost' });
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':method': 'PUT', ':path': '/v1/key/encrypt/flood-key' }, { endStream: false });
      stream.on('error', () => undefined);
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.resume();
      let h2sent = 0;
      let closed = false;
      let wake = () => undefined as void;
      stream.on('drain', () => wake()).on('close', () => ((closed = true), wake()));
      while (h2sent < total && !closed) {
        h2sent += chunk.length;
        if (stream.write(chunk)) continue;
        // Flow control: without a reset from the server the client would wait here forever.
        const woke = await Promise.race([new Promise<boolean>((resolve) => (wake = () => resolve(true))), sleep(5000).then(() => false)]);
        assert.ok(woke, `the stream was neither read nor reset after ${h2sent} bytes`);
      }
      assert.ok(closed, 'the stream was not closed');
      assert.equal(status, 413);
      assert.ok(h2sent < total / 2, `the client could send ${h2sent} bytes`);
      const ok = session.request({ ':method': 'GET', ':path': '/v1/status' });
      const [h] = (await once(ok, 'response')) as [http2.IncomingHttpHeaders];
      assert.equal(h[':status'], 200);
      ok.resume();
    } finally {
      session.destroy();
    }
    assert.equal((await t.client().request('GET', '/v1/status')).status, 200);
  });
});
