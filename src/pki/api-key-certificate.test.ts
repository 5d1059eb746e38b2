import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedFromApiKey } from './api-key-certificate.js';
import { decodePem } from './pem.js';
import { ApiKey } from '../auth/api-key.js';
import { identityOfCertificate } from '../auth/identity.js';
import { API_KEY_VECTORS } from '../../test/helpers/vectors.js';
import { createTestPki, mtlsHandshake } from '../../test/helpers/certs.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const VECTOR_KEY = 'kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYDRc';
const VECTOR_IDENTITY = '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22';

const tmp = mkdtempSync(join(tmpdir(), 'kes-apikey-cert-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function openssl(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

describe('createSelfSignedFromApiKey', () => {
  test('the certificate identity is the API key identity (test-vectors.md §1.1)', () => {
    const key = ApiKey.parse(VECTOR_KEY);
    assert.equal(key.identity, VECTOR_IDENTITY);
    const { der } = createSelfSignedFromApiKey(key);
    assert.equal(identityOfCertificate(der), VECTOR_IDENTITY);
    for (const [apiKey, identity] of API_KEY_VECTORS) {
      assert.equal(identityOfCertificate(createSelfSignedFromApiKey(ApiKey.parse(apiKey)).der), identity, apiKey.slice(0, 14));
    }
  });

  test('subject, issuer, validity, extensions (node X509Certificate)', () => {
    const key = ApiKey.parse(VECTOR_KEY);
    const before = Math.floor(Date.now() / 1000) * 1000;
    const { der, pem } = createSelfSignedFromApiKey(key);
    const after = Date.now();
    assert.deepEqual(decodePem(pem)[0]!.der, der);
    const x = new X509Certificate(der);
    assert.equal(x.subject, `CN=${VECTOR_IDENTITY}`);
    assert.equal(x.issuer, `CN=${VECTOR_IDENTITY}`);
    const from = Date.parse(x.validFrom);
    assert.ok(from >= before && from <= after, x.validFrom);
    assert.equal(Date.parse(x.validTo) - from, 90 * DAY_MS);
    assert.equal(x.ca, false);
    assert.equal(x.subjectAltName, undefined);
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.2']); // node reports ExtKeyUsage here
    assert.equal(x.publicKey.asymmetricKeyType, 'ed25519');
    assert.ok(x.publicKey.equals(key.publicKey));
    assert.equal(x.verify(key.publicKey), true);
    assert.equal(x.verify(ApiKey.generate().publicKey), false);
    // X509_check_issued also requires keyCertSign in the issuer's KeyUsage, which a client
    // certificate does not have, so node does not consider it to have issued itself…
    assert.equal(x.checkIssued(x), false);
    // …although its issuer and subject are the same and it verifies with its own key (above).
    assert.equal(x.issuer, x.subject);
  });

  test('custom validity and fresh random serials below 2^128', () => {
    const key = ApiKey.generate();
    const x = new X509Certificate(createSelfSignedFromApiKey(key, 1).der);
    assert.equal(Date.parse(x.validTo) - Date.parse(x.validFrom), DAY_MS);
    const serials = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const serial = new X509Certificate(createSelfSignedFromApiKey(key).der).serialNumber;
      assert.ok(BigInt(`0x${serial}`) > 0n && BigInt(`0x${serial}`) < 2n ** 128n, serial);
      serials.add(serial);
    }
    assert.equal(serials.size, 10);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => createSelfSignedFromApiKey(key, bad), RangeError, String(bad));
  });

  test('openssl parses it, shows the extensions and verifies it against itself', () => {
    const { pem } = createSelfSignedFromApiKey(ApiKey.parse(VECTOR_KEY));
    const file = join(tmp, 'api.pem');
    writeFileSync(file, pem);
    const text = openssl(['x509', '-noout', '-text', '-in', file]);
    assert.ok(text.ok, text.out);
    assert.match(text.out, /Version: 3 \(0x2\)/);
    assert.match(text.out, /Signature Algorithm: ED25519/);
    assert.match(text.out, new RegExp(`Subject: CN = ${VECTOR_IDENTITY}`));
    assert.match(text.out, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text.out, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text.out, /X509v3 Extended Key Usage: \s+TLS Web Client Authentication\n/);
    assert.match(text.out, /X509v3 Subject Key Identifier/);
    assert.doesNotMatch(text.out, /Subject Alternative Name/);
    const verify = openssl(['verify', '-purpose', 'sslclient', '-CAfile', file, file]);
    assert.ok(verify.ok && /: OK\s*$/.test(verify.out), verify.out);
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    test(`${version}: a server that trusts the certificate accepts it as a client certificate`, async () => {
      const pki = createTestPki();
      const key = ApiKey.generate();
      const { pem } = createSelfSignedFromApiKey(key);
      const client = { certPem: pem, keyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
      const r = await mtlsHandshake({ server: pki.server, clientCAs: [pem], serverCAs: [pki.ca.certPem], client, version, servername: 'localhost' });
      assert.equal(r.accepted, true, r.clientError?.message);
      assert.equal(r.protocol, version);
      assert.equal(identityOfCertificate(r.peerCertificate!), key.identity);

      // A self-signed certificate for another API key is not trusted.
      const other = ApiKey.generate();
      const otherClient = { certPem: createSelfSignedFromApiKey(other).pem, keyPem: other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
      const rejected = await mtlsHandshake({ server: pki.server, clientCAs: [pem], serverCAs: [pki.ca.certPem], client: otherClient, version, servername: 'localhost' });
      assert.equal(rejected.accepted, false);
    });
  }
});
