/**
 * One HTTP/1.1 request on a new TLS connection that may resume an earlier session: for tests of
 * session resumption (what a resumed session may still do). Rejects when the handshake fails.
 */
import * as tls from 'node:tls';
import type { TestCert } from './certs.js';

export interface SessionAnswer {
  status: number;
  body: string;
  /** The server resumed the session given. */
  reused: boolean;
  /** The session to resume next time (the newest ticket the server sent). */
  session: Buffer | undefined;
}

export function requestOnSession(port: number, caPem: string, cert: TestCert, path: string, session?: Buffer, maxVersion: tls.SecureVersion = 'TLSv1.3'): Promise<SessionAnswer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: caPem, cert: cert.certPem, key: cert.keyPem, session, maxVersion, ALPNProtocols: ['http/1.1'] });
    let next: Buffer | undefined;
    let text = '';
    let reused = false;
    socket.on('session', (s: Buffer) => (next = s));
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.once('error', reject);
    socket.once('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n[^]*?\r\n\r\n([^]*)$/.exec(text);
      if (!m) return reject(new Error(`no HTTP response (reused: ${reused}): ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status: Number(m[1]), body: m[2]!, reused, session: next ?? session });
    });
  });
}
