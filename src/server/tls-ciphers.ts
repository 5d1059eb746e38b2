/**
 * The TLS parameters of the listener (protocol.md §1.1): TLS 1.2 at least, and modern cipher suites
 * only, as KES v0.22 pinned them. TLS 1.3 offers its three AEAD suites; TLS 1.2 only ECDHE key
 * exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305. Never CBC, RC4, 3DES, static RSA
 * or finite-field DH key exchange. All of these are allowed by HTTP/2 (RFC 7540 Appendix A).
 */
import { constants } from 'node:crypto';

/** The minimum protocol version. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** The cipher suites, in OpenSSL notation (TLS 1.3 names start with `TLS_`). */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The key exchange groups: X25519 and the NIST curves P-256, P-384 and P-521. */
export const TLS_CURVES = 'X25519:P-256:P-384:P-521';

/**
 * OpenSSL options of the listener: client-initiated TLS 1.2 renegotiation is refused with a
 * `no_renegotiation` alert, as Go's server does (Node allows three per ten minutes).
 */
export const TLS_SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION;
