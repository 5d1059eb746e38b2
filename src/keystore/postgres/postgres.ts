/**
 * The PostgreSQL key store (`keystore.postgres`, an openkes addition): one row per key in one
 * table, shared by any number of servers.
 *
 * - create: `INSERT ... ON CONFLICT (name) DO NOTHING`; no row inserted → KES_ERR_KEY_EXISTS.
 *   The primary key makes it atomic and create-only across servers: nothing is overwritten.
 * - get: the row's value; no row → KES_ERR_KEY_NOT_FOUND.
 * - delete: `DELETE`; no row deleted → KES_ERR_KEY_NOT_FOUND.
 * - list: keyset paging over the primary key (`name >= prefix AND name < end-of-prefix`, then
 *   `name > last`), one bounded statement per page; the names sort by bytes (collation "C").
 * - status: `SELECT 1` and its round-trip time.
 * - watch: every write NOTIFYs the table's channel with the name; a server LISTENs on its own
 *   connection (listen.ts), so that it hears of other servers' writes.
 *
 * Connections come from a `pg.Pool`: a connection the server closes (restart, failover) is
 * dropped, and the next call opens a new one, so the store recovers by itself. Every call is
 * bounded by `timeoutMs`; a call that cannot connect, loses its connection or runs out of time
 * fails with KeyStoreUnreachableError. `timeoutMs` is the config's `timeout` unless the options
 * give one (default 10 s). The pg driver is loaded when a store connects.
 */
import type { Pool, PoolConfig, QueryResult, QueryResultRow } from 'pg';
import { KesError } from '../../api/errors.js';
import { KeyStoreConflictError, KeyStoreUnreachableError, type KeyStore, type KeyStoreChanges, type KeyStoreState } from '../keystore.js';
import { listenForChanges, type ClientClass } from './listen.js';
import { sqlState, storeError } from './errors.js';
import { DEFAULT_TIMEOUT_MS, describeTarget, poolConfig, type PostgresKeyStoreConfig, type PostgresPoolOptions } from './pool-config.js';
import { prefixEnd, tableProblem, tableSql, type ColumnInfo, type TableSql } from './table.js';

export type { PostgresKeyStoreConfig, PostgresPoolOptions } from './pool-config.js';

/** Tuning of the store; the defaults suit production. */
export interface PostgresKeyStoreOptions extends PostgresPoolOptions {
  /** Names fetched per listing statement; memory is bounded by it (default 1,000). */
  pageSize?: number;
}

// Names PostgreSQL text cannot hold: NUL, and lone surrogates (UTF-8 has no encoding for them).
const UNSTORABLE = /\0|\p{Cs}/u;

/**
 * A key store in a PostgreSQL table; open it with {@link PostgresKeyStore.connect}.
 * @example
 * const store = await PostgresKeyStore.connect({ type: 'postgres', url: 'postgres://kes@db.internal/kes', table: 'kes_keys' });
 */
export class PostgresKeyStore implements KeyStore {
  private readonly timeoutMs: number;
  private readonly pageSize: number;

  private constructor(
    private readonly pool: Pool,
    private readonly sql: TableSql,
    /** Where the store connects (`host:port/database`), for messages. */
    readonly target: string,
    options: PostgresKeyStoreOptions,
    /** How to open the LISTEN connection of {@link watch}. */
    private readonly listenVia: { Client: ClientClass; config: PoolConfig },
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.pageSize = Math.max(1, Math.floor(options.pageSize ?? 1_000));
  }

