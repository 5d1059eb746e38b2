/** The key stores of openkes itself (not in KES): `etcd` and `postgres`. */
import { compact, type ConfigNode } from './config-node.js';
import { readClientTls } from './client-tls-config.js';
import type { KeyStoreConfig } from './types.js';

/** Prefix of the etcd keys holding KES keys when `prefix` is not set. */
export const DEFAULT_ETCD_PREFIX = 'kes/keys/';
/** The PostgreSQL table holding the keys when `table` is not set. */
export const DEFAULT_POSTGRES_TABLE = 'kes_keys';

/** A plain, unquoted SQL identifier as PostgreSQL accepts it (at most 63 bytes). */
const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * `etcd`: `endpoints` is required, as a list or as one comma-separated string (so that a
 * single `${NAME}` can hold them all); `prefix` defaults to DEFAULT_ETCD_PREFIX. `timeout`
 * bounds every store call (0 or absent: the store's default).
 */
export function readEtcdConfig(etcd: ConfigNode): KeyStoreConfig {
  const node = etcd.at('endpoints');
  const list = node.isSeq ? etcd.strings('endpoints') : node.isNull ? [] : node.text().split(',');
  const endpoints = list.map((endpoint) => endpoint.trim()).filter((endpoint) => endpoint !== '');
  if (endpoints.length === 0) node.fail('required: at least one etcd endpoint');
  return compact({
    type: 'etcd' as const,
    endpoints,
    prefix: etcd.string('prefix') ?? DEFAULT_ETCD_PREFIX,
    username: etcd.optional('username'),
    password: etcd.optional('password'),
    tls: readClientTls(etcd),
    timeoutMs: etcd.duration('timeout') || undefined,
  });
}

/**
 * `postgres`: either `url` (postgres:// or postgresql://) or `host` (+ port, user, password,
 * database); `table` defaults to DEFAULT_POSTGRES_TABLE and must be a plain SQL identifier.
 * `timeout` bounds every store call (0 or absent: the store's default).
 */
export function readPostgresConfig(pg: ConfigNode): KeyStoreConfig {
  const url = pg.optional('url');
  const host = pg.optional('host');
  if (url === undefined && host === undefined) pg.fail('either url or host is required');
  if (url !== undefined && host !== undefined) pg.fail('url and host are mutually exclusive: specify only one');
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) pg.at('url').fail('must be a postgres:// or postgresql:// URL');
  const table = pg.optional('table') ?? DEFAULT_POSTGRES_TABLE;
  if (!SQL_IDENTIFIER.test(table)) pg.at('table').fail(`${JSON.stringify(table)} is not a plain SQL identifier (letters, digits and _, not starting with a digit, at most 63)`);
  return compact({
    type: 'postgres' as const,
    url,
    host,
    port: pg.integer('port', 1, 65535),
    user: pg.optional('user'),
    password: pg.optional('password'),
    database: pg.optional('database'),
    table,
    tls: readClientTls(pg),
    timeoutMs: pg.duration('timeout') || undefined,
  });
}
