/** The console API's one route table (types and paths in api-types.ts). */
import type { ApiRoute } from './router.js';
import * as access from './handlers/access.js';
import * as keys from './handlers/keys.js';
import * as live from './handlers/live.js';
import * as session from './handlers/session.js';
import { status } from './handlers/status.js';

export const CONSOLE_ROUTES: readonly ApiRoute[] = [
  { method: 'POST', path: '/api/login', handler: session.login, public: true },
  { method: 'GET', path: '/api/session', handler: session.current, public: true },
  { method: 'POST', path: '/api/logout', handler: session.logout },

  { method: 'GET', path: '/api/keys', handler: keys.list },
  { method: 'POST', path: '/api/keys', handler: keys.create, created: true },
  { method: 'GET', path: '/api/keys/:name', handler: keys.describe },
  { method: 'DELETE', path: '/api/keys/:name', handler: keys.remove },
  { method: 'POST', path: '/api/keys/:name/rotate', handler: keys.rotate },
  { method: 'DELETE', path: '/api/keys/:name/versions/:version', handler: keys.retire },

  { method: 'GET', path: '/api/access', handler: access.overview },
  { method: 'GET', path: '/api/enclaves/:enclave/access', handler: access.runtime },
  { method: 'PUT', path: '/api/enclaves/:enclave/policies/:name', handler: access.putPolicy },
  { method: 'DELETE', path: '/api/enclaves/:enclave/policies/:name', handler: access.deletePolicy },
  { method: 'PUT', path: '/api/enclaves/:enclave/identities/:identity', handler: access.putIdentity },
  { method: 'DELETE', path: '/api/enclaves/:enclave/identities/:identity', handler: access.deleteIdentity },

  { method: 'GET', path: '/api/status', handler: status },
  { method: 'GET', path: '/api/metrics', handler: live.metrics },
  { method: 'GET', path: '/api/audit', handler: live.audit, stream: true },
];
