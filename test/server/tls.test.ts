/** Client-certificate modes, the TLS proxy and reloading (protocol.md §1.1, §2.5, §14). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, verifyClients, type TestServer } from '../helpers/test-server.js';
import { httpsClient } from '../helpers/https-client.js';
import { createTestPki, type TestCert } from '../helpers/certs.js';

/** Client certificates that tls.auth: on refuses, and the reason it gives. */
const UNTRUSTED = [
  ['self-signed', { issuer: 'self' }, 'is not issued by a trusted CA'],
  ['foreign-CA', { issuer: 'foreign' }, 'is not issued by a trusted CA'],
  ['expired', { notAfter: new Date(Date.now() - 86_400_000) }, 'has expired'],
  ['not-yet-valid', { notBefore: new Date(Date.now() + 86_400_000), notAfter: new Date(Date.now() + 10 * 86_400_000) }, 'is not valid yet'],
] as const;

describe('tls.auth: on', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(verifyClients);
  });
  after(() => t.close());

  test('a certificate issued by the CA is accepted', async () => {
    assert.equal((await t.client().request('GET', '/v1/status')).status, 200);
  });

  for (const [what, opts, reason] of UNTRUSTED) {
    test(`a ${what} client certificate gets every request refused with the reason, which the log tells with the address`, async () => {
      const cert = t.pki.client(opts);
      const c = httpsClient(t.port, t.pki.ca.certPem, cert);
      for (const path of ['/version', '/v1/status', '/v1/key/describe/k']) {
        const r = await c.request('GET', path);
        assert.deepEqual([r.status, r.json().message], [400, `tls: client certificate ${reason}`], path);
      }
      c.close();
      assert.match(t.stderr(), new RegExp(`refusing requests from 127\\.0\\.0\\.1:\\d+ \\(identity ${cert.identity}\\): tls: client certificate ${reason}`));
    });
  }

  test('a client without a certificate gets every request refused (400 tls: client certificate is required)', async () => {
    const c = httpsClient(t.port, t.pki.ca.certPem);
    const r = await c.request('GET', '/version');
    c.close();
    assert.deepEqual([r.status, r.json().message], [400, 'tls: client certificate is required']);
  });

  test('TLS 1.1 is refused', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, ca: t.pki.ca.certPem, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', servername: 'localhost' });
    await assert.rejects(new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject)));
    socket.destroy();
  });
});

describe('TLS proxy (protocol.md §20.8)', () => {
  let t: TestServer;
  const pki2 = createTestPki();
  const proxy = pki2.client({ commonName: 'proxy' });
  const user = pki2.client({ commonName: 'user' });
  before(async () => {
    t = await startTestServer((config) => {
      config.tls.proxy = { identities: [proxy.identity], certHeader: 'X-Tls-Client-Cert' };
      config.policies = { users: { allow: ['/v1/status'], deny: [], identities: [user.identity] } };
    });
  });
  after(() => t.close());

  const escaped = (pem: string) => encodeURIComponent(pem).replace(/%20/g, '+');

  test('the proxy acts for the client whose certificate it forwards', async () => {
    const c = t.client(proxy);
    let r = await c.request('GET', '/v1/status', undefined, { 'X-Tls-Client-Cert': escaped(user.certPem) });
    assert.equal(r.status, 200);
    r = await c.request('GET', '/v1/metrics', undefined, { 'X-Tls-Client-Cert': escaped(user.certPem) });
    assert.equal(r.status, 403, 'the forwarded identity\'s policy applies');
    r = await c.request('GET', '/v1/identity/self/describe', undefined, { 'X-Tls-Client-Cert': escaped(user.certPem) });
    assert.equal(r.json().identity, user.identity);
  });

  test('missing, duplicate or invalid forwarded certificates are 400 (test-vectors.md §1.3)', async () => {
    const c = t.client(proxy);
    let r = await c.request('GET', '/v1/status');
    assert.deepEqual([r.status, r.json().message], [400, 'no client certificate is present']);
    r = await c.request('GET', '/v1/status', undefined, { 'X-Ssl-Cert': escaped(user.certPem) });
    assert.deepEqual([r.status, r.json().message], [400, 'no client certificate is present']);
    r = await c.request('GET', '/v1/status', undefined, { 'X-Tls-Client-Cert': user.der.toString('base64') });
    assert.deepEqual([r.status, r.json().message], [400, 'invalid client certificate']);
    r = await c.request('GET', '/v1/status', undefined, { 'X-Tls-Client-Cert': '%A' });
    assert.deepEqual([r.status, r.json().message], [400, 'invalid client certificate']);
  });

  test('with tls.auth: off a forwarded CA certificate is not an identity either', async () => {
    const r = await t.client(proxy).request('GET', '/v1/identity/self/describe', undefined, { 'X-Tls-Client-Cert': escaped(pki2.ca.certPem) });
    assert.deepEqual([r.status, r.json().message], [400, 'no client certificate is present']);
  });

  test('the header is ignored for clients that are not the proxy', async () => {
    const r = await t.client(user).request('GET', '/v1/metrics', undefined, { 'X-Tls-Client-Cert': escaped(t.admin.certPem) });
    assert.equal(r.status, 403);
  });
});

