/**
 * How errors of the AWS SDK are told apart: an answer of the service (it has an HTTP status and
 * a documented error name, e.g. `ResourceNotFoundException`) or a failure to reach it.
 */

/** The error name the service answered with, or undefined when it did not answer. */
export function serviceErrorName(err: unknown): string | undefined {
  return httpStatus(err) !== undefined ? (err as { name?: string }).name : undefined;
}

/** The service's error message (never contains secret values: the service does not echo them). */
export function serviceErrorMessage(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return e.message && e.message !== e.name ? `${e.name}: ${e.message}` : (e.name ?? 'unknown error');
}

// Node's errors of a connection that could not be made or broke before an answer.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * True when the request got no HTTP answer: refused, reset or timed-out connections, unknown
 * hosts, and the SDK's own time-outs (`TimeoutError`, `AbortError`). Credential, configuration
 * and TLS verification errors are not network failures.
 */
export function isNetworkError(err: unknown): boolean {
  if (httpStatus(err) !== undefined) return false;
  const e = err as { name?: string; code?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  return typeof e.code === 'string' && NETWORK_CODES.has(e.code);
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}
