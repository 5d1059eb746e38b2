/**
 * The table holding the keys, and the SQL the store sends. Table:
 *
 *   name       TEXT COLLATE "C" PRIMARY KEY   -- the key name; "C" orders by UTF-8 bytes
 *   value      BYTEA NOT NULL                 -- the stored entry, verbatim
 *   created_at TIMESTAMPTZ NOT NULL DEFAULT now()
 *
 * Every value travels as a statement parameter; the only text put into SQL is the table name,
 * a plain identifier (checked by the config parser and again here) that is quoted, and used,
 * lower-cased, as the NOTIFY channel of the writes.
 */

/** SQL statements for one table. */
export interface TableSql {
  /** The quoted table name, e.g. `"kes_keys"`. */
  readonly ident: string;
  /** The NOTIFY channel of the table's writes: the table name, lower-cased. */
  readonly channel: string;
  readonly create: string;
  readonly insert: string;
  readonly select: string;
  /** Compare-and-swap: $1 name, $2 the value expected, $3 the new value. */
  readonly update: string;
  readonly delete: string;
  readonly columns: string;
  /** A page of names: $1 the lowest name (inclusive or exclusive), $2 the page size, $3 the end. */
  list(exclusive: boolean, bounded: boolean): string;
}

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The statements for the table called name. A plain identifier is case-insensitive in SQL, so
 * it is lower-cased (as PostgreSQL folds unquoted names), then quoted (so that words such as
 * `user` work too).
 * @throws Error when name is not a plain identifier
 */
export function tableSql(name: string): TableSql {
  if (!PLAIN_IDENTIFIER.test(name)) throw new Error(`postgres: table name ${JSON.stringify(name)} is not a plain SQL identifier`);
  const channel = name.toLowerCase();
  const t = `"${channel}"`;
  return {
    ident: t,
    create: `CREATE TABLE IF NOT EXISTS ${t} (name TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    // Writes notify the table's channel with the name (listen.ts), delivered when they commit.
    channel,
    insert: `WITH written AS (INSERT INTO ${t} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name) SELECT pg_notify('${channel}', name) FROM written`,
    select: `SELECT value FROM ${t} WHERE name = $1`,
    // Under READ COMMITTED a concurrent update of the row waits, then re-checks the WHERE
    // against the committed value: of concurrent swaps from one value exactly one matches.
    update: `WITH written AS (UPDATE ${t} SET value = $3 WHERE name = $1 AND value = $2 RETURNING name) SELECT pg_notify('${channel}', name) FROM written`,
    delete: `WITH removed AS (DELETE FROM ${t} WHERE name = $1 RETURNING name) SELECT pg_notify('${channel}', name) FROM removed`,
    // Columns of the table as found (to_regclass: NULL when there is none): type, collation,
    // and whether a plain unique index covers exactly this column.
    columns: `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, c.collname AS collation,
        EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique AND i.indnkeyatts = 1
                AND i.indkey[0] = a.attnum AND i.indpred IS NULL AND i.indexprs IS NULL) AS "unique"
      FROM pg_attribute a LEFT JOIN pg_collation c ON c.oid = a.attcollation
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    list: (exclusive, bounded) =>
      `SELECT name FROM ${t} WHERE name ${exclusive ? '>' : '>='} $1${bounded ? ' AND name < $3' : ''} ORDER BY name LIMIT $2`,
  };
}

/** One column as {@link TableSql.columns} returns it. */
export interface ColumnInfo {
  name: string;
  type: string;
  collation: string | null;
  unique: boolean;
}

/**
 * What is wrong with a table for the store, or undefined when it fits: `name` must be text
 * ordered by bytes (collation "C" or "POSIX") with a unique index, `value` must be bytea.
 */
export function tableProblem(columns: readonly ColumnInfo[]): string | undefined {
  const name = columns.find((c) => c.name === 'name');
  const value = columns.find((c) => c.name === 'value');
  if (!name || !value) return 'it needs the columns name and value';
  if (name.type !== 'text') return `column name is ${name.type}, not text`;
  if (name.collation !== 'C' && name.collation !== 'POSIX') return `column name has collation ${JSON.stringify(name.collation ?? 'none')}, not "C" (names must sort by bytes)`;
  if (!name.unique) return 'column name has no unique index (PRIMARY KEY)';
  if (value.type !== 'bytea') return `column value is ${value.type}, not bytea`;
  return undefined;
}

/**
 * The smallest string above every string that starts with prefix (in code point order, which
 * is the byte order of UTF-8 and of collation "C"), or undefined when there is none. Together
 * with `name >= prefix` it selects exactly the names starting with prefix as an index range,
 * with no pattern matching (so `_` and `%` in a prefix are plain characters).
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last === 0x10ffff) continue;
    points.push(last === 0xd7ff ? 0xe000 : last + 1); // U+D800…U+DFFF are no characters
    return String.fromCodePoint(...points);
  }
  return undefined;
}
