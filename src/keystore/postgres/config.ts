/** `keystore.postgres` (an openkes addition): the database and the table holding the keys. */
import { compact, type ConfigNode } from '../../config/config-node.js';
import { readClientTls, type ClientTlsConfig } from '../../config/client-tls-config.js';

/** The PostgreSQL table holding the keys when `table` is not set. */
export const DEFAULT_POSTGRES_TABLE = 'kes_keys';

/** A plain, unquoted SQL identifier as PostgreSQL accepts it (at most 63 bytes). */
const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The parsed `keystore.postgres` section: `url`, or `host` with the fields after it. */
export interface PostgresKeyStoreConfig {
  type: 'postgres';
  url?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  table: string;
  tls?: ClientTlsConfig;
  /** `timeout`: the bound of every store call; the store's default (10 s) when absent. */
  timeoutMs?: number;
}

/**
 * `postgres`: either `url` (postgres:// or postgresql://) or `host` (+ port, user, password,
 * database); `table` defaults to DEFAULT_POSTGRES_TABLE and must be a plain SQL identifier.
 * `timeout` bounds every store call (0 or absent: the store's default).
 */
export function readPostgresConfig(pg: ConfigNode): PostgresKeyStoreConfig {
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
