/**
 * The CLI and the SDK tell certificate problems apart, on either side, each with what to do:
 * no client certificate, expired, not yet valid, untrusted CA, wrong host name.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { join } from 'node:path';
import { startTestServer, verifyClients, type TestServer } from '../helpers/test-server.js';
import { createTestPki, type TestCert } from '../helpers/certs.js';
import { createCertificate } from '../../src/pki/x509.js';
import { ApiKey } from '../../src/auth/api-key.js';
import { KesClient } from '../../src/client/client.js';
import { ConnectionError } from '../../src/client/errors.js';
import { isKesError } from '../../src/api/errors.js';
import { tlsProblemOf } from '../../src/client/tls-problems.js';
import { kes } from '../helpers/cli-io.js';

const DAY = 86_400_000;

/** A server certificate of its own CA (written as ca.crt) with the given validity and SANs. */
function serverCertificate(dir: string, o: { notBefore: Date; notAfter: Date; ip?: string }): void {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caCert = createCertificate({ commonName: 'test CA', publicKey: ca.publicKey, signingKey: ca.privateKey, isCA: true });
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = createCertificate({
    commonName: 'server',
    publicKey: key.publicKey,
    signingKey: ca.privateKey,
    issuer: { certificate: caCert.der },
    extKeyUsage: ['serverAuth'],
    ipAddresses: [o.ip ?? '127.0.0.1'],
    notBefore: o.notBefore,
    notAfter: o.notAfter,
  });
  writeFileSync(join(dir, 'server.crt'), cert.pem);
  writeFileSync(join(dir, 'server.key'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), caCert.pem);
}

describe('the server certificate', () => {
  const servers: TestServer[] = [];
  after(async () => Promise.all(servers.map((s) => s.close())));
  const start = async (o: Parameters<typeof serverCertificate>[1]) => {
    const t = await startTestServer((_c, _pki, dir) => serverCertificate(dir, o));
    servers.push(t);
    return t;
  };
  const run = (t: TestServer, host = '127.0.0.1') =>
    kes(['key', 'ls'], { KES_SERVER: `${host}:${t.port}`, KES_API_KEY: ApiKey.generate().toString(), KES_CAPATH: join(t.dir, 'ca.crt') });

  test('expired: the server admin must renew it (not "--ca")', async () => {
    const t = await start({ notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
    const r = await run(t);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: the certificate of https:\/\/127\.0\.0\.1:\d+ has expired: the server's admin must renew it/);
    assert.doesNotMatch(r.stderr, /--ca/);
  });

  test('not yet valid: check the clocks', async () => {
    const t = await start({ notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) });
    const r = await run(t);
    assert.match(r.stderr, /^Error: the certificate of https:\/\/127\.0\.0\.1:\d+ is not valid yet: check the clocks/);
  });

  test('issued for another address: the wrong host name', async () => {
    const t = await start({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + DAY), ip: '127.0.0.2' });
    const r = await run(t);
    assert.match(r.stderr, /^Error: the certificate of https:\/\/127\.0\.0\.1:\d+ is not valid for this host name/);
  });
});

describe('the client certificate, with tls.auth: on', () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startTestServer(verifyClients);
    dir = t.dir;
  });
  after(() => t.close());

  const run = (cert: TestCert) => {
    writeFileSync(join(dir, 'client.crt'), cert.certPem);
    writeFileSync(join(dir, 'client.key'), cert.keyPem, { mode: 0o600 });
    return kes(['key', 'ls'], { KES_SERVER: `127.0.0.1:${t.port}`, KES_CLIENT_CERT: join(dir, 'client.crt'), KES_CLIENT_KEY: join(dir, 'client.key'), KES_CAPATH: join(dir, 'ca.crt') });
  };

  test('expired', async () => {
    const r = await run(t.pki.client({ notAfter: new Date(Date.now() - DAY) }));
    assert.equal(r.stderr, 'Error: tls: client certificate has expired: use a renewed certificate (KES_CLIENT_CERT) or an API key.\n');
  });

  test('not yet valid', async () => {
    const r = await run(t.pki.client({ notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) }));
    assert.equal(r.stderr, 'Error: tls: client certificate is not valid yet: check the clocks of this machine and the server.\n');
  });

  test('issued by another CA, or an API key (self-signed)', async () => {
    let r = await run(t.pki.client({ issuer: 'foreign' }));
    assert.match(r.stderr, /^Error: tls: client certificate is not issued by a trusted CA: the server verifies client certificates \(tls\.auth: on\) and accepts only those issued by a CA in its tls\.ca/);
    r = await kes(['key', 'ls'], { KES_SERVER: `127.0.0.1:${t.port}`, KES_API_KEY: ApiKey.generate().toString(), KES_CAPATH: join(dir, 'ca.crt') });
    assert.match(r.stderr, /the certificate of an API key is self-signed and is never accepted there/);
  });

  test('none: the SDK gets 400 tls: client certificate is required', async () => {
    const client = new KesClient({ endpoints: [`https://127.0.0.1:${t.port}`], ca: t.pki.ca.certPem });
    await assert.rejects(client.version(), (err) => isKesError(err, 'KES_ERR_TLS') && err.message === 'tls: client certificate is required');
    client.close();
  });
});

describe('a server that refuses client certificates in the handshake (as KES does)', () => {
  // KES (Go) aborts the handshake with a TLS alert; Node's server does that for a missing
  // certificate when it verifies client certificates.
  const pki = createTestPki();
  let server: tls.Server;
  let port: number;
  before(async () => {
    server = tls.createServer({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => s.end());
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  test('no certificate: the SDK reads the certificate_required alert', async () => {
    const client = new KesClient({ endpoints: [`https://127.0.0.1:${port}`], ca: pki.ca.certPem });
    const err = await client.version().catch((e: unknown) => e);
    client.close();
    assert.ok(err instanceof ConnectionError, String(err));
    assert.equal(err.causeCode, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    assert.equal(err.tlsProblem, 'client-certificate-required');
    assert.match(err.message, /the server requires a client certificate/);
  });
});

test('a generic alert about the client certificate is told apart by its dates', () => {
  const pki = createTestPki();
  const expired = pki.client({ notAfter: new Date(Date.now() - DAY) }).certPem;
  const future = pki.client({ notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 2 * DAY) }).certPem;
  const valid = pki.client().certPem;
  assert.equal(tlsProblemOf('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', expired), 'client-certificate-expired');
  assert.equal(tlsProblemOf('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', future), 'client-certificate-not-yet-valid');
  assert.equal(tlsProblemOf('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', valid), 'client-certificate-untrusted');
  assert.equal(tlsProblemOf('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', valid), 'client-certificate-untrusted');
  assert.equal(tlsProblemOf('ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', valid), 'client-certificate-expired');
  assert.equal(tlsProblemOf('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', undefined), 'client-certificate-required');
  assert.equal(tlsProblemOf('ECONNRESET', valid), undefined);
});
