/**
 * The `pg.Pool` settings for a `keystore.postgres` config section: where to connect, TLS, and
 * the time-outs that bound every call.
 */
import type { ConnectionOptions } from 'node:tls';
import type { PoolConfig } from 'pg';
import { readCaBundle, readTlsFile, withSystemRoots } from '../../pki/tls-files.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';

/** The parsed `keystore.postgres` section. */
export type { PostgresKeyStoreConfig } from './config.js';
import type { PostgresKeyStoreConfig } from './config.js';

/** Connection tuning; the defaults suit production. */
export interface PostgresPoolOptions {
  /**
   * Bound of every call, waiting for a pooled connection or opening one included (default: the
   * config's `timeout`, else 10 s). The server gets a slightly shorter `statement_timeout` (see
   * {@link statementTimeout}).
   */
  timeoutMs?: number;
  /** Most connections the pool keeps open (default 10). */
  poolSize?: number;
  /** An idle connection is closed after this long (default 30 s). */
  idleTimeoutMs?: number;
}

/** The default bound of every call, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = DEFAULT_STORE_TIMEOUT_MS;

/**
 * The server-side `statement_timeout` for a call bound: up to a second (a quarter of short
 * bounds) less, so that a statement that runs out of time is normally cancelled, and rolled
 * back, by the server before the client gives up on it, rather than left running.
 */
export function statementTimeout(timeoutMs: number): number {
  return Math.max(1, Math.round(timeoutMs - Math.min(1_000, timeoutMs / 4)));
}

// TLS settings a connection URL can carry (pg reads them, and they replace `ssl` as a whole).
const URL_TLS_PARAMS = /[?&](ssl|sslmode|sslcert|sslkey|sslrootcert)=/i;

/**
 * The pool settings for config. With `url`, the URL's own parameters apply as pg reads them;
 * with `host`, unset fields fall back to pg's defaults (PGUSER, PGPASSWORD, ... and port 5432).
 * TLS is used when `tls` is set: the server certificate is verified against `tls.ca` (a file or
 * a directory of PEM files, added to the system roots) and `tls.cert`/`tls.key` are presented.
 * @throws Error when a TLS file cannot be read or TLS is set both in the URL and in `tls`
 */
export async function poolConfig(config: PostgresKeyStoreConfig, options: PostgresPoolOptions = {}): Promise<PoolConfig> {
  const timeoutMs = options.timeoutMs ?? config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pool: PoolConfig = {
    max: options.poolSize ?? 10,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: statementTimeout(timeoutMs),
    query_timeout: timeoutMs,
    keepAlive: true,
    application_name: 'openkes',
  };
  if (config.url !== undefined) {
    if (config.tls && URL_TLS_PARAMS.test(config.url)) {
      throw new Error('postgres: TLS is configured both in the url (ssl, sslmode, sslcert, sslkey or sslrootcert) and in tls: use only one');
    }
    if (/[/?#@]/.test(userInfo(config.url))) {
      // pg would split such a url elsewhere, and its errors could then quote part of the password.
      throw new Error('postgres: invalid url: the user name or password holds @, /, ? or # unencoded (percent-encode them)');
    }
    pool.connectionString = config.url;
  } else {
    if (config.host !== undefined) pool.host = config.host;
    if (config.port !== undefined) pool.port = config.port;
    if (config.user !== undefined) pool.user = config.user;
    if (config.password !== undefined) pool.password = config.password;
    if (config.database !== undefined) pool.database = config.database;
  }
  if (config.tls) pool.ssl = await tlsOptions(config.tls);
  return pool;
}

/**
 * Where the store connects, for messages: `host:port/database`, without user or password.
 * Unset parts are left out.
 */
export function describeTarget(config: PostgresKeyStoreConfig): string {
  if (config.url !== undefined) {
    // scheme://[userinfo@]host[:port][/database][?params]: keep host, port and database.
    const rest = afterScheme(config.url).slice(userInfo(config.url).length).replace(/^@/, '').replace(/[?#].*$/, '');
    const slash = rest.indexOf('/');
    const host = slash < 0 ? rest : rest.slice(0, slash);
    return `${decode(host) || 'localhost'}${slash < 0 ? '' : decode(rest.slice(slash))}`;
  }
  return `${config.host ?? 'localhost'}${config.port !== undefined ? `:${config.port}` : ''}${config.database !== undefined ? `/${config.database}` : ''}`;
}

function afterScheme(url: string): string {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
}

/**
 * The `user:password` part of a url, up to the last `@` before the query: a password holding
 * an unencoded `@` or `/` still counts as userinfo here, so that it is never shown.
 */
function userInfo(url: string): string {
  const beforeQuery = afterScheme(url).replace(/\?.*$/, '');
  const at = beforeQuery.lastIndexOf('@');
  return at < 0 ? '' : beforeQuery.slice(0, at);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

async function tlsOptions(tls: NonNullable<PostgresKeyStoreConfig['tls']>): Promise<ConnectionOptions> {
  const options: ConnectionOptions = { rejectUnauthorized: true };
  if (tls.caPath !== undefined) options.ca = withSystemRoots(readCaBundle(tls.caPath, 'postgres'));
  if (tls.certFile !== undefined) options.cert = readTlsFile(tls.certFile, 'client certificate', 'postgres');
  if (tls.keyFile !== undefined) options.key = readTlsFile(tls.keyFile, 'client private key', 'postgres');
  return options;
}
