/**
 * Server state: everything a request needs, built from one config and replaced whole on reload
 * (in-flight requests finish with the state they started with). Process-wide parts that
 * survive reloads (metrics, log subscribers, build info) live in the {@link Runtime}.
 */
import type { Writable } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import type { TrustStore } from '../pki/trust.js';
import { PolicySet } from '../policy/policy-set.js';
import { KeyCache, type ReplicaLink } from '../keystore/cache.js';
import type { KeeperLog } from '../keystore/cache-keeper.js';
import { connectKeyStore } from '../keystore/registry.js';
import { isKesError } from '../api/errors.js';
import { SecretKey } from '../crypto/secret-key.js';
import { HmacKey } from '../crypto/hmac-key.js';
import { encodeKeyVersion } from '../crypto/key-version.js';
import type { KeyType } from '../crypto/key-type.js';
import { Timestamp } from '../util/time.js';
import { ErrorLog, type ErrorEvent } from '../log/error-log.js';
import { AuditLog, type AuditEvent } from '../log/audit-log.js';
import type { EventHub } from '../log/event-hub.js';
import type { Metrics, MetricsSnapshot } from '../metrics/metrics.js';
import type { BuildInfo } from '../util/build-info.js';
import { buildRoutes, type Route } from './routes.js';
import { Router } from './router.js';
import { Enclaves } from '../enclaves/enclaves.js';

/** Process-wide parts shared by every state. */
export interface Runtime {
  readonly build: BuildInfo;
  /** Process start (UTC). */
  readonly startTime: Timestamp;
  readonly metrics: Metrics;
  readonly errorHub: EventHub<ErrorEvent>;
  readonly auditHub: EventHub<AuditEvent>;
  /** Server processes serving the port (`num_cpu_used`). */
  readonly workers: number;
  /** Threads used (libuv pool + workers), reported as `kes_system_num_threads`. */
  readonly threads: number;
  /** The metrics of every worker, summed. */
  metricsSnapshot(): Promise<MetricsSnapshot>;
  /**
   * A cluster worker's link to the key cache keeper in the primary; absent for a server that is
   * one process (its cache keeps itself).
   */
  readonly cacheLink?: ReplicaLink;
  readonly stdout: Writable | null;
  readonly stderr: Writable | null;
}

/** TLS proxies allowed to forward client certificates (protocol.md §2.5). */
export interface ProxySettings {
  identities: ReadonlySet<string>;
  /** Lower-case header name. */
  header: string;
  /** Verify forwarded certificates against these CAs (tls.auth: on). */
  verifyWith?: TrustStore;
}

export interface ServerState {
  readonly runtime: Runtime;
  readonly config: ServerConfig;
  readonly admin: string;
  readonly policies: PolicySet;
  readonly cache: KeyCache;
  /** MinKMS's enclaves, runtime policies and identities, in the key store. */
  readonly enclaves: Enclaves;
  readonly routes: readonly Route[];
  readonly router: Router<Route>;
  readonly errorLog: ErrorLog;
  readonly auditLog: AuditLog;
  /** The type of newly created keys (always AES256, protocol.md §20.14). */
  readonly keyType: KeyType;
  /** `created_at` of policies and identities: the server start in the local time zone. */
  readonly createdAt: string;
  readonly proxy?: ProxySettings;
  /** True when some route is configured with `skip_auth`: client certificates become optional. */
  readonly clientCertOptional: boolean;
}

/**
 * Builds the state for a config: connects the key store, compiles policies and routes, and
 * creates the declarative keys (`keys:`; existing ones are kept).
 */
export async function buildState(config: ServerConfig, runtime: Runtime, proxy?: ProxySettings): Promise<ServerState> {
  const policies = new PolicySet(config.policies);
  const store = await connectKeyStore(config.keystore);
  const errorLog = new ErrorLog(config.log.error, runtime.stderr, runtime.errorHub);
  const counters = runtime.metrics;
  const cache = new KeyCache(store, runtime.cacheLink ? { link: runtime.cacheLink, counters } : { expiry: config.cache, log: keeperLog(errorLog), counters });
  runtime.metrics.cacheSize = () => cache.size;
  const routes = buildRoutes(config.api);
  const start = runtime.startTime;
  const state: ServerState = {
    runtime,
    config,
    admin: config.admin,
    policies,
    cache,
    enclaves: new Enclaves(cache, start),
    routes,
    router: new Router(routes),
    errorLog,
    auditLog: new AuditLog(config.log.audit, runtime.stdout, runtime.auditHub),
    keyType: 'AES256',
    createdAt: start.withOffset(-new Date(start.toMillis()).getTimezoneOffset() * 60).toString(),
    proxy,
    clientCertOptional: Object.values(config.api).some((r) => r.skipAuth),
  };
  try {
    await createDeclaredKeys(state);
  } catch (err) {
    await closeState(state);
    throw err;
  }
  return state;
}

/** The key cache keeper's reports in the error log. */
export function keeperLog(log: ErrorLog): KeeperLog {
  return { info: (message) => log.info(message), warn: (message) => log.warn(message) };
}

async function createDeclaredKeys(state: ServerState): Promise<void> {
  for (const name of state.config.keys) {
    const entry = encodeKeyVersion({
      key: SecretKey.generate(state.keyType),
      hmacKey: HmacKey.generate(),
      createdAt: Timestamp.now(),
      createdBy: state.admin,
    });
    try {
      await state.cache.create(name, entry);
    } catch (err) {
      if (!isKesError(err, 'KES_ERR_KEY_EXISTS')) throw new Error(`failed to create key '${name}': ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Stops the state's background tasks and closes its key store. */
export async function closeState(state: ServerState): Promise<void> {
  state.cache.close();
  await state.cache.store.close();
}
