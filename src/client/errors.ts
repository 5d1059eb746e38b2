/**
 * Errors of the client SDK. A server that answered with an error becomes a {@link KesError}
 * whose code is mapped from the (status, message) pair (the wire carries no codes; protocol.md
 * §5.2, protocol.md §20.24); a request that got no answer becomes a {@link ConnectionError}.
 */
import { catalogue, KesError, LEGACY_MESSAGES, type KesErrorCode } from '../api/errors.js';
import { ErrResponse } from '../kms/messages.js';
import type { TlsProblem } from './tls-problems.js';

/** The server could not be reached: refused, reset, timed out, TLS failure, DNS failure. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly code = 'KES_ERR_CONNECTION';

  /** No answer came in time (the request's time-out passed, or it was aborted). */
  readonly timedOut: boolean;

  /** The certificate problem that failed the TLS handshake, told apart (tls-problems.ts). */
  readonly tlsProblem: TlsProblem | undefined;

  constructor(
    message: string,
    /** The endpoint the last attempt went to. */
    readonly endpoint: string,
    options?: ErrorOptions & { timedOut?: boolean; tlsProblem?: TlsProblem },
  ) {
    super(message, options);
    this.timedOut = options?.timedOut ?? false;
    this.tlsProblem = options?.tlsProblem;
  }

  /** The underlying system or TLS error code (e.g. ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT). */
  get causeCode(): string | undefined {
    return (this.cause as { code?: string } | undefined)?.code;
  }
}

/**
 * The (status, message) pairs the SDK recognises: the server's catalogue (api/errors.ts,
 * templates matching any value) and the spellings of older KES servers.
 */
const KNOWN: readonly { status: number; pattern: RegExp; code: KesErrorCode }[] = [
  ...catalogue().filter((e) => e.code !== 'KES_ERR_HTTP'),
  ...LEGACY_MESSAGES.map((l) => ({ status: l.status, code: l.code, pattern: new RegExp(`^${l.message}$`) })),
];

// When the message is not known: the code the status means.
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
 * body; from a binary MinKMS ErrResponse when the type is exactly `application/octet-stream`
 * (docs/minkms.md "Errors"); the text itself otherwise (as the KES SDK reads it).
 */
export function responseMessage(raw: string | Uint8Array, contentType: string | undefined): string {
  if (typeof raw !== 'string' && contentType === 'application/octet-stream') {
    try {
      return ErrResponse.decode(raw).message;
    } catch {
      // not an ErrResponse after all: use the text
    }
  }
  const body = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
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

/** The KesError for an error response (its body as text or as the bytes received). */
export function errorFromResponse(status: number, body: string | Uint8Array, contentType: string | undefined): KesError {
  const message = responseMessage(body, contentType);
  const known = KNOWN.find((k) => k.status === status && k.pattern.test(message));
  const code = known?.code ?? BY_STATUS[status] ?? (status === 406 ? 'KES_ERR_UNSUPPORTED_ALGORITHM' : 'KES_ERR_HTTP');
  return new KesError(code, message || `HTTP ${status}`, { status });
}
