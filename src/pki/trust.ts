/**
 * Certificate chain verification for the places where OpenSSL's handshake does not verify: a
 * resumed TLS session (whose certificate was verified when the session began, against the CAs
 * of that time) and a client certificate forwarded by a TLS proxy.
 *
 * The rules follow the handshake's (protocol.md §1.1: `tls.ca` is added to the system roots): a
 * certificate is trusted when it is valid now and a chain of valid CA certificates, each
 * signing the one below it, leads from it to a self-signed certificate of the trust store. The
 * store's other certificates and the intermediates a client sent may be links of the chain.
 */
import { X509Certificate } from 'node:crypto';
import { systemRoots } from './tls-files.js';

/** Why a certificate is not trusted, in words for an error message or a log line. */
export type Distrust = 'has expired' | 'is not valid yet' | 'is a CA certificate' | 'is not issued by a trusted CA';

/** Chains longer than this are refused (OpenSSL's default depth is 100; real ones have 2–4 links). */
const MAX_DEPTH = 10;

let parsedRoots: X509Certificate[] | undefined;

/** Node's bundled root CAs, parsed once on first use. */
function roots(): X509Certificate[] {
  return (parsedRoots ??= systemRoots().map((pem) => new X509Certificate(pem)));
}

/** Whether a certificate is within its validity period now; the reason when not. */
export function validityOf(cert: X509Certificate, now = Date.now()): Distrust | undefined {
  if (now > Date.parse(cert.validTo)) return 'has expired';
  if (now < Date.parse(cert.validFrom)) return 'is not valid yet';
  return undefined;
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Issued by itself (the key-usage check of checkIssued would refuse a self-signed leaf). */
function selfSigned(cert: X509Certificate): boolean {
  try {
    return cert.issuer === cert.subject && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/** The configured CA certificates, and (as in the handshake) the system roots after them. */
export class TrustStore {
  private readonly fingerprints: Set<string>;

  /** @param configured the `tls.ca` certificates */
  constructor(readonly configured: readonly X509Certificate[], private readonly withSystemRoots = true) {
    this.fingerprints = new Set(configured.map((c) => c.fingerprint256));
  }

  private has(cert: X509Certificate): boolean {
    return this.fingerprints.has(cert.fingerprint256) || (this.withSystemRoots && roots().some((r) => r.fingerprint256 === cert.fingerprint256));
  }

  private *candidates(intermediates: readonly X509Certificate[]): Iterable<X509Certificate> {
    yield* this.configured;
    yield* intermediates;
    if (this.withSystemRoots) yield* roots();
  }

  /**
   * Checks a client certificate: its validity period now, then its chain to a trust anchor.
   * @param intermediates certificates the client sent with it (may be empty)
   * @returns undefined when trusted, else the reason
   */
  verify(leaf: X509Certificate, intermediates: readonly X509Certificate[] = [], now = Date.now()): Distrust | undefined {
    const invalid = validityOf(leaf, now);
    if (invalid) return invalid;
    let current = leaf;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      // A self-signed certificate of the store is a trust anchor (a leaf may be its own anchor).
      if (this.has(current) && selfSigned(current)) return undefined;
      let issuer: X509Certificate | undefined;
      for (const c of this.candidates(intermediates)) {
        if (c.fingerprint256 !== current.fingerprint256 && c.ca && validityOf(c, now) === undefined && signedBy(current, c)) {
          issuer = c;
          break;
        }
      }
      if (!issuer) return 'is not issued by a trusted CA';
      current = issuer;
    }
    return 'is not issued by a trusted CA';
  }
}
