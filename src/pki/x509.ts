/**
 * X.509 v3 certificates (RFC 5280) built with node:crypto: self-signed or signed by an issuer
 * certificate, with a CN-only Name and the extensions a TLS server, client or CA needs.
 */
import { X509Certificate, createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  Tag,
  bitString,
  boolean,
  explicit,
  ia5String,
  implicit,
  integer,
  nullValue,
  objectIdentifier,
  octetString,
  readChildren,
  readTlv,
  sequence,
  setOf,
  smallInteger,
  time,
  utf8String,
} from './der.js';
import { encodePem } from './pem.js';

export type KeyUsage = 'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign';
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

export interface CertificateOptions {
  /** The subject's common name; the subject Name holds only this attribute. */
  commonName: string;
  /** The subject's public key (Ed25519, ECDSA P-256/P-384 or RSA); a private key is accepted too. */
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own key when self-signed). */
  signingKey: KeyObject;
  /** The issuer's DER certificate; absent for a self-signed certificate. */
  issuer?: { certificate: Uint8Array };
  /** Unsigned big-endian serial; default 16 random bytes, top bit cleared, non-zero. */
  serialNumber?: Uint8Array;
  /** Default now. Milliseconds are truncated. */
  notBefore?: Date;
  /** Default notBefore + 90 days. Milliseconds are truncated. */
  notAfter?: Date;
  /** BasicConstraints cA (the extension is always present and critical); default false. */
  isCA?: boolean;
  /** KeyUsage (critical); default digitalSignature, plus keyCertSign and cRLSign when isCA. */
  keyUsage?: KeyUsage[];
  /** ExtendedKeyUsage; omitted when absent or empty. */
  extKeyUsage?: ExtKeyUsage[];
  /** SubjectAltName dNSName entries (ASCII; IDNs as A-labels). */
  dnsNames?: string[];
  /** SubjectAltName iPAddress entries, IPv4 or IPv6 text. */
  ipAddresses?: string[];
}

export const DEFAULT_VALIDITY_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;

const OID = {
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ed25519: '1.3.101.112', // RFC 8410
  ecdsaWithSHA256: '1.2.840.10045.4.3.2', // RFC 5758
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11', // RFC 4055
} as const;

// KeyUsage named bits (RFC 5280 §4.2.1.3).
const KEY_USAGE_BIT: Record<KeyUsage, number> = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };

