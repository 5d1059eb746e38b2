import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as der from './der.js';
import { createCertificate, ipAddressBytes, type CertificateOptions } from './x509.js';
import { decodePem } from './pem.js';
import { identityOfCertificate, rawSubjectPublicKeyInfo } from '../auth/identity.js';
import { createTestPki, mtlsHandshake } from '../../test/helpers/certs.js';

const tmp = mkdtempSync(join(tmpdir(), 'kes-x509-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let fileCounter = 0;

/** Writes text to a fresh file in the temporary directory. */
function file(text: string | Buffer): string {
  const path = join(tmp, `f${fileCounter++}`);
  writeFileSync(path, text);
  return path;
}

/** Runs openssl; throws with its stderr unless allowFailure. */
function openssl(args: string[], allowFailure = false): { ok: boolean; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFailure) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** `openssl x509 -noout -text`, which fails for certificates OpenSSL cannot parse. */
function opensslText(pem: string): string {
  return openssl(['x509', '-noout', '-text', '-in', file(pem)]).out;
}

/** `openssl verify -CAfile`: 'OK' or the error OpenSSL reports. */
function opensslVerify(caPem: string, leafPem: string, purpose?: 'sslclient' | 'sslserver'): string {
  const r = openssl(['verify', ...(purpose ? ['-purpose', purpose] : []), '-CAfile', file(caPem), file(leafPem)], true);
  return r.ok && /: OK\s*$/.test(r.out) ? 'OK' : r.out;
}

/** The hex key identifier openssl shows for an extension such as 'subjectKeyIdentifier'. */
function opensslKeyId(pem: string, ext: 'subjectKeyIdentifier' | 'authorityKeyIdentifier'): string {
  const out = openssl(['x509', '-noout', '-ext', ext, '-in', file(pem)]).out;
  const m = /((?:[0-9A-F]{2}:)+[0-9A-F]{2})/.exec(out);
  assert.ok(m, `no ${ext} in ${out}`);
  return m[1]!.replaceAll(':', '').toLowerCase();
}

/** DER bytes of a value produced by OpenSSL's own encoder (ASN1_generate_nconf). */
function opensslGenstr(spec: string): string {
  const out = join(tmp, `g${fileCounter++}`);
  openssl(['asn1parse', '-genstr', spec, '-noout', '-out', out]);
  return readFileSync(out).toString('hex');
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const DAY_MS = 24 * 60 * 60 * 1000;

describe('DER encoder', () => {
  test('lengths use the short form below 128 and the shortest long form above', () => {
    const cases: [number, string][] = [[0, '00'], [1, '01'], [127, '7f'], [128, '8180'], [255, '81ff'], [256, '820100'], [65535, '82ffff'], [65536, '83010000']];
    for (const [n, want] of cases) assert.equal(hex(der.encodeLength(n)), want, `length ${n}`);
    assert.equal(hex(der.octetString(Buffer.alloc(300, 0xab))), opensslGenstr(`FORMAT:HEX,OCTETSTRING:${'ab'.repeat(300)}`));
  });

  test('INTEGER is minimal and positive', () => {
    const cases: [number[], string][] = [
      [[], '020100'],
      [[0, 0], '020100'],
      [[0x7f], '02017f'],
      [[0x80], '02020080'],
      [[0, 0, 0x01, 0x00], '02020100'],
      [[0xff, 0xff], '020300ffff'],
    ];
    for (const [bytes, want] of cases) assert.equal(hex(der.integer(Buffer.from(bytes))), want, `integer ${bytes.join(',')}`);
    assert.equal(hex(der.smallInteger(2)), '020102');
    assert.equal(hex(der.smallInteger(128)), '02020080');
    assert.equal(hex(der.smallInteger(0)), '020100');
    assert.throws(() => der.smallInteger(-1), RangeError);
    assert.equal(hex(der.integer(Buffer.from([0x80]))), opensslGenstr('INTEGER:0x80'));
    assert.equal(hex(der.integer(Buffer.from('00ffeeddccbbaa99887766554433221100', 'hex'))), opensslGenstr('INTEGER:0xFFEEDDCCBBAA99887766554433221100'));
  });

  test('OBJECT IDENTIFIER (X.690 §8.19 examples and openssl)', () => {
    assert.equal(hex(der.objectIdentifier('2.999.3')), '0603883703'); // X.690 §8.19.5
    assert.equal(hex(der.objectIdentifier('1.2.840.113549')), '06062a864886f70d');
    assert.equal(hex(der.objectIdentifier('2.5.4.3')), '0603550403');
    assert.equal(hex(der.objectIdentifier('1.3.101.112')), '06032b6570');
    for (const oid of ['1.2.840.10045.4.3.2', '1.3.6.1.5.5.7.3.2', '2.5.29.35', '1.2.3.4294967296.18446744073709551617', '2.25.329800735698586629295641978511506172918']) {
      assert.equal(hex(der.objectIdentifier(oid)), opensslGenstr(`OID:${oid}`), oid);
    }
    for (const bad of ['', '1', '3.1', '1.40', '0.40', '1..2', '1.2.', 'a.b']) assert.throws(() => der.objectIdentifier(bad), RangeError, bad);
  });

  test('BOOLEAN, NULL, BIT STRING, OCTET STRING', () => {
    assert.equal(hex(der.boolean(true)), '0101ff');
    assert.equal(hex(der.boolean(false)), '010100');
    assert.equal(hex(der.boolean(true)), opensslGenstr('BOOLEAN:TRUE'));
    assert.equal(hex(der.nullValue()), '0500');
    assert.equal(hex(der.bitString(Buffer.from('6e5dc0', 'hex'), 6)), '0304066e5dc0'); // X.690 §8.6.4.2
    assert.equal(hex(der.bitString(Buffer.from('6e5dc0', 'hex'))), opensslGenstr('FORMAT:HEX,BITSTRING:6e5dc0'));
    assert.equal(hex(der.bitString(Buffer.alloc(0))), '030100');
    assert.throws(() => der.bitString(Buffer.from('6e5dc1', 'hex'), 6), RangeError, 'unused bits must be zero');
    assert.throws(() => der.bitString(Buffer.alloc(1), 8), RangeError);
    assert.equal(hex(der.octetString(Buffer.from('0102', 'hex'))), '04020102');
  });

  test('strings', () => {
    assert.equal(hex(der.utf8String('é')), '0c02c3a9');
    assert.equal(hex(der.utf8String('CA')), opensslGenstr('UTF8:CA'));
    assert.throws(() => der.utf8String('\ud800'), RangeError);
    assert.equal(hex(der.printableString("Test User 1 (a'b+c,-./:=?)")), hex(Buffer.concat([Buffer.of(0x13, 26), Buffer.from("Test User 1 (a'b+c,-./:=?)")])));
    assert.throws(() => der.printableString('root@play.min.io'), RangeError);
    assert.equal(hex(der.ia5String('localhost')), opensslGenstr('IA5STRING:localhost'));
    assert.throws(() => der.ia5String('é'), RangeError);
  });

  test('times: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
    const t = (iso: string): string => Buffer.from(der.time(new Date(iso))).toString('latin1');
    assert.equal(t('2049-12-31T23:59:59.999Z'), '\x17\x0d491231235959Z');
    assert.equal(t('2050-01-01T00:00:00Z'), '\x18\x0f20500101000000Z');
    assert.equal(t('1950-01-01T00:00:00Z'), '\x17\x0d500101000000Z');
    assert.equal(t('1949-12-31T23:59:59Z'), '\x18\x0f19491231235959Z');
    assert.equal(t('2000-02-29T01:02:03.500Z'), '\x17\x0d000229010203Z');
    assert.equal(hex(der.utcTime(new Date('2049-12-31T23:59:59Z'))), opensslGenstr('UTCTIME:491231235959Z'));
    assert.equal(hex(der.generalizedTime(new Date('2050-01-01T00:00:00Z'))), opensslGenstr('GENTIME:20500101000000Z'));
    assert.throws(() => der.utcTime(new Date('2050-01-01T00:00:00Z')), RangeError);
    assert.throws(() => der.utcTime(new Date('1949-12-31T23:59:59Z')), RangeError);
    assert.throws(() => der.time(new Date(NaN)), RangeError);
  });

  test('context-specific tags, SEQUENCE and SET OF', () => {
    assert.equal(hex(der.explicit(0, der.smallInteger(2))), 'a003020102');
    assert.equal(hex(der.explicit(3, der.smallInteger(2))), opensslGenstr('EXPLICIT:3,INTEGER:2'));
    assert.equal(hex(der.implicit(0, der.octetString(Buffer.from('0102', 'hex')))), opensslGenstr('IMPLICIT:0,FORMAT:HEX,OCTETSTRING:0102'));
    assert.equal(hex(der.implicit(1, der.sequence())), 'a100', 'keeps the constructed bit');
    assert.equal(hex(der.implicit(7, der.octetString(Buffer.of(127, 0, 0, 1)))), '87047f000001');
    assert.throws(() => der.explicit(31, der.nullValue()), RangeError);
    assert.equal(hex(der.sequence(der.nullValue(), der.boolean(true))), '300505000101ff');
    assert.equal(hex(der.setOf(Buffer.from('040102', 'hex'), Buffer.from('020101', 'hex'))), '3106020101040102');
    assert.equal(hex(der.setOf(Buffer.from('0401', 'hex'), Buffer.from('040100', 'hex'))), '310504010401' + '00', 'shorter first when equal after zero padding');
  });

  test('readTlv reads what the encoder writes and rejects truncated or non-minimal input', () => {
    const element = der.sequence(der.octetString(Buffer.alloc(200)), der.nullValue());
    const outer = der.readTlv(element, 0);
    assert.deepEqual(outer, { tag: 0x30, start: 0, body: 3, end: element.length });
    assert.deepEqual(der.readChildren(element, outer).map((c) => c.tag), [0x04, 0x05]);
    for (let n = 0; n < element.length; n += 17) assert.throws(() => der.readTlv(element, 0, n), der.DerError, `length ${n}`);
    assert.throws(() => der.readTlv(Buffer.from('04810100', 'hex'), 0), der.DerError, 'non-minimal long form');
    assert.throws(() => der.readTlv(Buffer.from('0482000100', 'hex'), 0), der.DerError, 'leading zero length octet');
  });
});

/** Signs with every supported issuer key type. */
const KEYS: Record<string, () => { publicKey: KeyObject; privateKey: KeyObject }> = {
  'Ed25519': () => generateKeyPairSync('ed25519'),
  'ECDSA P-256': () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'ECDSA P-384': () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'RSA 2048': () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
};
const SIGNATURE_NAME: Record<string, string> = {
  'Ed25519': 'ED25519',
  'ECDSA P-256': 'ecdsa-with-SHA256',
  'ECDSA P-384': 'ecdsa-with-SHA384',
  'RSA 2048': 'sha256WithRSAEncryption',
};

function makeCA(type: string, commonName = `${type} CA`): { cert: ReturnType<typeof createCertificate>; key: KeyObject } {
  const { publicKey, privateKey } = KEYS[type]!();
  return { cert: createCertificate({ commonName, publicKey, signingKey: privateKey, isCA: true }), key: privateKey };
}

/** The complete DER encoding of an extension as X.509 writes it. */
function extensionDer(oid: string, critical: boolean, valueHex: string): Buffer {
  const value = der.octetString(Buffer.from(valueHex, 'hex'));
  return critical ? der.sequence(der.objectIdentifier(oid), der.boolean(true), value) : der.sequence(der.objectIdentifier(oid), value);
}
const contains = (haystack: Buffer, needle: Buffer): boolean => haystack.indexOf(needle) >= 0;

describe('createCertificate: self-signed CA certificates', () => {
  for (const type of Object.keys(KEYS)) {
    test(type, () => {
      const { publicKey, privateKey } = KEYS[type]!();
      const notBefore = new Date('2024-01-02T03:04:05.678Z');
      const notAfter = new Date('2034-01-02T03:04:05.999Z');
      const { der: certDer, pem } = createCertificate({ commonName: 'Test Root', publicKey, signingKey: privateKey, isCA: true, notBefore, notAfter });
      assert.deepEqual(decodePem(pem)[0]!.der, certDer);

      const x = new X509Certificate(certDer);
      assert.equal(x.subject, 'CN=Test Root');
      assert.equal(x.issuer, 'CN=Test Root');
      assert.equal(x.ca, true);
      assert.equal(x.validFrom, 'Jan  2 03:04:05 2024 GMT');
      assert.equal(x.validTo, 'Jan  2 03:04:05 2034 GMT');
      assert.equal(x.checkIssued(x), true);
      assert.equal(x.verify(publicKey), true);
      assert.equal(x.verify(generateKeyPairSync('ed25519').publicKey), false);
      assert.equal(x.subjectAltName, undefined);
      assert.deepEqual(Buffer.from(rawSubjectPublicKeyInfo(certDer)), publicKey.export({ type: 'spki', format: 'der' }), 'SPKI verbatim');

      const text = opensslText(pem);
      assert.match(text, /Version: 3 \(0x2\)/);
      assert.match(text, new RegExp(`Signature Algorithm: ${SIGNATURE_NAME[type]}`));
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
      assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign\n/);
      assert.doesNotMatch(text, /Extended Key Usage|Subject Alternative Name/);
      const ski = opensslKeyId(pem, 'subjectKeyIdentifier');
      assert.equal(opensslKeyId(pem, 'authorityKeyIdentifier'), ski, 'AKI = own SKI when self-signed');
      assert.equal(opensslVerify(pem, pem), 'OK');

      // KeyUsage digitalSignature|keyCertSign|cRLSign = bits 0, 5, 6: 0x86 with 1 unused bit.
      assert.ok(contains(certDer, extensionDer('2.5.29.15', true, '03020186')));
      assert.ok(contains(certDer, extensionDer('2.5.29.19', true, '30030101ff')));
    });
  }

  test('the SubjectKeyIdentifier is the one openssl computes for the key (RFC 5280 §4.2.1.2 method 1)', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ours = createCertificate({ commonName: 'x', publicKey, signingKey: privateKey, isCA: true });
    const conf = file('[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\nCN = x\n[ext]\nsubjectKeyIdentifier = hash\n');
    const out = join(tmp, `o${fileCounter++}`);
    openssl(['req', '-x509', '-key', file(privateKey.export({ type: 'pkcs8', format: 'pem' })), '-config', conf, '-days', '1', '-out', out]);
    assert.equal(opensslKeyId(ours.pem, 'subjectKeyIdentifier'), opensslKeyId(readFileSync(out, 'utf8'), 'subjectKeyIdentifier'));
  });
});

