/** The `api:` section: per-route overrides keyed by the exact route path (protocol.md §6, §13.2). */
import type { ConfigNode } from './config-node.js';
import { isRoutePath, maySkipAuth, SKIP_AUTH_PATHS } from './route-paths.js';
import type { RouteConfig } from './types.js';

/**
 * Reads the `api:` section. Keys must be route paths of the server (never `${NAME}`
 * substituted); `skip_auth: true` is allowed only on the routes of SKIP_AUTH_PATHS
 * (protocol.md §20.9); `timeout` is a non-negative duration, 0 keeps the route's default. The
 * `max_connections` key is not a route: see {@link readMaxConnections}.
 */
export function readApiConfig(api: ConfigNode): Record<string, RouteConfig> {
  const routes: Record<string, RouteConfig> = {};
  for (const [path, route] of api.entries()) {
    if (path === MAX_CONNECTIONS) continue;
    if (!isRoutePath(path)) route.fail(`unknown API path ${JSON.stringify(path)}`);
    if (!route.isNull && !route.isMap) route.fail('must be a mapping');
    const skipAuth = route.boolean('skip_auth') ?? false;
    if (skipAuth && !maySkipAuth(path)) {
      route.at('skip_auth').fail(`skip_auth is not allowed for ${path}, only for ${SKIP_AUTH_PATHS.join(', ')}`);
    }
    const timeoutMs = route.duration('timeout');
    routes[path] = timeoutMs ? { skipAuth, timeoutMs } : { skipAuth };
  }
  return routes;
}

/** The `api:` key of the connection limit (an openkes extension; route keys start with `/`). */
const MAX_CONNECTIONS = 'max_connections';

/** The values `api.max_connections` (and `kes server --max-connections`) accept. */
export const MAX_CONNECTIONS_RANGE = { min: 1, max: 1_000_000 } as const;

/** `api.max_connections`: an integer in {@link MAX_CONNECTIONS_RANGE}; undefined when not set. */
export function readMaxConnections(api: ConfigNode): number | undefined {
  return api.integer(MAX_CONNECTIONS, MAX_CONNECTIONS_RANGE.min, MAX_CONNECTIONS_RANGE.max);
}
