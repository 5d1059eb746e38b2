/**
 * TLS hardening (issue 7, item 5; protocol.md §1.1): TLS 1.2 minimum and modern cipher suites only,
 * also after a reload; Ed25519 client certificates over TLS 1.2 and 1.3; tls.auth: on rejects
 * bad client certificates over HTTP/2 too; the start banner warns when client certificates are
 * not verified; and `kes server` rotates server and CA certificates on SIGHUP without dropping
 * established connections.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as http2 from 'node:http2';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, verifyClients, type TestServer } from '../helpers/test-server.js';
import { createTestPki, type TestCert } from '../helpers/certs.js';
import { http2Client, httpsClient } from '../helpers/https-client.js';
import { startCli } from '../cli/run-cli.js';
import { writeServerConfig } from '../helpers/server-config-file.js';
import { createCertificate } from '../../src/pki/x509.js';
import { serverConfig } from '../../src/config/defaults.js';
import { buildInfo } from '../../src/util/build-info.js';
import { banner } from '../../src/cli/commands/server-banner.js';

interface Handshake {
  ok: boolean;
  cipher?: string;
  protocol?: string | null;
}

/** One TLS handshake with the given client settings; the client certificate is `cert`. */
async function handshake(port: number, ca: string, cert: TestCert | undefined, o: tls.ConnectionOptions): Promise<Handshake> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...(cert && { cert: cert.certPem, key: cert.keyPem }), ALPNProtocols: ['http/1.1'], ...o });
  socket.on('error', () => undefined);
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('secureConnect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  const result = ok ? { ok, cipher: socket.getCipher().standardName, protocol: socket.getProtocol() } : { ok };
  socket.destroy();
  return result;
}

/** Reports whether text holds a complete HTTP/1.1 response with a Content-Length. */
function complete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  const length = end < 0 ? null : /content-length: (\d+)/i.exec(text.slice(0, end));
  return length !== null && text.length >= end + 4 + Number(length[1]);
}

/** A request on an open raw HTTP/1.1 TLS connection (the same connection each time); its status. */
async function rawRequest(socket: tls.TLSSocket, path: string): Promise<number> {
  let text = '';
  const onData = (d: Buffer) => (text += d);
  socket.on('data', onData);
  const closed = once(socket, 'close');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  while (!complete(text)) await Promise.race([once(socket, 'data'), closed.then(() => assert.fail(`connection closed: ${text}`))]);
  socket.off('data', onData);
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
}

/** GET /version over a new HTTP/2 connection: the status, or 'failed' when the connection fails. */
async function h2Status(port: number, ca: string, cert: TestCert): Promise<number | 'failed'> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca, cert: cert.certPem, key: cert.keyPem, servername: 'localhost' });
  try {
    return await new Promise<number | 'failed'>((resolve) => {
      session.once('error', () => resolve('failed'));
      session.once('close', () => resolve('failed'));
      const stream = session.request({ ':path': '/version' });
      stream.once('response', (h) => resolve(Number(h[':status'])));
      stream.once('error', () => resolve('failed'));
      stream.resume();
    });
  } finally {
    session.destroy();
  }
}

const TLS12 = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;
const TLS13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;

