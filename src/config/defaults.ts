/** Config defaults (protocol.md §13, §20) and a builder for configs made in code. */
import { DEFAULT_ADDRESS } from './address.js';
import { LOG_INFO, LOG_OFF, type CacheConfig, type LogConfig, type ServerConfig } from './types.js';

/** Cache expiries used for missing (or 0) values (protocol.md §20.7: not KES HEAD's 30 s bug). */
export const DEFAULT_CACHE: Readonly<CacheConfig> = Object.freeze({ any: 5 * 60_000, unused: 30_000, offline: 0 });

/** Error log at INFO; the stdout audit log off (protocol.md §20.18). */
export const DEFAULT_LOG: Readonly<LogConfig> = Object.freeze({ error: LOG_INFO, audit: LOG_OFF });

/** A complete config from its required parts, everything else at its default. */
export function serverConfig(required: Pick<ServerConfig, 'admin' | 'tls' | 'keystore'> & Partial<ServerConfig>): ServerConfig {
  return {
    address: DEFAULT_ADDRESS,
    api: {},
    policies: {},
    cache: { ...DEFAULT_CACHE },
    log: { ...DEFAULT_LOG },
    keys: [],
    ...required,
  };
}
