/**
 * The server configuration, as parsed from a KES config file (protocol.md §13, §20) or
 * built for dev mode. Durations are milliseconds; log levels use slog's numbering.
 */

/** slog levels: DEBUG -4, INFO 0, WARN 4, ERROR 8; LOG_OFF silences a log. */
export const LOG_DEBUG = -4;
export const LOG_INFO = 0;
export const LOG_WARN = 4;
export const LOG_ERROR = 8;
export const LOG_OFF = LOG_ERROR + 1;

export interface TlsConfig {
  /** Path of the PEM private key (may also hold certificates; the first private key wins). */
  keyFile: string;
  /** Path of the PEM certificate chain (CERTIFICATE blocks only). */
  certFile: string;
  /** Password of a legacy RFC 1423 encrypted PEM private key. */
  password?: string;
  /** `off` (default): any client certificate; `on`: verified against the CAs. */
  auth: 'on' | 'off';
  /** A PEM file or a directory of PEM files with extra CA certificates. */
  caPath?: string;
  /**
   * `tls.ticket_lifetime` (openkes extension): how long a TLS session may be resumed, and how
   * often the session ticket keys rotate; 0 turns resumption off. Absent: 5 minutes.
   */
  ticketLifetimeMs?: number;
  /** TLS-terminating proxies allowed to forward client certificates (protocol.md §2.5). */
  proxy?: {
    identities: string[];
    /** Header carrying the URL-escaped PEM client certificate (default X-Tls-Client-Cert). */
    certHeader: string;
  };
}

/** Per-route overrides from the `api:` section, keyed by the exact route path. */
export interface RouteConfig {
  skipAuth: boolean;
  /** Overrides the route's default timeout when set (> 0). */
  timeoutMs?: number;
}

export interface PolicyConfigEntry {
  allow: string[];
  deny: string[];
  identities: string[];
}

export interface CacheConfig {
  any: number;
  unused: number;
  offline: number;
}

export interface LogConfig {
  /** Threshold of the error log (default INFO). */
  error: number;
  /** Threshold of the stdout audit log (default off, protocol.md §20.18). */
  audit: number;
  /** The tamper-evident audit file (openkes, docs/audit-log.md); absent when off. */
  auditFile?: AuditFileConfig;
}

/** `log.audit_file`: every audit event, hash-chained, with signed checkpoints (docs/audit-log.md). */
export interface AuditFileConfig {
  path: string;
  /** Rotate before the file grows beyond this many bytes (default 100 MiB). */
  maxSize: number;
  /** A checkpoint after this many records (default 1000). */
  checkpointEvery: number;
  /** A checkpoint this long after the first record not covered by one; 0 = off (default 1 min). */
  checkpointIntervalMs: number;
}

import type { BackupKey } from '../backup/backup-key.js';

/** `backup:` (openkes, docs/backup.md): the key of the key store's snapshots (`/v1/db`). */
export interface BackupConfig {
  /** Encrypts snapshots and authenticates restores; never logged or shown. */
  key: BackupKey;
}

/** The key store section: exactly one backend's (keystore/registry.ts). */
export type { KeyStoreConfig } from '../keystore/registry.js';
import type { KeyStoreConfig } from '../keystore/registry.js';

/** One `rotation:` entry: the keys (a name, or a prefix ending in `*`) and the period. */
export interface RotationRule {
  pattern: string;
  everyMs: number;
}

export interface ServerConfig {
  /** host:port; the host must be an IP literal or empty. Default 0.0.0.0:7373. */
  address: string;
  /** The admin identity; any non-identity value (e.g. `disabled`) disables the admin. */
  admin: string;
  tls: TlsConfig;
  api: Record<string, RouteConfig>;
  policies: Record<string, PolicyConfigEntry>;
  cache: CacheConfig;
  log: LogConfig;
  /** Keys created at start and on reload (declarative `keys:`). */
  keys: string[];
  /**
   * Automatic rotation (`rotation:`, openkes, docs/key-rings.md): keys matching a pattern get a
   * new version once their latest is older than `everyMs`.
   */
  rotation: RotationRule[];
  /**
   * `api.max_connections` (openkes extension): open connections per server process beyond
   * which new ones are closed at once. Absent: the server's default (10,000).
   */
  maxConnections?: number;
  /**
   * `backup:` (openkes, docs/backup.md): absent, `/v1/db` answers that backup is not
   * configured. A cluster's primary must hand the key to its workers itself: it does not
   * survive JSON (see BackupKey).
   */
  backup?: BackupConfig;
  keystore: KeyStoreConfig;
}
