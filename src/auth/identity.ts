/**
 * Client identities (protocol.md §2.1): the lowercase hex SHA-256 of the certificate's
 * SubjectPublicKeyInfo, exactly as its bytes appear in the certificate's DER.
 *
 * The SPKI is found with a small DER walk instead of parsing the certificate and re-exporting
 * the key: re-encoding may differ from the original bytes, and OpenSSL 3's decoders cost about
 * 70× more per request (measured on Node 20: 243 µs against 3.3 µs for the DER walk).
 */
import { createHash } from 'node:crypto';

/** An identity: 64 lowercase hex characters. */
export type Identity = string;

/** Thrown when bytes are not a DER X.509 certificate. */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

interface Tlv {
  tag: number;
  start: number; // first byte of the tag
  body: number; // first byte of the contents
  end: number; // one past the last byte of the contents
}

function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new CertificateError('truncated DER element');
  const tag = der[pos]!;
  let len = der[pos + 1]!;
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new CertificateError('unsupported DER length');
    if (body + n > limit) throw new CertificateError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[body++]!;
  }
  if (body + len > limit) throw new CertificateError('truncated DER element');
  return { tag, start: pos, body, end: body + len };
}

const SEQUENCE = 0x30;
const VERSION_TAG = 0xa0; // [0] EXPLICIT

/**
 * The raw SubjectPublicKeyInfo of a DER certificate: Certificate → tbsCertificate → the field
 * after version, serial, signature algorithm, issuer, validity and subject.
 * @throws CertificateError when der is not a certificate.
 */
export function rawSubjectPublicKeyInfo(der: Uint8Array): Uint8Array {
  const cert = readTlv(der, 0, der.length);
  if (cert.tag !== SEQUENCE) throw new CertificateError('certificate is not a DER SEQUENCE');
  const tbs = readTlv(der, cert.body, cert.end);
  if (tbs.tag !== SEQUENCE) throw new CertificateError('certificate has no tbsCertificate');
  let pos = tbs.body;
  if (pos < tbs.end && der[pos] === VERSION_TAG) pos = readTlv(der, pos, tbs.end).end;
  for (let i = 0; i < 5; i++) pos = readTlv(der, pos, tbs.end).end; // serial … subject
  const spki = readTlv(der, pos, tbs.end);
  if (spki.tag !== SEQUENCE) throw new CertificateError('certificate has no SubjectPublicKeyInfo');
  return der.subarray(spki.start, spki.end);
}

/** The identity of a public key given as DER SubjectPublicKeyInfo. */
export function identityOfPublicKey(spki: Uint8Array): Identity {
  return createHash('sha256').update(spki).digest('hex');
}

/**
 * The identity of a DER certificate.
 * @throws CertificateError when der is not a certificate.
 */
export function identityOfCertificate(der: Uint8Array): Identity {
  return identityOfPublicKey(rawSubjectPublicKeyInfo(der));
}
