/**
 * Per-connection client identity (protocol.md §2.1), computed once when the TLS handshake
 * completes and kept on the socket: every request on the connection reuses it.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { identityOfCertificate } from '../auth/identity.js';
import { validityOf, type Distrust, type TrustStore } from '../pki/trust.js';

/**
 * Why requests on a connection are refused: no certificate where one is required, or one that
 * is not trusted. Read as `tls: client certificate <refusal>` (KES_ERR_TLS).
 */
export type Refusal = Distrust | 'is required' | `is not accepted (${string})`;

export interface ConnInfo {
  /** The identity of the client's leaf certificate; '' when there is none (or it is a CA). */
  readonly identity: string;
  /** The client sent a certificate. */
  readonly hasCertificate: boolean;
  /**
   * Why every request on this connection is refused. The TLS layer lets every client in (Node
   * could refuse one only without saying why); the reason is the answer to each request.
   */
  readonly refusal?: Refusal;
}

const CONN_INFO = Symbol('kes.connection');

type Tagged = { [CONN_INFO]?: ConnInfo };

export interface ClientCertPolicy {
  /** A client certificate is required (no `skip_auth` route makes it optional). */
  required: boolean;
  /** With `tls.auth: on`: the CAs the certificate must verify against. */
  trust?: TrustStore;
}

/**
 * Computes and stores the connection's identity and, when its certificate is missing or not
 * trusted, the refusal. Call once, on 'secureConnection'. With `tls.auth: on` the chain is
 * checked here when OpenSSL did not accept it, or when the session was resumed (its certificate
 * was checked when the session began, maybe before it expired or a reload changed the CAs;
 * session-tickets.ts); every certificate's validity period is checked.
 */
export function identifyConnection(socket: TLSSocket, policy: ClientCertPolicy): ConnInfo {
  const cert = socket.getPeerX509Certificate();
  let identity = '';
  let refusal: Refusal | undefined;
  if (cert === undefined) {
    if (policy.required) refusal = 'is required';
  } else if (!cert.ca) {
    // A CA certificate is never a client identity (protocol.md §20.25: "more than one client certificate").
    try {
      identity = identityOfCertificate(cert.raw);
    } catch {
      identity = '';
    }
    if (policy.trust) refusal = refusalOf(socket, cert, policy.trust);
  }
  const info: ConnInfo = { identity, hasCertificate: cert !== undefined, ...(refusal && { refusal }) };
  (socket as Tagged)[CONN_INFO] = info;
  return info;
}

/** Why a certificate is not trusted now, with `tls.auth: on`; undefined when it is. */
function refusalOf(socket: TLSSocket, cert: X509Certificate, trust: TrustStore): Refusal | undefined {
  if (socket.isSessionReused()) return verifyChain(socket, cert, trust);
  if (socket.authorized) return validityOf(cert);
  // OpenSSL refused it: in the words of the chain check, or else OpenSSL's (a key usage, ...).
  return verifyChain(socket, cert, trust) ?? `is not accepted (${String(socket.authorizationError)})`;
}

/** The certificate's chain (as the client sent it) against the current CAs. */
function verifyChain(socket: TLSSocket, cert: X509Certificate, trust: TrustStore): Distrust | undefined {
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
