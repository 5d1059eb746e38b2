/**
 * THE route table (protocol.md §6, §7.1): one entry per endpoint with its method, body limit,
 * timeout, authentication and handler. `/v1/api` lists it, and config `api:` entries override
 * timeouts and `skip_auth`.
 */
import * as P from '../api/paths.js';
import { operationsOf } from '../api/operations.js';
import type { RouteConfig } from '../config/types.js';
import type { RequestContext } from './context.js';
import type { Reply } from './reply.js';
import * as key from './handlers/key.js';
import * as policy from './handlers/policy.js';
import * as identity from './handlers/identity.js';
import * as status from './handlers/status.js';
import * as log from './handlers/log.js';
import * as rotation from './handlers/rotation.js';
import * as db from './handlers/db.js';
import { kmsCommands } from './kms/dispatch.js';
import * as kms from './kms/endpoints.js';

/**
 * - `none`: no identity (only `/version`);
 * - `identify`: the identity if a usable certificate is present, never fails;
 * - `verify`: admin, or an identity whose policy allows the path; else 400/403.
 */
export type AuthMode = 'none' | 'identify' | 'verify';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

export type Handler = (ctx: RequestContext) => Promise<Reply | undefined> | Reply | undefined;

export interface Route {
  readonly method: Method;
  /** Further methods the route answers (its handler tells them apart), e.g. GET and PUT /v1/db. */
  readonly alsoAccepts?: readonly Method[];
  /** Exact path, or a subtree prefix ending in `/`. */
  readonly path: string;
  /** Largest accepted body in bytes (1 MB = 1,000,000 as in KES); 0 = the body is not read. */
  readonly maxBody: number;
  /** 0 = no timeout. */
  readonly timeoutMs: number;
  readonly auth: AuthMode;
  /** Counted in the request metrics (key, policy and identity routes, as in KES). */
  readonly metered: boolean;
  /** Listed by `/v1/api` (false for the legacy bulk decrypt). */
  readonly listed: boolean;
  readonly handler: Handler;
  /**
   * Canonical paths (route prefixes) of the operations the route performs besides its own
   * path (api/operations.ts): a policy must allow each of them, with the request's resource.
   */
  readonly operations: readonly string[];
}

const MB = 1_000_000;
const S = 1000;

