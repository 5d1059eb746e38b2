/**
 * Per-connection client identity (kes-spec §2.1), computed once when the TLS handshake
 * completes and kept on the socket: every request on the connection reuses it.
 */
import type { TLSSocket } from 'node:tls';
import { identityOfCertificate } from '../auth/identity.js';

export interface ConnInfo {
  /** The identity of the client's leaf certificate; '' when there is none (or it is a CA). */
  readonly identity: string;
  /** The client sent a certificate. */
  readonly hasCertificate: boolean;
  /** The certificate chain verified against the configured CAs. */
  readonly authorized: boolean;
}

const CONN_INFO = Symbol('kes.connection');

type Tagged = { [CONN_INFO]?: ConnInfo };

/** Computes and stores the connection's identity. Call once, on 'secureConnection'. */
export function identifyConnection(socket: TLSSocket): ConnInfo {
  const cert = socket.getPeerX509Certificate();
  let identity = '';
  // A CA certificate is never a client identity (decisions.md: "more than one client certificate").
  if (cert && !cert.ca) {
    try {
      identity = identityOfCertificate(cert.raw);
    } catch {
      identity = '';
    }
  }
  const info: ConnInfo = { identity, hasCertificate: cert !== undefined, authorized: socket.authorized };
  (socket as Tagged)[CONN_INFO] = info;
  return info;
}

/**
 * The identity stored on a request's socket. Works for HTTP/1.1 sockets and for the HTTP/2
 * compatibility layer's socket proxy, which forwards property reads to the TLS socket.
 */
export function connectionOf(socket: unknown): ConnInfo | undefined {
  return (socket as Tagged | undefined)?.[CONN_INFO];
}
