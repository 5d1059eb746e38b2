/** The console API's route table type and its matcher: `/api/keys/:name` style paths. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConsoleBackend } from './backend.js';
import type { LoginGate, Session } from './session.js';

export interface ApiContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Decoded path parameters. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body of a POST, PUT or DELETE ({} when empty). */
  body: unknown;
  /** The caller's session (routes that are not public only). */
  session: Session;
  gate: LoginGate;
  backend: ConsoleBackend;
  cookie: { name: string; value: string | undefined };
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `/api/...`; `:name` matches one path segment. */
  path: string;
  /** The answer's JSON body (200, or 201 with created); undefined: 204. */
  handler: (ctx: ApiContext) => Promise<unknown>;
  /** Needs no session (sign-in). */
  public?: boolean;
  /** The handler writes the answer itself (event streams). */
  stream?: boolean;
  /** POST answers 201 Created. */
  created?: boolean;
}

/** The route of method and path, with its parameters; undefined when none matches. */
export function matchRoute(routes: readonly ApiRoute[], method: string, pathname: string): { route: ApiRoute; params: Record<string, string> } | undefined {
  const segments = pathname.split('/');
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/');
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((p, i) => {
      const s = segments[i]!;
      if (!p.startsWith(':')) return p === s;
      if (s === '') return false;
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        return false;
      }
      return true;
    });
    if (matches) return { route, params };
  }
  return undefined;
}
