/**
 * Errors of the client SDK. A server that answered with an error becomes a {@link KesError}
 * whose code is mapped from the (status, message) pair (the wire carries no codes; protocol.md
 * §5.2, protocol.md §20.24); a request that got no answer becomes a {@link ConnectionError}.
 */
import { KesError, type KesErrorCode } from '../api/errors.js';

/** The server could not be reached: refused, reset, timed out, TLS failure, DNS failure. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly code = 'KES_ERR_CONNECTION';

  constructor(
    message: string,
    /** The endpoint the last attempt went to. */
    readonly endpoint: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The underlying system or TLS error code (e.g. ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT). */
  get causeCode(): string | undefined {
    return (this.cause as { code?: string } | undefined)?.code;
  }
}

// Exact (status, message) pairs, including the legacy spellings older servers used.
const SENTINELS: [number, string, KesErrorCode][] = [
  [403, 'not authorized: insufficient permissions', 'KES_ERR_NOT_ALLOWED'],
  [403, 'prohibited by policy', 'KES_ERR_NOT_ALLOWED'],
  [404, 'key does not exist', 'KES_ERR_KEY_NOT_FOUND'],
  [400, 'key already exists', 'KES_ERR_KEY_EXISTS'],
  [400, 'key does already exist', 'KES_ERR_KEY_EXISTS'],
  [404, 'policy does not exist', 'KES_ERR_POLICY_NOT_FOUND'],
  [404, 'identity does not exist', 'KES_ERR_IDENTITY_NOT_FOUND'],
  [400, 'decryption failed: ciphertext is not authentic', 'KES_ERR_DECRYPT'],
  [409, 'key does not support HMAC', 'KES_ERR_HMAC_NOT_SUPPORTED'],
  [413, 'request body too large', 'KES_ERR_BODY_TOO_LARGE'],
  [503, 'request timeout exceeded', 'KES_ERR_TIMEOUT'],
  [504, 'key store is not reachable', 'KES_ERR_STORE_UNREACHABLE'],
];

const BY_STATUS: Record<number, KesErrorCode> = {
  400: 'KES_ERR_BAD_REQUEST',
  403: 'KES_ERR_NOT_ALLOWED',
  405: 'KES_ERR_METHOD_NOT_ALLOWED',
  413: 'KES_ERR_BODY_TOO_LARGE',
  500: 'KES_ERR_INTERNAL',
  501: 'KES_ERR_NOT_IMPLEMENTED',
  502: 'KES_ERR_STORE_FAILED',
  504: 'KES_ERR_STORE_UNREACHABLE',
};

/**
 * The error message of a response body: `message`, or `error` when that is empty, from a JSON
 * body; the text itself otherwise (as the KES SDK reads it).
 */
export function responseMessage(body: string, contentType: string | undefined): string {
  if (contentType?.startsWith('application/json')) {
    try {
      const obj = JSON.parse(body) as { message?: unknown; error?: unknown };
      const message = typeof obj.message === 'string' ? obj.message : '';
      if (message !== '') return message;
      if (typeof obj.error === 'string' && obj.error !== '') return obj.error;
    } catch {
      // not JSON after all: use the text
    }
  }
  return body.trim();
}

/** The KesError for an error response. */
export function errorFromResponse(status: number, body: string, contentType: string | undefined): KesError {
  const message = responseMessage(body, contentType);
  const sentinel = SENTINELS.find(([s, m]) => s === status && m === message);
  const code = sentinel?.[2] ?? BY_STATUS[status] ?? (status === 406 ? 'KES_ERR_UNSUPPORTED_ALGORITHM' : 'KES_ERR_HTTP');
  return new KesError(code, message || `HTTP ${status}`, { status });
}
