/** The per-request context handed to handlers. */
import type { IncomingHttpHeaders } from 'node:http';
import type { ServerState } from './state.js';
import type { Route } from './routes.js';

export interface RequestContext {
  readonly state: ServerState;
  readonly route: Route;
  readonly method: string;
  /** The cleaned, percent-decoded URL path. */
  readonly path: string;
  /** The path after the route prefix (a name or pattern); '' for exact routes. */
  readonly resource: string;
  /** The caller's identity; '' when unknown (no certificate, or a route without auth). */
  readonly identity: string;
  readonly ip: string;
  readonly headers: IncomingHttpHeaders;
  /** Aborted when the client goes away, the route times out or the server shuts down. */
  readonly signal: AbortSignal;
  /** Reads the request body, at most the route's limit. @throws KesError 413 beyond it */
  body(): Promise<Buffer>;
  /** Reports whether the request has a body (Content-Length > 0 or chunked). */
  hasBody(): boolean;
  /** The audit message for this request (KES's `secret key 'k' created` events). */
  auditMessage?: string;
}
