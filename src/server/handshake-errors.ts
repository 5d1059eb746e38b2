/**
 * Failed TLS handshakes: one log line each, with the client's address and the cause in words,
 * and the plain-HTTP client answered as Go's server answers it.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ErrorLog } from '../log/error-log.js';

/** Go's answer to an HTTP request on an HTTPS port (curl shows it instead of "Empty reply"). */
const PLAIN_HTTP_ANSWER = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/** The TCP socket under a server-side TLS socket (Node's `_parent`; gone once it is destroyed). */
const tcpOf = (socket: TLSSocket) => (socket as TLSSocket & { _parent?: Socket | null })._parent ?? undefined;

/**
 * Makes Node keep a new connection's address: it asks the system only when first read, and a
 * socket that closed during the handshake can no longer be asked.
 */
export function rememberPeerAddress(socket: Socket): void {
  void socket.remoteAddress;
}

/** `ip:port` of a TLS socket's client (`[v6]:port`); 'an unknown address' when Node lost it. */
export function peerAddress(socket: TLSSocket): string {
  const s = socket.remoteAddress !== undefined ? socket : tcpOf(socket);
  const ip = s?.remoteAddress;
  if (ip === undefined) return 'an unknown address';
  return `${ip.includes(':') ? `[${ip}]` : ip}:${s?.remotePort ?? 0}`;
}

const CAUSES: Array<[RegExp, string]> = [
  [/^ERR_SSL_HTTP_REQUEST$/, 'the client sent plain HTTP to the HTTPS port'],
  [/^ERR_SSL_(WRONG_VERSION_NUMBER|UNSUPPORTED_PROTOCOL|TLSV1_ALERT_PROTOCOL_VERSION|UNKNOWN_PROTOCOL|VERSION_TOO_LOW)$/, 'not a TLS handshake, or a TLS version the server does not speak (1.2 and 1.3)'],
  [/^ERR_SSL_NO_SHARED_CIPHER$/, 'no cipher suite in common with the client'],
  [/_ALERT_CERTIFICATE_EXPIRED$/, 'the client says the server certificate has expired'],
  [/_ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR)$/, 'the client does not trust the server certificate'],
  [/_ALERT_/, 'the client ended the handshake with a TLS alert'],
  [/^ECONNRESET$/, 'the client closed the connection during the handshake (a client that does not trust the server certificate does that)'],
  [/^ERR_TLS_HANDSHAKE_TIMEOUT$/, 'the client did not finish the handshake in time'],
];

/** The cause of a handshake failure in words, with the code for searching. */
export function handshakeCause(err: Error & { code?: string }): string {
  const code = err.code ?? '';
  const cause = CAUSES.find(([pattern]) => pattern.test(code))?.[1];
  return cause ? `${cause} (${code})` : code || err.message;
}

/** Logs a failed handshake; answers a plain-HTTP client in plain HTTP, as Go's server does. */
export function handshakeFailed(err: Error & { code?: string }, socket: TLSSocket, log: ErrorLog): void {
  log.info(`http: TLS handshake error from ${peerAddress(socket)}: ${handshakeCause(err)}`);
  const tcp = tcpOf(socket);
  if (err.code === 'ERR_SSL_HTTP_REQUEST' && tcp?.writable) tcp.end(PLAIN_HTTP_ANSWER);
}