describe('createCertificate: certificates signed by a CA', () => {
  for (const caType of Object.keys(KEYS)) {
    for (const leafType of Object.keys(KEYS)) {
      if (caType !== 'ECDSA P-256' && leafType !== 'Ed25519') continue; // every CA type, every leaf type under P-256
      test(`${leafType} leaf signed by a ${caType} CA`, () => {
        const ca = makeCA(caType);
        const leafKeys = KEYS[leafType]!();
        const leaf = createCertificate({
          commonName: 'server.example',
          publicKey: leafKeys.publicKey,
          signingKey: ca.key,
          issuer: { certificate: ca.cert.der },
          extKeyUsage: ['serverAuth', 'clientAuth'],
          dnsNames: ['server.example', '*.server.example', 'localhost'],
          ipAddresses: ['127.0.0.1', '::1', '2001:db8::42'],
        });
        const x = new X509Certificate(leaf.der);
        const caX = new X509Certificate(ca.cert.der);
        assert.equal(x.subject, 'CN=server.example');
        assert.equal(x.issuer, `CN=${caType} CA`);
        assert.equal(x.ca, false);
        assert.equal(x.checkIssued(caX), true);
        assert.equal(x.verify(caX.publicKey), true);
        assert.equal(x.verify(leafKeys.publicKey), false);
        assert.equal(caX.checkIssued(x), false);
        assert.equal(x.subjectAltName, 'DNS:server.example, DNS:*.server.example, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:42');
        assert.equal(x.checkHost('localhost'), 'localhost');
        assert.equal(x.checkHost('a.server.example'), '*.server.example', 'returns the matching SAN');
        assert.equal(x.checkHost('other.example'), undefined);
        assert.equal(x.checkIP('::1'), '::1');
        assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
        assert.equal(x.checkIP('127.0.0.2'), undefined);
        assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']); // node names the EKU list keyUsage
        assert.equal(identityOfCertificate(leaf.der), createHash('sha256').update(leafKeys.publicKey.export({ type: 'spki', format: 'der' })).digest('hex'));

        const text = opensslText(leaf.pem);
        assert.match(text, new RegExp(`Signature Algorithm: ${SIGNATURE_NAME[caType]}`));
        assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
        assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
        assert.match(text, /X509v3 Extended Key Usage: \s+TLS Web Server Authentication, TLS Web Client Authentication/);
        assert.match(text, /X509v3 Subject Alternative Name: \s+DNS:server.example, DNS:\*.server.example, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:42/);
        assert.equal(opensslKeyId(leaf.pem, 'authorityKeyIdentifier'), opensslKeyId(ca.cert.pem, 'subjectKeyIdentifier'));
        assert.notEqual(opensslKeyId(leaf.pem, 'subjectKeyIdentifier'), opensslKeyId(ca.cert.pem, 'subjectKeyIdentifier'));
        assert.equal(opensslVerify(ca.cert.pem, leaf.pem, 'sslserver'), 'OK');
        assert.equal(opensslVerify(ca.cert.pem, leaf.pem, 'sslclient'), 'OK');
        assert.notEqual(opensslVerify(makeCA(caType).cert.pem, leaf.pem), 'OK', 'a different CA with the same name does not verify it');

        // DER details: BasicConstraints with cA DEFAULT FALSE omitted; KeyUsage bit 0 with 7 unused bits.
        assert.ok(contains(leaf.der, extensionDer('2.5.29.19', true, '3000')));
        assert.ok(contains(leaf.der, extensionDer('2.5.29.15', true, '03020780')));
      });
    }
  }

  test('the issuer Name is copied verbatim from an openssl-made CA, whose key identifier becomes the AKI', () => {
    for (const skid of ['hash', 'none']) {
      const conf = file(
        '[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n' +
          '[dn]\nC = US\nO = Example Org\nCN = Example Root\n' +
          `[ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign\nsubjectKeyIdentifier = ${skid}\nauthorityKeyIdentifier = none\n`,
      );
      const keyFile = join(tmp, `k${fileCounter++}`);
      const caFile = join(tmp, `c${fileCounter++}`);
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', keyFile, '-config', conf, '-days', '2', '-out', caFile]);
      const caPem = readFileSync(caFile, 'utf8');
      const caKey = createPrivateKey(readFileSync(keyFile));
      const caX = new X509Certificate(caPem);
      assert.equal(/Subject Key Identifier/.test(opensslText(caPem)), skid === 'hash');

      const leafKeys = generateKeyPairSync('ed25519');
      const leaf = createCertificate({ commonName: 'leaf', publicKey: leafKeys.publicKey, signingKey: caKey, issuer: { certificate: caX.raw }, extKeyUsage: ['clientAuth'] });
      const x = new X509Certificate(leaf.der);
      assert.equal(x.issuer, 'C=US\nO=Example Org\nCN=Example Root');
      assert.ok(contains(leaf.der, Buffer.from(rawName(caX.raw))), 'issuer bytes verbatim');
      assert.equal(x.checkIssued(caX), true);
      assert.equal(x.verify(caX.publicKey), true);
      assert.equal(opensslVerify(caPem, leaf.pem, 'sslclient'), 'OK', skid);
      // Without an SKI in the CA, the AKI is what the CA's SKI would be (SHA-1 of its key bits).
      const spki = caX.publicKey.export({ type: 'spki', format: 'der' });
      const bits = der.readChildren(spki, der.readTlv(spki, 0))[1]!;
      assert.equal(opensslKeyId(leaf.pem, 'authorityKeyIdentifier'), createHash('sha1').update(spki.subarray(bits.body + 1, bits.end)).digest('hex'));
    }
  });
});

