/**
 * The error catalog shared by the server and the client SDK.
 *
 * KES's wire format carries no error codes: clients compare the pair (HTTP status, message).
 * Every error the server can answer with therefore has a stable code here, a status and the
 * exact KES message. Handlers throw {@link KesError}; one function turns it into a response.
 */

/** Status and default message of each error code. */
export const ERRORS = {
  // Sentinel errors of the KES SDK (kms-go kes/error.go): clients compare these by value.
  KES_ERR_NOT_ALLOWED: { status: 403, message: 'not authorized: insufficient permissions' },
  KES_ERR_KEY_NOT_FOUND: { status: 404, message: 'key does not exist' },
  // KES answers 400, not 409, for an existing key: kept for wire compatibility.
  KES_ERR_KEY_EXISTS: { status: 400, message: 'key already exists' },
  KES_ERR_POLICY_NOT_FOUND: { status: 404, message: 'policy does not exist' },
  KES_ERR_IDENTITY_NOT_FOUND: { status: 404, message: 'identity does not exist' },
  KES_ERR_DECRYPT: { status: 400, message: 'decryption failed: ciphertext is not authentic' },

  // Request errors whose message names the offending input.
  KES_ERR_BAD_REQUEST: { status: 400, message: 'invalid request body' },
  KES_ERR_INVALID_NAME: { status: 400, message: 'name is empty, too long or contains invalid characters' },
  KES_ERR_INVALID_PATTERN: { status: 400, message: 'listing pattern is empty, too long or is invalid' },
  KES_ERR_TLS: { status: 400, message: 'tls: client certificate is required' },
  KES_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  KES_ERR_UNSUPPORTED_ALGORITHM: { status: 406, message: 'algorithm is not supported' },
  KES_ERR_INVALID_KEY_SIZE: { status: 406, message: 'invalid key size' },
  KES_ERR_HMAC_NOT_SUPPORTED: { status: 409, message: 'key does not support HMAC' },
  KES_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body too large' },

  // Server-side failures. Messages are generic: backend details go to the error log only.
  KES_ERR_INTERNAL: { status: 500, message: 'internal server error' },
  KES_ERR_NOT_IMPLEMENTED: { status: 501, message: 'not implemented' },
  KES_ERR_STORE_FAILED: { status: 502, message: 'key store is unavailable' },
  KES_ERR_TIMEOUT: { status: 503, message: 'request timeout exceeded' },
  KES_ERR_STORE_UNREACHABLE: { status: 504, message: 'key store is not reachable' },

  // Client side (SDK): a response the catalog does not know; its status is the server's.
  KES_ERR_HTTP: { status: 500, message: 'unexpected response' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code; callers branch on it, never on the message text. */
export type KesErrorCode = keyof typeof ERRORS;

/**
 * An error with a stable code, an HTTP status and a client-visible message.
 *
 * The message must never contain secret material: it is written to clients and logs.
 */
export class KesError extends Error {
  override readonly name = 'KesError';
  readonly code: KesErrorCode;
  readonly status: number;

  constructor(code: KesErrorCode, message?: string, options?: ErrorOptions & { status?: number }) {
    super(message ?? ERRORS[code].message, options);
    this.code = code;
    this.status = options?.status ?? ERRORS[code].status;
  }
}

/** Reports whether err is a {@link KesError} with the given code. */
export function isKesError(err: unknown, code?: KesErrorCode): err is KesError {
  return err instanceof KesError && (code === undefined || err.code === code);
}
