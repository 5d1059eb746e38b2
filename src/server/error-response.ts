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
    // A server-side failure is logged with what clients do not see: its cause. Without one the
    // answer says it all (a load balancer's probe of a server whose store is down, every 2 s).
    if (err.status >= 500 && err.cause !== undefined) log.error(describeFailure(err), attrs);
    return { status: err.status, body: errorBody(err.message) };
  }
  log.error(`internal error: ${describeFailure(err)}`, attrs);
  const internal = new KesError('KES_ERR_INTERNAL');
  return { status: internal.status, body: errorBody(internal.message) };
}

/**
 * The message chain of an error and its causes, for the error log. A cause whose text its
 * wrapper already contains is not repeated (most wrappers quote their cause); a system error
 * counts as contained when its code or its description is.
 */
export function describeFailure(err: unknown): string {
  let text = '';
  let depth = 0;
  for (let e: unknown = err; e !== undefined && depth < 5; e = e instanceof Error ? e.cause : undefined, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (text === '') text = message;
    else if (!gists(e, message).some((g) => text.includes(g))) text += `: ${message}`;
  }
  return text;
}

/** The texts that stand for an error: its message; for a system error also its code and description. */
function gists(err: unknown, message: string): string[] {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || code === '') return [message];
  // `ENOENT: no such file or directory, open 'x'` → `no such file or directory`
  const description = message.startsWith(`${code}: `) ? message.slice(code.length + 2).split(',')[0]! : message;
  return [message, code, description];
}
