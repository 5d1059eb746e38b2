import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { CertificateError, identityOfCertificate, rawSubjectPublicKeyInfo } from './identity.js';
import { createCertificate } from '../pki/x509.js';
import { opensslCertificate } from '../../test/helpers/openssl.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

const isCertError = instanceOf(CertificateError);

/** Runs the DER walk expecting only CertificateError; a result must be a SEQUENCE inside der. */
function walk(der: Uint8Array) {
  const o = outcome(() => rawSubjectPublicKeyInfo(der), isCertError);
  if (o.ok) {
    const spki = o.value;
    assert.equal(spki.buffer, der.buffer, 'the SPKI is a view into the certificate');
    assert.ok(spki.byteOffset >= der.byteOffset && spki.byteOffset + spki.length <= der.byteOffset + der.length);
    assert.equal(spki[0], 0x30);
    assert.match(identityOfCertificate(der), /^[0-9a-f]{64}$/);
  }
  return o;
}

const mutation = fc.record({ at: fc.nat(), byte: fc.nat(255), bit: fc.nat(7), kind: fc.constantFrom('flip', 'set', 'delete', 'insert', 'truncate', 'length') });
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(der: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(der);
  for (const m of mutations) {
    const at = m.at % (b.length + 1);
    if (m.kind === 'flip' && at < b.length) b[at]! ^= 1 << m.bit;
    else if (m.kind === 'set') b = Buffer.concat([b.subarray(0, at), Buffer.of(m.byte), b.subarray(at + 1)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.of(m.byte), b.subarray(at)]);
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'length' && at < b.length) b[at] = [0x80, 0x81, 0x82, 0x84, 0x85, 0xff, 0x00, 0x7f][m.bit]!; // length-octet edge cases
  }
  return b;
}

/** Random DER-shaped trees: TLVs with random tags and short or long lengths that may lie. */
const tlvTree: fc.Arbitrary<Buffer> = fc.letrec<{ node: Buffer }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.constantFrom(0x30, 0xa0, 0x02, 0x06, 0x03, 0x31, 0x05, 0x1f, 0xa3), fc.array(tie('node'), { maxLength: 4 }), fc.integer({ min: -2, max: 2 }), fc.boolean()).map(([tag, children, lie, long]) => {
      const body = Buffer.concat(children);
      const len = Math.max(0, body.length + lie);
      const lenBytes = long || len > 127 ? Buffer.of(0x82, len >> 8, len & 0xff) : Buffer.of(len);
      return Buffer.concat([Buffer.of(tag), lenBytes, body]);
    }),
  ),
})).node;

describe('certificate DER walk (properties)', () => {
  // Base certificates from openssl (independent of the product) and from the product's builder.
  const bases: Buffer[] = [opensslCertificate('ed25519', 3).der, opensslCertificate('ec', 1).der, opensslCertificate('rsa', 3).der];
  const caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  bases.push(createCertificate({ commonName: 'ca', publicKey: caKey, signingKey: caKey, isCA: true, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }).der);

  test('on generated certificates the walk finds the SPKI X509Certificate reports', () => {
    const options = fc.record({
      commonName: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      serial: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((s) => Buffer.concat([Buffer.of(1 + (s[0]! & 0x3f)), s.subarray(1)])),
      dnsNames: fc.array(fc.domain(), { maxLength: 3 }),
      ipAddresses: fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { maxLength: 2 }),
      isCA: fc.boolean(),
      validityDays: fc.integer({ min: 1, max: 40_000 }),
    });
    fc.assert(
      fc.property(options, (o) => {
        const { publicKey, privateKey } = generateKeyPairSync('ed25519');
        const notBefore = new Date(Date.UTC(2020, 0, 1));
        const { der } = createCertificate({
          commonName: o.commonName,
          publicKey,
          signingKey: privateKey,
          serialNumber: o.serial,
          dnsNames: o.dnsNames,
          ipAddresses: o.ipAddresses,
          isCA: o.isCA,
          notBefore,
          notAfter: new Date(notBefore.getTime() + o.validityDays * 86_400_000),
        });
        const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
        assert.deepEqual(Buffer.from(rawSubjectPublicKeyInfo(der)), spki);
        assert.equal(identityOfCertificate(der), createHash('sha256').update(spki).digest('hex'));
      }),
      { numRuns: 200 },
    );
  });

  test('mutated certificates: the SPKI (a SEQUENCE inside the input) or CertificateError', () => {
    fc.assert(
      fc.property(fc.nat(bases.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, mutations) => {
        walk(mutate(bases[i]!, mutations));
      }),
      { numRuns: 6000 },
    );
  });

  test('a mutation outside the tbsCertificate header and SPKI region keeps the identity', () => {
    // Bytes of the signature (after the tbsCertificate) do not take part in the walk.
    fc.assert(
      fc.property(fc.nat(bases.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (i, at, x) => {
        const der = bases[i]!;
        const tbsEnd = tbsEndOffset(der);
        if (tbsEnd >= der.length) return;
        const changed = Buffer.from(der);
        changed[tbsEnd + (at % (der.length - tbsEnd))]! ^= x;
        assert.equal(identityOfCertificate(changed), identityOfCertificate(der));
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary bytes and DER-shaped trees: a result or CertificateError, never another exception', () => {
    const input = fc.oneof(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), tlvTree, tlvTree.map((t) => Buffer.concat([Buffer.of(0x30, 0x82, t.length >> 8, t.length & 0xff), t])));
    fc.assert(
      fc.property(input, fc.nat(16), fc.nat(16), (bytes, before, after) => {
        walk(bytes);
        // The same bytes as a view inside a larger buffer.
        const big = Buffer.concat([Buffer.alloc(before, 0x30), bytes, Buffer.alloc(after, 0x82)]);
        walk(big.subarray(before, before + bytes.length));
      }),
      { numRuns: 4000 },
    );
  });
});

/** One past the last byte of the tbsCertificate, read by hand (definite lengths only). */
function tbsEndOffset(der: Buffer): number {
  const header = (pos: number): [number, number] => {
    const first = der[pos + 1]!;
    if (first < 0x80) return [pos + 2, first];
    const n = first & 0x7f;
    return [pos + 2 + n, der.readUIntBE(pos + 2, n)];
  };
  const [certBody] = header(0);
  const [tbsBody, tbsLen] = header(certBody);
  return tbsBody + tbsLen;
}
