/**
 * The client certificate made in memory from an API key (protocol.md §2.3): the client presents a
 * self-signed certificate for the key (Ed25519; ECDSA for MinKMS's k2: keys), and the server
 * derives the identity from it.
 */
import type { KeyObject } from 'node:crypto';
import { createCertificate } from './x509.js';

/** An API key's key pair and identity (KES's `kes:v1:`, MinKMS's `k1:` and `k2:` keys). */
export interface CertificateKey {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly identity: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A self-signed certificate for an API key: Subject CN = the key's identity (or commonName:
 * MinKMS's clients write the `h1:` form), valid from now for validityDays, KeyUsage
 * digitalSignature, ExtKeyUsage clientAuth, BasicConstraints CA=false and a random serial below
 * 2^127.
 */
export function createSelfSignedFromApiKey(key: CertificateKey, validityDays = 90, commonName = key.identity): { der: Buffer; pem: string } {
  if (!Number.isFinite(validityDays) || validityDays <= 0) throw new RangeError('validityDays must be a positive number');
  const notBefore = new Date();
  return createCertificate({
    commonName,
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validityDays * DAY_MS),
    isCA: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  });
}