describe('cipher suites', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const ACCEPTED: [string, tls.ConnectionOptions, string][] = [
    ['TLS 1.3 AES-128-GCM', { ...TLS13, ciphers: 'TLS_AES_128_GCM_SHA256' }, 'TLS_AES_128_GCM_SHA256'],
    ['TLS 1.3 AES-256-GCM', { ...TLS13, ciphers: 'TLS_AES_256_GCM_SHA384' }, 'TLS_AES_256_GCM_SHA384'],
    ['TLS 1.3 ChaCha20-Poly1305', { ...TLS13, ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }, 'TLS_CHACHA20_POLY1305_SHA256'],
    ['TLS 1.2 ECDHE-ECDSA AES-128-GCM', { ...TLS12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
    ['TLS 1.2 ECDHE-ECDSA AES-256-GCM', { ...TLS12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
    ['TLS 1.2 ECDHE-ECDSA ChaCha20-Poly1305', { ...TLS12, ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' }, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],
  ];
  // Each of these is negotiated by a Node TLS server with its default settings (checked below).
  const REFUSED: [string, tls.ConnectionOptions][] = [
    ['TLS 1.2 ECDHE-ECDSA AES-128-CBC-SHA', { ...TLS12, ciphers: 'ECDHE-ECDSA-AES128-SHA' }],
    ['TLS 1.2 ECDHE-ECDSA AES-256-CBC-SHA384', { ...TLS12, ciphers: 'ECDHE-ECDSA-AES256-SHA384' }],
    ['TLS 1.2 ECDHE-ECDSA AES-128-CBC-SHA256', { ...TLS12, ciphers: 'ECDHE-ECDSA-AES128-SHA256' }],
    ['TLS 1.3 AES-128-CCM', { ...TLS13, ciphers: 'TLS_AES_128_CCM_SHA256' }],
    ['TLS 1.1', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }],
  ];

  test('modern suites are negotiated, with an Ed25519 client certificate', async () => {
    for (const [what, o, cipher] of ACCEPTED) {
      const h = await handshake(t.port, t.pki.ca.certPem, t.admin, o);
      assert.deepEqual([h.ok, h.cipher], [true, cipher], what);
    }
  });

  test('CBC suites, TLS 1.3 CCM and TLS 1.1 are refused (a permissive Node server accepts them)', async () => {
    const plain = tls.createServer({ key: t.pki.server.keyPem, cert: t.pki.server.certPem, minVersion: 'TLSv1', ciphers: `${tls.DEFAULT_CIPHERS}:TLS_AES_128_CCM_SHA256:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0` });
    plain.on('secureConnection', (s: tls.TLSSocket) => s.end());
    plain.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as { port: number }).port;
      for (const [what, o] of REFUSED) {
        assert.equal((await handshake(port, t.pki.ca.certPem, undefined, o)).ok, true, `control: ${what} works against a permissive server`);
        assert.equal((await handshake(t.port, t.pki.ca.certPem, t.admin, o)).ok, false, what);
      }
    } finally {
      plain.close();
    }
  });

  test('after a reload the same suites are refused and accepted', async () => {
    await t.server.reloadTls(t.config);
    await t.server.reload({ ...t.config });
    for (const [what, o] of REFUSED) assert.equal((await handshake(t.port, t.pki.ca.certPem, t.admin, o)).ok, false, `after reload: ${what}`);
    for (const [what, o, cipher] of ACCEPTED) assert.equal((await handshake(t.port, t.pki.ca.certPem, t.admin, o)).cipher, cipher, `after reload: ${what}`);
  });

  test('requests work with an Ed25519 client certificate over TLS 1.2, HTTP/1.1 and HTTP/2', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost', ALPNProtocols: ['http/1.1'], ...TLS12, ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
    await once(socket, 'secureConnect');
    assert.equal(await rawRequest(socket, '/v1/status'), 200, 'the admin (an Ed25519 identity) over TLS 1.2');
    socket.destroy();
    const session = http2.connect(`https://127.0.0.1:${t.port}`, { ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, servername: 'localhost', ...TLS12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    try {
      const stream = session.request({ ':path': '/v1/status' });
      const [h] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
      assert.equal(h[':status'], 200);
      stream.resume();
    } finally {
      session.destroy();
    }
  });
});

describe('cipher suites with an RSA server certificate', () => {
  let t: TestServer;
  let rsa: { certPem: string };
  before(async () => {
    t = await startTestServer((config, _pki, dir) => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const cert = createCertificate({
        commonName: 'localhost',
        publicKey,
        signingKey: privateKey,
        keyUsage: ['digitalSignature', 'keyEncipherment'],
        extKeyUsage: ['serverAuth'],
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
      });
      rsa = { certPem: cert.pem };
      writeFileSync(join(dir, 'rsa.crt'), cert.pem);
      writeFileSync(join(dir, 'rsa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      config.tls.certFile = join(dir, 'rsa.crt');
      config.tls.keyFile = join(dir, 'rsa.key');
    });
  });
  after(() => t.close());

  test('ECDHE-RSA with AES-GCM or ChaCha20 works; RSA key exchange and CBC are refused', async () => {
    for (const c of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
      assert.equal((await handshake(t.port, rsa.certPem, t.admin, { ...TLS12, ciphers: c })).ok, true, c);
    }
    for (const c of ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA']) {
      assert.equal((await handshake(t.port, rsa.certPem, t.admin, { ...TLS12, ciphers: c })).ok, false, c);
    }
  });
});

describe('tls.auth: on over HTTP/2', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(verifyClients);
  });
  after(() => t.close());

  test('expired, not-yet-valid, self-signed and foreign-CA client certificates are answered with the reason; a valid one works', async () => {
    const DAY = 86_400_000;
    const bad = {
      'has expired': t.pki.client({ notAfter: new Date(Date.now() - DAY) }),
      'is not valid yet': t.pki.client({ notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) }),
      'is not issued by a trusted CA': t.pki.client({ issuer: 'self' }),
    };
    for (const [reason, cert] of [...Object.entries(bad), ['is not issued by a trusted CA', t.pki.client({ issuer: 'foreign' })] as const]) {
      const c = http2Client(t.port, t.pki.ca.certPem, cert);
      const r = await c.request('GET', '/version');
      c.close();
      assert.deepEqual([r.status, r.json().message], [400, `tls: client certificate ${reason}`]);
    }
    assert.equal(await h2Status(t.port, t.pki.ca.certPem, t.pki.client()), 200);
  });
});

