/**
 * How failures of the `pg` driver are told apart: the database could not be reached (no
 * connection, a connection lost, a time-out, a server shutting down or starting up) or it
 * answered with an error.
 */
import { KeyStoreUnreachableError } from '../keystore.js';

// Node's errors of a connection that could not be made or broke before an answer.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT']);

/**
 * SQLSTATEs (PostgreSQL manual, appendix A) meaning "the database cannot serve us now":
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or
 * shutting down), 57014 query_canceled (statement_timeout), 55P03 lock_not_available
 * (lock_timeout), 53300 too_many_connections. Class 08 (connection exception) is matched whole.
 */
const UNREACHABLE_STATES = new Set(['57P01', '57P02', '57P03', '57014', '55P03', '53300']);

// The driver's own errors for lost connections and time-outs (pg and pg-pool have no codes for them).
const UNREACHABLE_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^timeout expired$/,
  /^Query read timeout$/,
  /^Client has encountered a connection error and is not queryable$/,
];

/** The SQLSTATE of an error the database answered with, or undefined. */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return typeof e?.code === 'string' && typeof e.severity === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
}

/**
 * True when err means that the database could not be reached or did not answer in time: a
 * refused, reset or timed-out connection, an unknown host, a server that shuts down, starts up
 * or has no free connection slot, a cancelled statement. Authentication, permission, TLS and
 * SQL errors are not.
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof KeyStoreUnreachableError) return true;
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || UNREACHABLE_STATES.has(state);
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && UNREACHABLE_MESSAGES.some((m) => m.test(e.message as string));
}

/**
 * A one-line description of err for the error log: the server's message with its SQLSTATE, or
 * the driver's message. Details and hints of the server are left out: they may quote values.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const state = sqlState(err);
  if (state !== undefined) return `${err.message} (SQLSTATE ${state})`;
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

/**
 * The store's error for a failed call: KeyStoreUnreachableError when the database could not
 * be reached, a plain Error otherwise; both prefixed `postgres: <what>: `.
 */
export function storeError(what: string, err: unknown): Error {
  if (err instanceof KeyStoreUnreachableError) return err;
  const message = `postgres: ${what}: ${describeError(err)}`;
  return isUnreachable(err) ? new KeyStoreUnreachableError(message, { cause: err }) : new Error(message, { cause: err });
}
