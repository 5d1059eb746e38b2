/**
 * The client certificate made in memory from an API key (protocol.md §2.3): the client presents a
 * self-signed Ed25519 certificate for the key, and the server derives the identity from it.
 */
import type { ApiKey } from '../auth/api-key.js';
import { createCertificate } from './x509.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A self-signed certificate for an API key: Subject CN = the key's identity, valid from now for
 * validityDays, KeyUsage digitalSignature, ExtKeyUsage clientAuth, BasicConstraints CA=false and
 * a random serial below 2^127.
 */
export function createSelfSignedFromApiKey(key: ApiKey, validityDays = 90): { der: Buffer; pem: string } {
  if (!Number.isFinite(validityDays) || validityDays <= 0) throw new RangeError('validityDays must be a positive number');
  const notBefore = new Date();
  return createCertificate({
    commonName: key.identity,
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validityDays * DAY_MS),
    isCA: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  });
}
