/**
 * The defaults and time-outs of the server, in one place (protocol.md §13, §20). Defaults that
 * belong to one key store (its key prefix, table name, ping interval) are in that store's
 * `config.ts`. Each default is applied once, where the config is read, or by the function here
 * that code building a config itself uses.
 */
import { LOG_INFO, LOG_OFF, type CacheConfig, type LogConfig, type ServerConfig } from './types.js';

/** The listen address when the config names none. */
export const DEFAULT_ADDRESS = '0.0.0.0:7373';

/** Cache expiries used for missing (or 0) values (protocol.md §20.7: not KES HEAD's 30 s bug). */
export const DEFAULT_CACHE: Readonly<CacheConfig> = Object.freeze({ any: 5 * 60_000, unused: 30_000, offline: 0 });

/** Error log at INFO; the stdout audit log off (protocol.md §20.18). */
export const DEFAULT_LOG: Readonly<LogConfig> = Object.freeze({ error: LOG_INFO, audit: LOG_OFF });

const MiB = 1024 * 1024;

/** `log.audit_file`: rotate at 100 MiB; a signed checkpoint every 1,000 records or minute. */
export const DEFAULT_AUDIT_FILE = Object.freeze({ maxSize: 100 * MiB, checkpointEvery: 1000, checkpointIntervalMs: 60_000 });

/** `api.max_connections`: open connections per server process beyond which new ones are closed. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/** How often the TLS certificates are re-read from the config's files (protocol.md §14). */
export const TLS_REFRESH_MS = 15 * 60_000;

/** `tls.ticket_lifetime`: how long a TLS session may be resumed. */
export const DEFAULT_TICKET_LIFETIME_MS = 5 * 60_000;

/** The bound of every key store call when the store's config sets no `timeout`. */
export const DEFAULT_STORE_TIMEOUT_MS = 10_000;

/** How often the key cache probes the store's status (offline detection). */
export const STORE_STATUS_INTERVAL_MS = 10_000;

/** The cache expiries for a partial set: each missing or 0 value gets its default. */
export function cacheExpiry(expiry: Partial<CacheConfig> = {}): CacheConfig {
  return { any: expiry.any || DEFAULT_CACHE.any, unused: expiry.unused || DEFAULT_CACHE.unused, offline: expiry.offline || DEFAULT_CACHE.offline };
}

/** A complete config from its required parts, everything else at its default. */
export function serverConfig(required: Pick<ServerConfig, 'admin' | 'tls' | 'keystore'> & Partial<ServerConfig>): ServerConfig {
  return {
    address: DEFAULT_ADDRESS,
    api: {},
    policies: {},
    cache: { ...DEFAULT_CACHE },
    log: { ...DEFAULT_LOG },
    rotation: [],
    keys: [],
    ...required,
  };
}