  /**
   * Connects to the database and makes sure the table is there: it is created when missing
   * (which needs the CREATE privilege on the schema); an existing table is checked to have the
   * columns the store needs.
   * @throws KeyStoreUnreachableError when the database cannot be reached
   * @throws Error when TLS files cannot be read, the login fails, or the table is unusable
   */
  static async connect(config: PostgresKeyStoreConfig, options: PostgresKeyStoreOptions = {}): Promise<PostgresKeyStore> {
    const sql = tableSql(config.table);
    options = { ...options, timeoutMs: options.timeoutMs ?? config.timeoutMs ?? DEFAULT_TIMEOUT_MS };
    const pgConfig = await poolConfig(config, options);
    const { Pool, Client } = await import('pg');
    const pool = new Pool(pgConfig);
    // A pooled connection that fails while idle (e.g. the server restarts) is dropped by the
    // pool; without a listener the 'error' event would end the process.
    pool.on('error', () => undefined);
    const store = new PostgresKeyStore(pool, sql, describeTarget(config), options, { Client, config: pgConfig });
    try {
      await store.prepareTable();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  async status(): Promise<KeyStoreState> {
    const start = performance.now();
    await this.query('failed to check status', 'SELECT 1');
    return { latencyMs: performance.now() - start };
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    const what = `failed to create '${name}'`;
    if (UNSTORABLE.test(name)) throw new Error(`postgres: ${what}: the name contains a character PostgreSQL text cannot hold`);
    const result = await this.query(what, this.sql.insert, [name, Buffer.from(value)]);
    if (result.rowCount === 0) throw new KesError('KES_ERR_KEY_EXISTS');
  }

  async get(name: string): Promise<Uint8Array> {
    if (UNSTORABLE.test(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const result = await this.query<{ value: Buffer }>(`failed to get '${name}'`, this.sql.select, [name]);
    const row = result.rows[0];
    if (!row) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    return row.value;
  }

  async replace(name: string, expected: Uint8Array, value: Uint8Array): Promise<void> {
    if (UNSTORABLE.test(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const result = await this.query(`failed to replace '${name}'`, this.sql.update, [name, Buffer.from(expected), Buffer.from(value)]);
    if (result.rowCount !== 0) return;
    await this.get(name); // KES_ERR_KEY_NOT_FOUND when the entry is gone
    throw new KeyStoreConflictError(`postgres: '${name}' was changed by another writer`);
  }

  async delete(name: string): Promise<void> {
    if (UNSTORABLE.test(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const result = await this.query(`failed to delete '${name}'`, this.sql.delete, [name]);
    if (result.rowCount === 0) throw new KesError('KES_ERR_KEY_NOT_FOUND');
  }

  /** The names starting with prefix in byte order, fetched pageSize names per statement. */
  async *list(prefix: string, start = ''): AsyncIterable<string> {
    if (UNSTORABLE.test(prefix)) return; // no stored name can start with it
    const what = `failed to list '${prefix}'`;
    const end = prefixEnd(prefix);
    let from = start.startsWith(prefix) && !UNSTORABLE.test(start) ? start : prefix;
    let exclusive = false;
    for (;;) {
      const params: unknown[] = end === undefined ? [from, this.pageSize] : [from, this.pageSize, end];
      const { rows } = await this.query<{ name: string }>(what, this.sql.list(exclusive, end !== undefined), params);
      for (const row of rows) yield row.name;
      const last = rows[rows.length - 1];
      if (rows.length < this.pageSize || !last) return;
      from = last.name;
      exclusive = true;
    }
  }

  /** Notifies every write, by any server using the table (LISTEN/NOTIFY: listen.ts). */
  watch(listener: KeyStoreChanges): () => void {
    return listenForChanges(this.listenVia.Client, this.listenVia.config, this.sql.channel, this.timeoutMs, listener);
  }

  /** Closes the pool's connections (waiting for running statements); closing again does nothing. */
  async close(): Promise<void> {
    if (!this.pool.ending) await this.pool.end();
  }

  /** Checks the connection, creates the table when it is missing, then checks its columns. */
  private async prepareTable(): Promise<void> {
    await this.query(`cannot connect to ${this.target}`, 'SELECT 1');
    const what = `cannot use table ${this.sql.ident} in ${this.target}`;
    let columns = await this.columns(what);
    if (columns.length === 0) {
      try {
        await this.query(what, this.sql.create);
      } catch (err) {
        // Servers starting together race: the losers see the winner's table, or its row type,
        // as a duplicate (unique_violation, duplicate_table or duplicate_object).
        const state = sqlState((err as Error).cause);
        if (state !== '23505' && state !== '42P07' && state !== '42710') throw err;
      }
      columns = await this.columns(what);
    }
    const problem = tableProblem(columns);
    if (problem) throw new Error(`postgres: ${what}: ${problem}`);
  }

  private async columns(what: string): Promise<ColumnInfo[]> {
    return (await this.query<ColumnInfo>(what, this.sql.columns, [this.sql.ident])).rows;
  }

  /**
   * Runs one statement on a pooled connection, bounded by timeoutMs as a whole (waiting for a
   * connection included). pg's own time-outs end the connection attempt or statement too.
   */
  private async query<R extends QueryResultRow = QueryResultRow>(what: string, text: string, values?: unknown[]): Promise<QueryResult<R>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KeyStoreUnreachableError(`postgres: ${what}: no answer from ${this.target} within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([this.pool.query<R>(text, values), timeout]);
    } catch (err) {
      throw storeError(what, err);
    } finally {
      clearTimeout(timer);
    }
  }
}