/** The subject Name element of a certificate (tbs field 6 after the version). */
function rawName(certDer: Uint8Array): Uint8Array {
  const cert = der.readTlv(certDer, 0);
  const tbs = der.readChildren(certDer, cert)[0]!;
  const subject = der.readChildren(certDer, tbs)[5]!;
  return certDer.subarray(subject.start, subject.end);
}

describe('createCertificate: options', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const base: CertificateOptions = { commonName: 'x', publicKey, signingKey: privateKey };

  test('defaults: now .. now + 90 days, random positive 16-byte serials, KeyUsage digitalSignature, CA=false', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const x = new X509Certificate(createCertificate(base).der);
      const from = Date.parse(x.validFrom);
      assert.ok(from >= before && from <= Date.now(), x.validFrom);
      assert.equal(Date.parse(x.validTo) - from, 90 * DAY_MS);
      const serial = BigInt(`0x${x.serialNumber}`);
      assert.ok(serial > 0n && serial < 2n ** 127n, x.serialNumber);
      serials.add(x.serialNumber);
      assert.equal(x.ca, false);
    }
    assert.equal(serials.size, 20);
    const cert = createCertificate(base).der;
    assert.ok(contains(cert, extensionDer('2.5.29.19', true, '3000')));
    assert.ok(contains(cert, extensionDer('2.5.29.15', true, '03020780')));
    assert.ok(!contains(cert, der.objectIdentifier('2.5.29.37')), 'no ExtKeyUsage');
  });

  test('serial numbers: given bytes, minimal encoding, at most 20 octets, positive', () => {
    const x = new X509Certificate(createCertificate({ ...base, serialNumber: Buffer.from('00ff01', 'hex') }).der);
    assert.equal(x.serialNumber, 'FF01');
    assert.match(opensslText(createCertificate({ ...base, serialNumber: Buffer.from('ff01', 'hex') }).pem), /Serial Number: 65281 \(0xff01\)/);
    const twenty = Buffer.alloc(20, 0x7f);
    assert.equal(new X509Certificate(createCertificate({ ...base, serialNumber: twenty }).der).serialNumber, twenty.toString('hex').toUpperCase());
    assert.throws(() => createCertificate({ ...base, serialNumber: Buffer.alloc(20, 0xff) }), RangeError, '21 octets with the sign octet');
    assert.throws(() => createCertificate({ ...base, serialNumber: Buffer.alloc(4) }), RangeError, 'zero');
    assert.throws(() => createCertificate({ ...base, serialNumber: Buffer.alloc(0) }), RangeError, 'empty');
  });

  test('validity across the UTCTime / GeneralizedTime boundary', () => {
    const pem = createCertificate({ ...base, notBefore: new Date('2049-12-31T23:59:59Z'), notAfter: new Date('2050-01-01T00:00:00Z') }).pem;
    const x = new X509Certificate(pem);
    assert.equal(x.validFrom, 'Dec 31 23:59:59 2049 GMT');
    assert.equal(x.validTo, 'Jan  1 00:00:00 2050 GMT');
    const text = opensslText(pem);
    assert.match(text, /Not Before: Dec 31 23:59:59 2049 GMT/);
    assert.match(text, /Not After : Jan  1 00:00:00 2050 GMT/);
    assert.ok(contains(x.raw, der.utcTime(new Date('2049-12-31T23:59:59Z'))));
    assert.ok(contains(x.raw, der.generalizedTime(new Date('2050-01-01T00:00:00Z'))));
    assert.throws(() => createCertificate({ ...base, notBefore: new Date('2030-01-02'), notAfter: new Date('2030-01-01') }), RangeError);
  });

  test('explicit key usages', () => {
    const pem = createCertificate({ ...base, keyUsage: ['digitalSignature', 'keyEncipherment'] }).pem;
    assert.match(opensslText(pem), /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    assert.ok(contains(decodePem(pem)[0]!.der, extensionDer('2.5.29.15', true, '030205a0')));
    const ca = createCertificate({ ...base, isCA: true, keyUsage: ['keyCertSign'] }).der;
    assert.ok(contains(ca, extensionDer('2.5.29.15', true, '03020204')), 'keyCertSign alone: bit 5, 2 unused bits');
    assert.throws(() => createCertificate({ ...base, keyUsage: [] }), RangeError);
  });

  test('IP addresses', () => {
    const cases: [string, string][] = [
      ['192.0.2.1', 'c0000201'],
      ['::', '00000000000000000000000000000000'],
      ['::1', '00000000000000000000000000000001'],
      ['fe80::', 'fe800000000000000000000000000000'],
      ['2001:DB8:0:0:1::1', '20010db8000000000001000000000001'],
      ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
      ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
      ['64:ff9b::203.0.113.9', '0064ff9b0000000000000000cb007109'],
    ];
    for (const [text, want] of cases) assert.equal(hex(ipAddressBytes(text)), want, text);
    for (const bad of ['', '1.2.3', '256.1.1.1', '01.2.3.4', '1:2:3:4:5:6:7', '1::2::3', 'fe80::1%eth0', 'localhost', '1:2:3:4:5:6:7:8:9']) {
      assert.throws(() => ipAddressBytes(bad), TypeError, bad);
    }
  });

  test('rejects unusable options', () => {
    const other = generateKeyPairSync('ed25519');
    const ca = makeCA('ECDSA P-256');
    assert.throws(() => createCertificate({ ...base, commonName: '' }), TypeError);
    assert.throws(() => createCertificate({ ...base, signingKey: publicKey }), TypeError, 'public signing key');
    assert.throws(() => createCertificate({ ...base, signingKey: other.privateKey }), TypeError, 'self-signed with another key');
    assert.throws(() => createCertificate({ ...base, signingKey: other.privateKey, issuer: { certificate: ca.cert.der } }), TypeError, 'not the issuer key');
    assert.throws(() => createCertificate({ ...base, signingKey: ca.key, issuer: { certificate: Buffer.from('3000', 'hex') } }));
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    assert.throws(() => createCertificate({ ...base, publicKey: k1.publicKey, signingKey: k1.privateKey }), TypeError, 'secp256k1');
    const ed448 = generateKeyPairSync('ed448');
    assert.throws(() => createCertificate({ ...base, publicKey: ed448.publicKey, signingKey: ed448.privateKey }), TypeError, 'ed448');
    assert.throws(() => createCertificate({ ...base, dnsNames: ['bad name'] }), TypeError);
    assert.throws(() => createCertificate({ ...base, dnsNames: ['bücher.example'] }), TypeError);
    assert.throws(() => createCertificate({ ...base, ipAddresses: ['300.1.1.1'] }), TypeError);
  });

  test('a private key is accepted as the subject key', () => {
    const x = new X509Certificate(createCertificate({ ...base, publicKey: privateKey }).der);
    assert.ok(x.publicKey.equals(publicKey));
  });

  test('a non-ASCII common name is a UTF8String', () => {
    const pem = createCertificate({ ...base, commonName: 'Zürich' }).pem;
    assert.equal(new X509Certificate(pem).subject, 'CN=Zürich');
    assert.ok(contains(decodePem(pem)[0]!.der, der.utf8String('Zürich')));
  });
});