const DEFAULT_ROUTES: readonly Omit<Route, 'operations'>[] = [
  { method: 'GET', path: P.PATH_VERSION, maxBody: 0, timeoutMs: 10 * S, auth: 'none', metered: false, listed: true, handler: status.version },
  { method: 'GET', path: P.PATH_READY, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: false, listed: true, handler: status.ready },
  { method: 'GET', path: P.PATH_STATUS, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: false, listed: true, handler: status.status },
  { method: 'GET', path: P.PATH_METRICS, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: false, listed: true, handler: status.metrics },
  { method: 'GET', path: P.PATH_API, maxBody: 0, timeoutMs: 10 * S, auth: 'verify', metered: false, listed: true, handler: status.listApis },

  { method: 'PUT', path: P.PATH_KEY_CREATE, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.createKey },
  { method: 'PUT', path: P.PATH_KEY_IMPORT, maxBody: MB, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.importKey },
  { method: 'GET', path: P.PATH_KEY_DESCRIBE, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.describeKey },
  { method: 'GET', path: P.PATH_KEY_LIST, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.listKeys },
  { method: 'DELETE', path: P.PATH_KEY_DELETE, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.deleteKey },
  { method: 'PUT', path: P.PATH_KEY_GENERATE, maxBody: MB, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.generateKey },
  { method: 'PUT', path: P.PATH_KEY_ENCRYPT, maxBody: MB, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.encrypt },
  { method: 'PUT', path: P.PATH_KEY_DECRYPT, maxBody: MB, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.decrypt },
  { method: 'PUT', path: P.PATH_KEY_HMAC, maxBody: MB, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: key.hmac },
  // Key rings (openkes): not listed by /v1/api, whose answer stays KES's.
  { method: 'PUT', path: P.PATH_KEY_ROTATE, maxBody: MB, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: false, handler: rotation.rotateKey },
  { method: 'PUT', path: P.PATH_KEY_DELETE_VERSION, maxBody: MB, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: false, handler: rotation.deleteVersion },
  { method: 'PUT', path: P.PATH_KEY_REWRAP, maxBody: MB, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: false, handler: rotation.rewrap },
  // Legacy: MiB limit (1 << 20) as in KES v0.19–v0.22.
  { method: 'POST', path: P.PATH_KEY_BULK_DECRYPT, maxBody: 1 << 20, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: false, handler: key.bulkDecrypt },

  { method: 'GET', path: P.PATH_POLICY_DESCRIBE, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: policy.describePolicy },
  { method: 'GET', path: P.PATH_POLICY_READ, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: policy.readPolicy },
  { method: 'GET', path: P.PATH_POLICY_LIST, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: policy.listPolicies },

  { method: 'GET', path: P.PATH_IDENTITY_DESCRIBE, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: identity.describeIdentity },
  { method: 'GET', path: P.PATH_IDENTITY_LIST, maxBody: 0, timeoutMs: 15 * S, auth: 'verify', metered: true, listed: true, handler: identity.listIdentities },
  { method: 'GET', path: P.PATH_IDENTITY_SELF_DESCRIBE, maxBody: 0, timeoutMs: 15 * S, auth: 'identify', metered: true, listed: true, handler: identity.selfDescribe },

  { method: 'GET', path: P.PATH_LOG_ERROR, maxBody: 0, timeoutMs: 0, auth: 'verify', metered: false, listed: true, handler: log.errorLog },
  { method: 'GET', path: P.PATH_LOG_AUDIT, maxBody: 0, timeoutMs: 0, auth: 'verify', metered: false, listed: true, handler: log.auditLog },

  // MinKMS (docs/minkms.md): not listed by /v1/api. The commands are authorized one by one
  // (server/access.ts), so the routes only identify the caller.
  { method: 'POST', path: P.PATH_KMS, maxBody: 4 * MB, timeoutMs: 15 * S, auth: 'identify', metered: true, listed: false, handler: kmsCommands },
  { method: 'POST', path: P.PATH_KMS_ENCLAVE, maxBody: 4 * MB, timeoutMs: 15 * S, auth: 'identify', metered: true, listed: false, handler: kmsCommands },
  { method: 'GET', path: P.PATH_HEALTH_LIVE, maxBody: 0, timeoutMs: 10 * S, auth: 'none', metered: false, listed: false, handler: kms.live },
  { method: 'GET', path: P.PATH_HEALTH_READY, maxBody: 0, timeoutMs: 15 * S, auth: 'none', metered: false, listed: false, handler: status.ready },
  { method: 'GET', alsoAccepts: ['PUT'], path: P.PATH_DB, maxBody: 1024 * MB, timeoutMs: 0, auth: 'identify', metered: false, listed: false, handler: db.db },
  { method: 'POST', path: P.PATH_DEBUG_LOG, maxBody: MB, timeoutMs: 0, auth: 'identify', metered: false, listed: false, handler: kms.debugLog },
  { method: 'POST', alsoAccepts: ['GET', 'DELETE'], path: P.PATH_DEBUG_PPROF, maxBody: 0, timeoutMs: 10 * S, auth: 'identify', metered: false, listed: false, handler: kms.notSupported('profiling', true) },
  { method: 'POST', path: P.PATH_DEBUG_RESTART, maxBody: 0, timeoutMs: 10 * S, auth: 'identify', metered: false, listed: false, handler: kms.notSupported('restart', true) },
  { method: 'POST', path: P.PATH_RPC, maxBody: 0, timeoutMs: 10 * S, auth: 'identify', metered: false, listed: false, handler: kms.notSupported('inter-node RPC') },
];

/** The route table with the config's `api:` overrides applied (`skip_auth` → identify only). */
export function buildRoutes(api: Readonly<Record<string, RouteConfig>> = {}): Route[] {
  return DEFAULT_ROUTES.map((r) => {
    const route: Route = { ...r, operations: operationsOf(r.path) };
    const o = api[r.path];
    if (!o) return route;
    return { ...route, timeoutMs: o.timeoutMs ?? r.timeoutMs, auth: o.skipAuth ? 'identify' : r.auth };
  });
}