/** Creates and signs a certificate. @throws TypeError / RangeError for unusable options. */
export function createCertificate(o: CertificateOptions): { der: Buffer; pem: string } {
  if (typeof o.commonName !== 'string' || o.commonName.length === 0) throw new TypeError('commonName must be a non-empty string');
  if (o.signingKey.type !== 'private') throw new TypeError('signingKey must be a private key');
  if (o.publicKey.type === 'secret') throw new TypeError('publicKey must be an asymmetric key');
  const subjectKey = o.publicKey.type === 'private' ? createPublicKey(o.publicKey) : o.publicKey;
  const spki = subjectKey.export({ type: 'spki', format: 'der' });
  const subjectKeyId = keyIdentifier(spki);
  const subject = name(o.commonName);

  let issuerName: Buffer;
  let authorityKeyId: Buffer;
  if (o.issuer) {
    const issuer = parseIssuer(o.issuer.certificate);
    if (!createPublicKey(o.signingKey).equals(new X509Certificate(o.issuer.certificate).publicKey)) {
      throw new TypeError('signingKey is not the key of the issuer certificate');
    }
    issuerName = issuer.subject;
    authorityKeyId = issuer.subjectKeyId;
  } else {
    if (!createPublicKey(o.signingKey).equals(subjectKey)) throw new TypeError('a self-signed certificate needs signingKey to be the private key of publicKey');
    issuerName = subject;
    authorityKeyId = subjectKeyId;
  }

  const serial = o.serialNumber ?? randomSerial();
  const serialElement = integer(serial);
  // RFC 5280 §4.1.2.2: positive, at most 20 octets.
  if (serialElement.length - 2 > 20 || serialElement.equals(integer(Buffer.alloc(0)))) throw new RangeError('serialNumber must be positive and at most 20 octets');

  const notBefore = o.notBefore ?? new Date();
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + DEFAULT_VALIDITY_DAYS * DAY_MS);
  if (!(notBefore.getTime() <= notAfter.getTime())) throw new RangeError('notAfter must not be before notBefore');

  const isCA = o.isCA ?? false;
  const keyUsage = o.keyUsage ?? (isCA ? ['digitalSignature', 'keyCertSign', 'cRLSign'] : ['digitalSignature']);
  const extensions = [
    extension(OID.basicConstraints, true, isCA ? sequence(boolean(true)) : sequence()), // cA DEFAULT FALSE is omitted in DER
    extension(OID.keyUsage, true, keyUsageBits(keyUsage)),
  ];
  const eku = [...new Set(o.extKeyUsage ?? [])];
  if (eku.length > 0) extensions.push(extension(OID.extKeyUsage, false, sequence(...eku.map((u) => objectIdentifier(OID[u])))));
  extensions.push(extension(OID.subjectKeyIdentifier, false, octetString(subjectKeyId)));
  extensions.push(extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, octetString(authorityKeyId)))));
  const altNames = [
    ...(o.dnsNames ?? []).map((d) => implicit(2, dnsName(d))), // dNSName [2] IA5String
    ...(o.ipAddresses ?? []).map((ip) => implicit(7, octetString(ipAddressBytes(ip)))), // iPAddress [7] OCTET STRING
  ];
  if (altNames.length > 0) extensions.push(extension(OID.subjectAltName, false, sequence(...altNames)));

  const { algorithm, digest } = signatureAlgorithm(o.signingKey);
  const tbs = sequence(
    explicit(0, smallInteger(2)), // version v3
    serialElement,
    algorithm,
    issuerName,
    sequence(time(notBefore), time(notAfter)),
    subject,
    spki,
    explicit(3, sequence(...extensions)),
  );
  const signature = sign(digest, tbs, o.signingKey); // ECDSA: DER Ecdsa-Sig-Value; RSA: PKCS #1 v1.5
  const der = sequence(tbs, algorithm, bitString(signature));
  return { der, pem: encodePem('CERTIFICATE', der) };
}

/** 16 random bytes with the top bit cleared (a positive 127-bit integer), never zero. */
function randomSerial(): Buffer {
  for (;;) {
    const serial = randomBytes(16);
    serial[0]! &= 0x7f;
    if (serial.some((b) => b !== 0)) return serial;
  }
}

/** Name ::= RDNSequence with one RDN holding the commonName as UTF8String (RFC 5280 §4.1.2.4). */
function name(commonName: string): Buffer {
  return sequence(setOf(sequence(objectIdentifier(OID.commonName), utf8String(commonName))));
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(objectIdentifier(oid), boolean(true), octetString(value)) : sequence(objectIdentifier(oid), octetString(value));
}

