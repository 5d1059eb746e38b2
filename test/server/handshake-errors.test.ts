/** Failed TLS handshakes are logged with the client's address and the cause; plain HTTP gets an answer. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** Waits until the server's log matches pattern. */
async function logged(t: TestServer, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const m = pattern.exec(t.stderr());
    if (m) return m[0];
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`the log does not match ${pattern}:\n${t.stderr()}`);
}

describe('TLS handshake failures', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  test('plain HTTP on the port is answered in plain HTTP, as Go does, and logged', async () => {
    const socket = net.connect(t.port, '127.0.0.1');
    await once(socket, 'connect');
    const port = socket.localPort;
    socket.end('GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n');
    let answer = '';
    for await (const chunk of socket) answer += chunk;
    assert.equal(answer, 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
    await logged(t, new RegExp(`TLS handshake error from 127\\.0\\.0\\.1:${port}: the client sent plain HTTP to the HTTPS port \\(ERR_SSL_HTTP_REQUEST\\)`));
  });

  test('a client that does not trust the server certificate is logged with its address', async () => {
    const socket = tls.connect({ port: t.port, host: '127.0.0.1', servername: 'localhost' });
    const [err] = (await once(socket, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const line = await logged(t, /TLS handshake error from [^\n]*server certificate[^\n]*/);
    assert.match(line, /from 127\.0\.0\.1:\d+: the client (closed the connection during the handshake|does not trust the server certificate)/);
  });

  test('an old TLS version is logged as such', async () => {
    const socket = tls.connect({ port: t.port, host: '127.0.0.1', servername: 'localhost', ca: t.pki.ca.certPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    await once(socket, 'error').catch(() => undefined);
    await logged(t, /TLS handshake error from 127\.0\.0\.1:\d+: not a TLS handshake, or a TLS version the server does not speak \(1\.2 and 1\.3\) \(ERR_SSL_\w+\)/);
  });

  test('no handshake line says "from unknown"', () => {
    assert.doesNotMatch(t.stderr(), /from unknown|an unknown address/);
  });
});