describe('the start banner', () => {
  const config = (auth: 'on' | 'off') => serverConfig({ admin: 'disabled', tls: { keyFile: 'k', certFile: 'c', auth }, keystore: { type: 'mem' } });
  const text = (auth: 'on' | 'off') => banner({ config: config(auth), build: buildInfo(), host: '127.0.0.1', port: 7373, color: false, workers: 1 });

  test('warns when client certificates are not verified (tls.auth: off), not when they are', () => {
    assert.match(text('off'), /Warning: client certificates are not verified \(tls\.auth: off\)/);
    assert.doesNotMatch(text('on'), /Warning/);
  });
});

describe('kes server: certificate rotation on SIGHUP', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kes-rotate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('new server and CA certificates apply to new connections; established ones keep working', async () => {
    const old = createTestPki();
    const next = createTestPki();
    const admin = old.client({ commonName: 'admin' });
    const renewed = next.client({ commonName: 'app' });
    const write = (pki: typeof old) => {
      writeFileSync(join(dir, 'server.crt'), pki.server.certPem);
      writeFileSync(join(dir, 'server.key'), pki.server.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, 'ca.crt'), pki.ca.certPem);
    };
    write(old);
    const file = writeServerConfig({
      admin: admin.identity,
      dir,
      tls: `  ca: ${join(dir, 'ca.crt')}\n  auth: on\n`,
      sections: `policy:\n  app:\n    allow: [/v1/status]\n    identities: [${renewed.identity}]\n`,
    });
    const cli = startCli(['server', '--config', file]);
    try {
      const [, port] = (await cli.waitFor(/https:\/\/127\.0\.0\.1:(\d+)/)) as RegExpMatchArray & [string, string];
      await cli.waitFor(/Server is up and running/);
      assert.doesNotMatch(cli.stdout(), /Warning: client certificates are not verified/, 'no warning with tls.auth: on');
      const h1 = tls.connect({ host: '127.0.0.1', port: Number(port), ca: old.ca.certPem, cert: admin.certPem, key: admin.keyPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
      await once(h1, 'secureConnect');
      assert.equal(await rawRequest(h1, '/v1/status'), 200);
      const h2 = http2.connect(`https://127.0.0.1:${port}`, { ca: old.ca.certPem, cert: admin.certPem, key: admin.keyPem, servername: 'localhost' });
      h2.on('error', () => undefined);
      const h2status = async () => {
        const stream = h2.request({ ':path': '/v1/status' });
        const [h] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
        stream.resume();
        return h[':status'];
      };
      assert.equal(await h2status(), 200);

      write(next);
      cli.child.kill('SIGHUP');
      await cli.waitFor(/Reloaded config file/);

      assert.equal(await rawRequest(h1, '/v1/status'), 200, 'the established HTTP/1.1 connection keeps working');
      assert.equal(await h2status(), 200, 'the established HTTP/2 connection keeps working');
      assert.equal((await handshake(Number(port), old.ca.certPem, admin, {})).ok, false, 'the old server certificate is gone');
      const rejected = httpsClient(Number(port), next.ca.certPem, admin);
      const refusal = await rejected.request('GET', '/v1/status');
      assert.deepEqual([refusal.status, refusal.json().message], [400, 'tls: client certificate is not issued by a trusted CA'], 'a client certificate of the old CA is refused');
      rejected.close();
      const c = httpsClient(Number(port), next.ca.certPem, renewed);
      assert.equal((await c.request('GET', '/v1/status')).status, 200, 'a client certificate of the new CA works');
      c.close();
      h1.destroy();
      h2.destroy();
    } finally {
      cli.child.kill('SIGTERM');
    }
    assert.equal(await cli.exited, 0);
  });
});
