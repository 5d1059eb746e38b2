// The page's side of the console API (src/console/api-types.ts): same-origin fetch with the
// session cookie, the CSRF token on every state change, `{message}` errors as ApiError, and a 401
// from any call (but the login itself) taken as "the session is gone".
import { CSRF_HEADER } from '../../src/console/api-types.js';
import type { ApiError, LoginRequest, SessionInfo } from '../../src/console/api-types.js';

/** The session's CSRF token: in this module only, never in any browser storage. */
let csrf = '';
let onUnauthorized: () => void = () => {};

export function setCsrf(token: string): void {
  csrf = token;
}

/** Called once by the app: what to do when a call answers 401. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/** An answer with a 4xx/5xx status, or no answer at all (status 0). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

async function send(method: Method, path: string, body: unknown, handle401: boolean): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const init: RequestInit = { method, credentials: 'same-origin', headers, cache: 'no-store' };
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    headers[CSRF_HEADER] = csrf;
    init.body = JSON.stringify(body ?? {});
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new HttpError(0, 'The console server does not answer. Is `kes console` still running?');
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    if (res.status === 401 && handle401) {
      csrf = '';
      onUnauthorized();
    }
    let message = '';
    try {
      const parsed = JSON.parse(text) as Partial<ApiError>;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not JSON: use the status line
    }
    throw new HttpError(res.status, message || `${res.status} ${res.statusText || 'error'}`.trim());
  }
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(res.status, 'The console server sent an answer that is not JSON.');
  }
}

export function get<T>(path: string): Promise<T> {
  return send('GET', path, undefined, true) as Promise<T>;
}
export function post<T>(path: string, body: unknown = {}): Promise<T> {
  return send('POST', path, body, true) as Promise<T>;
}
export function put<T>(path: string, body: unknown = {}): Promise<T> {
  return send('PUT', path, body, true) as Promise<T>;
}
export function del<T = void>(path: string, body: unknown = {}): Promise<T> {
  return send('DELETE', path, body, true) as Promise<T>;
}

/** GET /api/session: the session, or null when there is none (401). */
export async function currentSession(): Promise<SessionInfo | null> {
  try {
    const info = (await send('GET', '/api/session', undefined, false)) as SessionInfo;
    csrf = info.csrf;
    return info;
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return null;
    throw e;
  }
}

/** POST /api/login: a 401/429 is thrown as HttpError with the server's message. */
export async function login(token: string): Promise<SessionInfo> {
  const body: LoginRequest = { token };
  const info = (await send('POST', '/api/login', body, false)) as SessionInfo;
  csrf = info.csrf;
  return info;
}

export async function logout(): Promise<void> {
  try {
    await send('POST', '/api/logout', {}, false);
  } finally {
    csrf = '';
  }
}

/** The message to show for a failed call. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A 401 is handled by showing the login form: no message of its own. */
export function isSessionGone(e: unknown): boolean {
  return e instanceof HttpError && e.status === 401;
}

/** A path segment of the API: names and identities are URL-encoded. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}