describe('TLS proxy with tls.auth: on: forwarded certificates are verified', () => {
  let t: TestServer;
  let proxy: TestCert;
  let user: TestCert;
  before(async () => {
    t = await startTestServer((config, pki, dir) => {
      verifyClients(config, pki, dir);
      proxy = pki.client({ commonName: 'proxy' });
      user = pki.client({ commonName: 'user' });
      config.tls.proxy = { identities: [proxy.identity], certHeader: 'X-Tls-Client-Cert' };
      config.policies = { users: { allow: ['/v1/status', '/v1/identity/self/describe'], deny: [], identities: [user.identity] } };
    });
  });
  after(() => t.close());

  const forwarded = (cert: { certPem: string }) => ({ 'X-Tls-Client-Cert': encodeURIComponent(cert.certPem).replace(/%20/g, '+') });
  const denied = { status: 403, message: 'not authorized: insufficient permissions' };

  test('a valid certificate issued by the CA is the identity', async () => {
    const c = t.client(proxy);
    assert.equal((await c.request('GET', '/v1/status', undefined, forwarded(user))).status, 200);
    assert.equal((await c.request('GET', '/v1/identity/self/describe', undefined, forwarded(user))).json().identity, user.identity);
  });

  test('the CA certificate itself is never an identity', async () => {
    const r = await t.client(proxy).request('GET', '/v1/identity/self/describe', undefined, forwarded(t.pki.ca));
    assert.deepEqual([r.status, r.json().message], [400, 'no client certificate is present']);
  });

  for (const [what, opts] of UNTRUSTED) {
    test(`a ${what} forwarded certificate is refused`, async () => {
      const r = await t.client(proxy).request('GET', '/v1/status', undefined, forwarded(t.pki.client(opts)));
      assert.deepEqual({ status: r.status, message: r.json().message }, denied);
    });
  }
});

describe('reload', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  test('a new config applies to new requests; an open connection keeps working', async () => {
    const app = t.pki.client({ commonName: 'app' });
    const c = t.client(app);
    assert.equal((await c.request('GET', '/v1/status')).status, 403);
    await t.server.reload({ ...t.config, policies: { app: { allow: ['/v1/status'], deny: [], identities: [app.identity] } } });
    assert.equal((await c.request('GET', '/v1/status')).status, 200, 'same keep-alive connection, new policy');
  });

  test('a config that fails to load leaves the old one in place', async () => {
    await assert.rejects(t.server.reload({ ...t.config, tls: { ...t.config.tls, certFile: join(t.dir, 'missing.crt') } }), /tls: cannot read the certificate/);
    assert.equal((await t.client().request('GET', '/v1/status')).status, 200);
  });

  test('rotated server certificates are used for new connections', async () => {
    const pki2 = createTestPki();
    mkdirSync(join(t.dir, 'rotated'));
    const files = pki2.writeFiles(join(t.dir, 'rotated'));
    const before = t.client();
    await before.request('GET', '/v1/status');
    await t.server.reloadTls({ ...t.config, tls: { ...t.config.tls, certFile: files.certFile, keyFile: files.keyFile } });
    // The established connection still works…
    assert.equal((await before.request('GET', '/v1/status')).status, 200);
    // …and new connections see the new certificate: trusted by the new CA, not the old one.
    const admin2 = httpsClient(t.port, pki2.ca.certPem, t.admin);
    assert.equal((await admin2.request('GET', '/v1/status')).status, 200);
    admin2.close();
    const old = httpsClient(t.port, t.pki.ca.certPem, t.admin);
    await assert.rejects(old.request('GET', '/v1/status'));
    old.close();
  });
});
