import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, mtlsHandshake } from './certs.js';

test('the test PKI makes certificates that complete a mutual-TLS handshake', async () => {
  const pki = createTestPki();
  const client = pki.client();
  assert.equal(new X509Certificate(client.der).publicKey.asymmetricKeyType, 'ed25519');
  const r = await mtlsHandshake({ server: pki.server, clientCAs: [pki.ca.certPem], serverCAs: [pki.ca.certPem], client, version: 'TLSv1.3', servername: 'localhost' });
  assert.equal(r.accepted, true, r.clientError?.message);
  assert.equal(r.serverVerified, true);
  assert.deepEqual(r.peerCertificate, client.der);

  const foreign = await mtlsHandshake({ server: pki.server, clientCAs: [pki.ca.certPem], serverCAs: [pki.ca.certPem], client: pki.client({ issuer: 'foreign' }), version: 'TLSv1.3' });
  assert.equal(foreign.accepted, false);
});

test('the test PKI writes the server files, keys mode 0600', () => {
  const pki = createTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'kes-pki-'));
  try {
    const files = pki.writeFiles(dir);
    assert.equal(readFileSync(files.caFile, 'utf8'), pki.ca.certPem);
    assert.equal(readFileSync(files.certFile, 'utf8'), pki.server.certPem);
    assert.equal(readFileSync(files.keyFile, 'utf8'), pki.server.keyPem);
    assert.match(pki.server.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    if (process.platform !== 'win32') assert.equal(statSync(files.keyFile).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
