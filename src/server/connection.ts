/**
 * Per-connection client identity (protocol.md §2.1), computed once when the TLS handshake
 * completes and kept on the socket: every request on the connection reuses it.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { identityOfCertificate } from '../auth/identity.js';
import { validityOf, type Distrust, type TrustStore } from '../pki/trust.js';

export interface ConnInfo {
  /** The identity of the client's leaf certificate; '' when there is none (or it is a CA). */
  readonly identity: string;
  /** The client sent a certificate. */
  readonly hasCertificate: boolean;
  /** The certificate chain verified against the configured CAs. */
  readonly authorized: boolean;
  /**
   * Why requests on this connection are refused (`has expired`: the client certificate is no
   * longer trusted although the TLS layer let it in, a resumed session).
   */
  readonly refusal?: Distrust;
}

const CONN_INFO = Symbol('kes.connection');

type Tagged = { [CONN_INFO]?: ConnInfo };

/**
 * Computes and stores the connection's identity. Call once, on 'secureConnection'.
 * @param trust with `tls.auth: on`: the CAs the certificate must still verify against. The
 *   handshake checked a new session's certificate; a resumed session's was checked when the
 *   session began, maybe before it expired or before a reload changed the CAs, so it is checked
 *   again here (session-tickets.ts). Every connection's validity period is checked.
 */
export function identifyConnection(socket: TLSSocket, trust?: TrustStore): ConnInfo {
  const cert = socket.getPeerX509Certificate();
  let identity = '';
  let distrust: Distrust | undefined;
  // A CA certificate is never a client identity (protocol.md §20.25: "more than one client certificate").
  if (cert && !cert.ca) {
    try {
      identity = identityOfCertificate(cert.raw);
    } catch {
      identity = '';
    }
    if (trust) distrust = socket.isSessionReused() ? verifyResumed(socket, cert, trust) : validityOf(cert);
  }
  const info: ConnInfo = {
    identity,
    hasCertificate: cert !== undefined,
    authorized: socket.authorized,
    ...(distrust && { refusal: distrust }),
  };
  (socket as Tagged)[CONN_INFO] = info;
  return info;
}

/** The chain of a resumed session's certificate against the current CAs. */
function verifyResumed(socket: TLSSocket, cert: X509Certificate, trust: TrustStore): Distrust | undefined {
  const direct = trust.verify(cert);
  if (direct !== 'is not issued by a trusted CA') return direct;
  // Issued by an intermediate: the chain the client sent (kept in the session).
  const intermediates: X509Certificate[] = [];
  let c = socket.getPeerCertificate(true).issuerCertificate;
  while (c?.raw && intermediates.length < 10) {
    intermediates.push(new X509Certificate(c.raw));
    if (c.issuerCertificate === c) break; // a self-signed certificate ends the chain
    c = c.issuerCertificate;
  }
  return trust.verify(cert, intermediates);
}

/**
 * The identity stored on a request's socket. Works for HTTP/1.1 sockets and for the HTTP/2
 * compatibility layer's socket proxy, which forwards property reads to the TLS socket.
 */
export function connectionOf(socket: unknown): ConnInfo | undefined {
  return (socket as Tagged | undefined)?.[CONN_INFO];
}
