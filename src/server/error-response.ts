/**
 * THE place where errors become HTTP responses (protocol.md §5): a KesError answers with its status
 * and message; anything else is logged and answered with a generic 500. Messages of internal
 * failures (the `cause` of a KesError, or unexpected errors) go to the error log only.
 */
import { KesError } from '../api/errors.js';
import { goJsonValue } from '../util/go-json.js';
import type { ErrorLog, LogAttrs } from '../log/error-log.js';

/** KES's error body: `{"message":"<msg>"\n}` (the newline before `}` is part of the format). */
export function errorBody(message: string): string {
  return `{"message":${goJsonValue(message)}\n}`;
}

export interface ErrorResponse {
  status: number;
  body: string;
}

/**
 * Maps an error to its response and logs what clients must not see.
 * @param attrs request attributes for the log line (method, path, ip, identity)
 */
export function errorResponse(err: unknown, log: ErrorLog, attrs: LogAttrs): ErrorResponse {
  if (err instanceof KesError) {
    if (err.status >= 500) log.error(describeFailure(err), attrs);
    return { status: err.status, body: errorBody(err.message) };
  }
  log.error(`internal error: ${describeFailure(err)}`, attrs);
  const internal = new KesError('KES_ERR_INTERNAL');
  return { status: internal.status, body: errorBody(internal.message) };
}

/** The message chain of an error and its causes, for the error log. */
export function describeFailure(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 5; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(': ');
}