describe('certificates in real TLS handshakes (node:tls)', () => {
  const pki = createTestPki();
  const serverCAs = [pki.ca.certPem];
  const clientCAs = [pki.ca.certPem];
  const expired = pki.client({ notBefore: new Date(Date.now() - 10 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
  const notYetValid = pki.client({ keyType: 'ec', notBefore: new Date(Date.now() + DAY_MS), notAfter: new Date(Date.now() + 10 * DAY_MS) });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    for (const keyType of ['ed25519', 'ec'] as const) {
      test(`${version}: a CA-signed ${keyType} client certificate is accepted`, async () => {
        const client = pki.client({ keyType, commonName: `client-${keyType}` });
        assert.equal(opensslVerify(pki.ca.certPem, client.certPem, 'sslclient'), 'OK');
        const r = await mtlsHandshake({ server: pki.server, clientCAs, serverCAs, client, version, servername: 'localhost' });
        assert.equal(r.accepted, true, r.clientError?.message);
        assert.equal(r.serverVerified, true);
        assert.equal(r.protocol, version);
        assert.deepEqual(r.peerCertificate, client.der);
        assert.equal(identityOfCertificate(r.peerCertificate!), client.identity);
      });
    }

    test(`${version}: foreign, self-signed, expired, not yet valid and missing client certificates are rejected`, async () => {
      const cases = {
        foreign: pki.client({ issuer: 'foreign' }),
        'self-signed': pki.client({ issuer: 'self' }),
        expired,
        'not yet valid': notYetValid,
      };
      for (const [name, client] of Object.entries(cases)) {
        const r = await mtlsHandshake({ server: pki.server, clientCAs, serverCAs, client, version, servername: 'localhost' });
        assert.equal(r.accepted, false, name);
      }
      assert.equal((await mtlsHandshake({ server: pki.server, clientCAs, serverCAs, version })).accepted, false, 'no certificate');
      assert.match(opensslVerify(pki.ca.certPem, expired.certPem), /certificate has expired/);
      assert.match(opensslVerify(pki.ca.certPem, notYetValid.certPem), /certificate is not yet valid/);
    });

    test(`${version}: the client verifies the server certificate by DNS name and IP address`, async () => {
      const client = pki.client();
      const byIp = await mtlsHandshake({ server: pki.server, clientCAs, serverCAs, client, version }); // checks 127.0.0.1 against the IP SAN
      assert.equal(byIp.accepted, true, byIp.clientError?.message);
      assert.equal(byIp.serverVerified, true);
      const wrongName = await mtlsHandshake({ server: pki.server, clientCAs, serverCAs, client, version, servername: 'example.com' });
      assert.equal(wrongName.serverVerified, false);
      assert.equal((wrongName.clientError as NodeJS.ErrnoException | undefined)?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      const otherCA = await mtlsHandshake({ server: pki.server, clientCAs, serverCAs: [createTestPki().ca.certPem], client, version, servername: 'localhost' });
      assert.equal(otherCA.serverVerified, false);
      // The server sends its CA with its certificate (OpenSSL completes the chain from `ca`).
      assert.match(String((otherCA.clientError as NodeJS.ErrnoException | undefined)?.code), /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/);
    });
  }

  test('the test PKI: server certificate SANs and the CA', () => {
    const x = new X509Certificate(pki.server.der);
    assert.equal(x.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(opensslVerify(pki.ca.certPem, pki.server.certPem, 'sslserver'), 'OK');
    assert.notEqual(opensslVerify(pki.ca.certPem, pki.server.certPem, 'sslclient'), 'OK', 'serverAuth only');
    assert.equal(new X509Certificate(pki.ca.der).ca, true);
    assert.equal(new X509Certificate(pki.client({ isCA: true }).der).ca, true);
  });
});
