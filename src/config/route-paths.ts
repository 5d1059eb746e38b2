/**
 * The route keys the `api:` config section may name (protocol.md §6, §20.9): the exact
 * route paths of the server, subtree routes with their trailing `/`.
 */
import * as P from '../api/paths.js';

/** Every route path the server serves, as written in `api:` keys. */
export const ROUTE_PATHS: readonly string[] = Object.freeze(Object.values(P));

/** The routes on which `skip_auth: true` is allowed (protocol.md §20.9). */
export const SKIP_AUTH_PATHS: readonly string[] = Object.freeze([P.PATH_READY, P.PATH_STATUS, P.PATH_METRICS, P.PATH_API]);

/** Reports whether path is one of the server's route paths. */
export function isRoutePath(path: string): boolean {
  return ROUTE_PATHS.includes(path);
}

/** Reports whether `skip_auth: true` may be configured for the route path. */
export function maySkipAuth(path: string): boolean {
  return SKIP_AUTH_PATHS.includes(path);
}