/** KeyUsage BIT STRING; DER drops trailing zero bits of a named bit list (X.690 §11.2.2). */
function keyUsageBits(usages: KeyUsage[]): Buffer {
  if (usages.length === 0) throw new RangeError('keyUsage must name at least one usage');
  let highest = -1;
  const bytes = Buffer.alloc(1);
  for (const usage of usages) {
    const bit = KEY_USAGE_BIT[usage];
    if (bit === undefined) throw new RangeError(`unknown key usage '${String(usage)}'`);
    bytes[0]! |= 0x80 >> bit;
    highest = Math.max(highest, bit);
  }
  return bitString(bytes, 7 - highest);
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
function keyIdentifier(spki: Uint8Array): Buffer {
  const outer = readTlv(spki, 0);
  const [, bits] = readChildren(spki, outer);
  if (outer.tag !== Tag.SEQUENCE || !bits || bits.tag !== Tag.BIT_STRING) throw new TypeError('malformed SubjectPublicKeyInfo');
  return createHash('sha1').update(spki.subarray(bits.body + 1, bits.end)).digest(); // without the unused-bits octet
}

/** The subject Name (verbatim) and the key identifier of an issuer certificate. */
function parseIssuer(der: Uint8Array): { subject: Buffer; subjectKeyId: Buffer } {
  const cert = readTlv(der, 0);
  const tbs = readChildren(der, cert)[0];
  if (cert.tag !== Tag.SEQUENCE || !tbs || tbs.tag !== Tag.SEQUENCE) throw new TypeError('issuer certificate is not a DER certificate');
  const fields = readChildren(der, tbs);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  // serial, signature, issuer, validity, subject, subjectPublicKeyInfo, then [1] [2] [3]
  const subject = fields[offset + 4];
  const spki = fields[offset + 5];
  if (!subject || !spki || subject.tag !== Tag.SEQUENCE || spki.tag !== Tag.SEQUENCE) throw new TypeError('issuer certificate is not a DER certificate');
  const spkiBytes = der.subarray(spki.start, spki.end);
  let subjectKeyId: Buffer | undefined;
  const extensions = fields.slice(offset + 6).find((f) => f.tag === 0xa3);
  if (extensions) {
    const list = readTlv(der, extensions.body, extensions.end);
    const skiOid = objectIdentifier(OID.subjectKeyIdentifier);
    for (const ext of readChildren(der, list)) {
      const parts = readChildren(der, ext);
      const id = parts[0];
      const value = parts[parts.length - 1];
      if (!id || !value || !Buffer.from(der.subarray(id.start, id.end)).equals(skiOid)) continue;
      const keyId = readTlv(der, value.body, value.end); // extnValue holds KeyIdentifier ::= OCTET STRING
      if (keyId.tag !== Tag.OCTET_STRING) throw new TypeError('issuer certificate has a malformed SubjectKeyIdentifier');
      subjectKeyId = Buffer.from(der.subarray(keyId.body, keyId.end));
    }
  }
  // An issuer without SubjectKeyIdentifier: use the identifier it would have by method (1).
  return { subject: Buffer.from(der.subarray(subject.start, subject.end)), subjectKeyId: subjectKeyId ?? keyIdentifier(spkiBytes) };
}

function signatureAlgorithm(key: KeyObject): { algorithm: Buffer; digest: string | null } {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return { algorithm: sequence(objectIdentifier(OID.ed25519)), digest: null }; // parameters absent (RFC 8410 §3)
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      // parameters absent (RFC 5758 §3.2)
      if (curve === 'prime256v1') return { algorithm: sequence(objectIdentifier(OID.ecdsaWithSHA256)), digest: 'sha256' };
      if (curve === 'secp384r1') return { algorithm: sequence(objectIdentifier(OID.ecdsaWithSHA384)), digest: 'sha384' };
      throw new TypeError(`unsupported EC curve '${curve ?? 'unknown'}' for signing`);
    }
    case 'rsa':
      return { algorithm: sequence(objectIdentifier(OID.sha256WithRSAEncryption), nullValue()), digest: 'sha256' }; // NULL parameters (RFC 4055 §5)
    default:
      throw new TypeError(`unsupported signing key type '${key.asymmetricKeyType ?? 'unknown'}'`);
  }
}

function dnsName(name: string): Buffer {
  if (name.length === 0 || !/^[\x21-\x7e]+$/.test(name)) throw new TypeError(`invalid DNS name '${name}'`);
  return ia5String(name);
}

/** The 4 or 16 octets of an IP address (RFC 5280 §4.2.1.6). */
export function ipAddressBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) throw new TypeError(`invalid IP address '${text}'`);
  let address = text;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (dotted) {
    // An embedded IPv4 address (e.g. ::ffff:192.0.2.1) becomes the last two 16-bit groups.
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    address = address.slice(0, dotted.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const halves = address.split('::');
  const groupsOf = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length > 2 || (halves.length === 1 ? missing !== 0 : missing < 1)) throw new TypeError(`invalid IP address '${text}'`);
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new TypeError(`invalid IP address '${text}'`);
    out.writeUInt16BE(parseInt(g, 16), i * 2);
  });
  return out;
}
