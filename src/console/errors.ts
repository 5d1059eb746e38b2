/**
 * The console's one error-to-HTTP mapping: what a failed API call answers the page. A server's
 * own 4xx answers pass through with KES's message (the page shows it); its 5xx and a server that
 * cannot be reached become 502, so the page can tell the console from the server behind it.
 */
import { isKesError } from '../api/errors.js';
import { ConnectionError } from '../client/errors.js';
import { cliErrorMessage } from '../cli/errors.js';

/** A request the console itself refuses: its status and message go to the page as they are. */
export class ConsoleError extends Error {
  override readonly name = 'ConsoleError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ErrorAnswer {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

export function errorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof ConsoleError) return { status: err.status, message: err.message, headers: err.headers };
  if (isKesError(err) && err.status >= 400 && err.status < 500) return { status: err.status, message: err.message };
  if (isKesError(err)) return { status: 502, message: `the server failed: ${err.message}` };
  if (err instanceof ConnectionError) return { status: 502, message: cliErrorMessage(err) };
  return { status: 500, message: 'internal error of the console' };
}
