import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { CertificateError, identityOfCertificate, rawSubjectPublicKeyInfo } from './identity.js';
import { ApiKey } from './api-key.js';
import { opensslCertificate } from '../../test/helpers/openssl.js';
import { API_KEY_VECTORS } from '../../test/helpers/vectors.js';

describe('identityOfCertificate against openssl', () => {
  const cases = [
    ['Ed25519 v3', () => opensslCertificate('ed25519', 3)],
    ['Ed25519 v1 (no version field)', () => opensslCertificate('ed25519', 1)],
    ['ECDSA P-256 v3', () => opensslCertificate('ec', 3)],
    ['ECDSA P-256 v1', () => opensslCertificate('ec', 1)],
    ['RSA 2048 v3 (long-form DER lengths)', () => opensslCertificate('rsa', 3)],
  ] as const;
  for (const [title, make] of cases) {
    test(title, () => {
      const cert = make();
      assert.match(cert.identity, /^[0-9a-f]{64}$/);
      assert.equal(identityOfCertificate(cert.der), cert.identity);
      const spki = new X509Certificate(cert.der).publicKey.export({ type: 'spki', format: 'der' });
      assert.deepEqual(Buffer.from(rawSubjectPublicKeyInfo(cert.der)), spki);
    });
  }

  test('a certificate for an API key has the API key identity (test-vectors.md §1.1, §1.2 root.cert)', () => {
    const [apiKey, identity] = API_KEY_VECTORS[0]!;
    const pem = ApiKey.parse(apiKey).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const cert = opensslCertificate({ pem }, 3, 'root@play.min.io');
    assert.equal(cert.identity, identity);
    assert.equal(identityOfCertificate(cert.der), identity);
  });
});

describe('rawSubjectPublicKeyInfo rejects what is not a certificate', () => {
  const der = opensslCertificate('ec').der;
  test('every truncation throws CertificateError', () => {
    for (let n = 0; n < der.length; n += 7) {
      assert.throws(() => rawSubjectPublicKeyInfo(der.subarray(0, n)), CertificateError, `length ${n}`);
    }
  });
  test('junk throws CertificateError', () => {
    for (const junk of [Buffer.alloc(0), Buffer.from([0x30]), Buffer.from([0x30, 0x80, 0, 0]), Buffer.from([0x30, 0x85, 1, 1, 1, 1, 1]), Buffer.from('-----BEGIN CERTIFICATE-----')]) {
      assert.throws(() => rawSubjectPublicKeyInfo(junk), CertificateError);
    }
  });
});
