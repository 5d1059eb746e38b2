/**
 * The PostgreSQL key store against a real PostgreSQL server (started here, see
 * test/helpers/postgres.ts): the conformance suite, the table, names and prefixes, TLS,
 * outages, hung servers and statements, and what errors say.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKesError } from '../../src/api/errors.js';
import { compareNames, KeyStoreUnreachableError, listAll } from '../../src/keystore/keystore.js';
import { connectKeyStore } from '../../src/keystore/registry.js';
import { PostgresKeyStore } from '../../src/keystore/postgres/postgres.js';
import { describeKeyStore } from '../helpers/keystore-conformance.js';
import { describeKeyStoreNotifications } from '../helpers/keystore-notifications.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { freePort, postgresSkip, startPostgres, type PostgresServer } from '../helpers/postgres.js';

const skip = postgresSkip() || undefined;
const isNotFound = (err: unknown) => isKesError(err, 'KES_ERR_KEY_NOT_FOUND');
const isExists = (err: unknown) => isKesError(err, 'KES_ERR_KEY_EXISTS');

// One server for the whole file (TLS on, client certificates of the test PKI accepted).
let pki: TestPki;
let server: Promise<PostgresServer> | undefined;
function postgres(): Promise<PostgresServer> {
  pki ??= createTestPki();
  return (server ??= startPostgres({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.ca.certPem } }));
}
after(async () => {
  await (await server?.catch(() => undefined))?.close();
});

let tables = 0;
/** A table name not used by another test. */
const freshTable = (base = 'keys') => `${base}_${process.pid}_${tables++}`;

describeKeyStore('postgres', async () => ({ store: await PostgresKeyStore.connect((await postgres()).keystore(freshTable())) }), { skip });

// A server of its own: the suite restarts it.
describeKeyStoreNotifications(
  'postgres',
  async () => {
    const own = await startPostgres();
    const config = own.keystore('notified_keys');
    const writer = await PostgresKeyStore.connect(config);
    const watcher = await PostgresKeyStore.connect(config);
    return {
      writer,
      watcher,
      async restart() {
        await own.stop();
        await own.start();
      },
      async cleanup() {
        await writer.close();
        await watcher.close();
        await own.close();
      },
    };
  },
  skip,
);

// Small pages: the large listing then takes many statements.
describeKeyStore('postgres, 7 names per page', async () => ({ store: await PostgresKeyStore.connect((await postgres()).keystore(freshTable()), { pageSize: 7 }) }), { skip, manyKeys: 300 });

describe('PostgreSQL key store', { skip }, () => {
  let pg: PostgresServer;
  before(async () => {
    pg = await postgres();
  });

  /** The columns of a table as PostgreSQL describes them. */
  async function columns(table: string) {
    const { rows } = await pg.query<{ column_name: string; data_type: string; collation_name: string | null; is_nullable: string }>(
      'SELECT column_name, data_type, collation_name, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
      [table],
    );
    return rows;
  }

  test('connectKeyStore creates the table: name text ordered by bytes (primary key), value bytea', async () => {
    const table = freshTable();
    const store = await connectKeyStore(pg.keystore(table));
    try {
      assert.ok(store instanceof PostgresKeyStore);
      assert.deepEqual(
        (await columns(table)).map((c) => [c.column_name, c.data_type, c.collation_name, c.is_nullable]),
        [
          ['name', 'text', 'C', 'NO'],
          ['value', 'bytea', null, 'NO'],
          ['created_at', 'timestamp with time zone', null, 'NO'],
        ],
      );
      const pk = await pg.query(`SELECT 1 FROM information_schema.table_constraints WHERE table_name = $1 AND constraint_type = 'PRIMARY KEY'`, [table]);
      assert.equal(pk.rowCount, 1);
      await store.create('k', Buffer.from([0, 1, 255]));
      const row = await pg.query<{ name: string; value: Buffer }>(`SELECT name, value FROM ${table}`);
      assert.deepEqual(row.rows, [{ name: 'k', value: Buffer.from([0, 1, 255]) }], 'one row per key, the value stored verbatim');
    } finally {
      await store.close();
    }
  });

  test('an existing table is used as it is; its rows are the keys', async () => {
    const table = freshTable();
    await pg.query(`CREATE TABLE ${table} (name TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL)`);
    await pg.query(`INSERT INTO ${table} (name, value) VALUES ('made-by-sql', '\\x6869')`);
    const store = await PostgresKeyStore.connect(pg.keystore(table));
    try {
      assert.equal(Buffer.from(await store.get('made-by-sql')).toString(), 'hi');
      assert.deepEqual(await listAll(store), ['made-by-sql']);
    } finally {
      await store.close();
    }
  });

  test('servers starting together on a missing table all succeed (CREATE TABLE race)', async () => {
    const config = pg.keystore(freshTable());
    const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresKeyStore.connect(config)));
    try {
      await stores[0]!.create('shared', Buffer.from('x'));
      for (const s of stores) assert.equal(Buffer.from(await s.get('shared')).toString(), 'x');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('a table the store cannot use is a clear error at connect', async () => {
    const cases: [string, RegExp][] = [
      ['name TEXT PRIMARY KEY, value BYTEA NOT NULL', /column name has collation "default", not "C" \(names must sort by bytes\)/],
      ['name TEXT COLLATE "C", value BYTEA NOT NULL', /column name has no unique index/],
      ['name TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL', /column value is text, not bytea/],
      ['id INT PRIMARY KEY, value BYTEA', /it needs the columns name and value/],
    ];
    for (const [columnsSql, message] of cases) {
      const table = freshTable('bad');
      await pg.query(`CREATE TABLE ${table} (${columnsSql})`);
      await assert.rejects(PostgresKeyStore.connect(pg.keystore(table)), (err: Error) => {
        assert.ok(!(err instanceof KeyStoreUnreachableError));
        assert.match(err.message, new RegExp(`^postgres: cannot use table "${table}" in 127\\.0\\.0\\.1:${pg.port}/kes_test: `));
        assert.match(err.message, message);
        return true;
      });
    }
  });

  test('the table name acts as a plain SQL identifier: case-insensitive, keywords allowed', async () => {
    const store = await PostgresKeyStore.connect(pg.keystore('User'));
    try {
      await store.create('in-user', Buffer.from('x'));
      assert.equal((await pg.query('SELECT name FROM "user"')).rows[0]?.name, 'in-user');
    } finally {
      await store.close();
    }
  });

  describe('names and prefixes', () => {
    let store: PostgresKeyStore;
    before(async () => {
      store = await PostgresKeyStore.connect(pg.keystore(freshTable()), { pageSize: 2 });
    });
    after(() => store?.close());

    test('LIKE wildcards and escapes in prefixes are plain characters', async () => {
      const names = ['my_key', 'my_key_2', 'myXkey', 'my%key', 'my%', 'my\\key', 'my\\_key', 'my', 'm_', 'mY_key', 'my__', 'my_'];
      for (const n of names) await store.create(n, Buffer.from(n));
      const starting = (p: string) => names.filter((n) => n.startsWith(p)).sort(compareNames);
      for (const prefix of ['my_', 'my_key', 'my%', 'my\\', 'my\\_', 'm_', '_', '%', 'my__', 'my']) {
        assert.deepEqual(await listAll(store, prefix), starting(prefix), `prefix ${JSON.stringify(prefix)}`);
      }
      assert.deepEqual(await listAll(store, 'my_'), ['my_', 'my__', 'my_key', 'my_key_2']);
    });

    test('names outside ASCII sort by UTF-8 bytes, not by the database locale', async () => {
      const names = ['u-a', 'u-B', 'u-é', 'u-e\u0301', 'u-z', 'u-\uFFFD', 'u-\u{1F600}', 'u-\u{10FFFF}', 'u-\u{10FFFF}x', 'u-\u{10FFFF}\u{10FFFF}', 'u-日本'];
      for (const n of names) await store.create(n, Buffer.from(n));
      const bytes = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(await listAll(store, 'u-'), bytes);
      assert.deepEqual(await listAll(store, 'u-\u{10FFFF}'), ['u-\u{10FFFF}', 'u-\u{10FFFF}x', 'u-\u{10FFFF}\u{10FFFF}']);
      assert.equal(Buffer.from(await store.get('u-\u{1F600}')).toString(), 'u-\u{1F600}');
    });

    test('names PostgreSQL text cannot hold: create fails, get and delete find nothing', async () => {
      for (const name of ['nul\0byte', 'lone\uD800surrogate']) {
        await assert.rejects(store.create(name, Buffer.from('x')), (err: Error) => !isKesError(err) && /^postgres: failed to create '.*': the name contains a character PostgreSQL text cannot hold$/s.test(err.message));
        await assert.rejects(store.get(name), isNotFound);
        await assert.rejects(store.delete(name), isNotFound);
        assert.deepEqual(await listAll(store, name), []);
      }
    });

    test('empty and long values round trip', async () => {
      await store.create('empty-value', new Uint8Array(0));
      assert.equal((await store.get('empty-value')).length, 0);
      const big = Buffer.alloc(1 << 20, 7);
      await store.create('big-value', big);
      assert.deepEqual(Buffer.from(await store.get('big-value')), big);
    });
  });

  test('TLS: the server certificate is verified against tls.ca, and the client certificate is presented', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kes-pgtls-'));
    try {
      const client = pki.client({ commonName: 'kes-store', keyType: 'ec' });
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, pki.ca.certPem);
      writeFileSync(join(dir, 'client.crt'), client.certPem);
      writeFileSync(join(dir, 'client.key'), client.keyPem, { mode: 0o600 });
      const table = freshTable('tls');
      const store = await PostgresKeyStore.connect({ ...pg.keystore(table), tls: { caPath: caFile, certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') } });
      try {
        await store.create('over-tls', Buffer.from('x'));
        const { rows } = await pg.query<{ ssl: boolean; client_dn: string | null }>(
          `SELECT s.ssl, s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'openkes' AND a.query LIKE '%${table}%'`,
        );
        assert.ok(rows.length > 0, 'the store has a connection');
        for (const row of rows) assert.deepEqual(row, { ssl: true, client_dn: '/CN=kes-store' });
      } finally {
        await store.close();
      }
      // Without the test CA the server certificate is not trusted: a failure, not an outage.
      const otherCa = createTestPki().ca.certPem;
      writeFileSync(join(dir, 'other-ca.pem'), otherCa);
      await assert.rejects(PostgresKeyStore.connect({ ...pg.keystore(table), tls: { caPath: join(dir, 'other-ca.pem') } }), (err: Error) => {
        assert.ok(!(err instanceof KeyStoreUnreachableError), err.message);
        assert.match(err.message, /^postgres: cannot connect to 127\.0\.0\.1:\d+\/kes_test: .*certificate/i);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a database that cannot be reached at start is a clear KeyStoreUnreachableError', async () => {
    const port = await freePort();
    const config = { ...pg.keystore(), port };
    await assert.rejects(PostgresKeyStore.connect(config), (err: Error) => {
      assert.ok(err instanceof KeyStoreUnreachableError);
      assert.equal(err.message, `postgres: cannot connect to 127.0.0.1:${port}/kes_test: connect ECONNREFUSED 127.0.0.1:${port}`);
      return true;
    });
  });

  test('a wrong password or a missing database is a failure (not an outage), and no password is shown', async () => {
    const wrong = 'wrong-pw-c0ffee';
    await assert.rejects(PostgresKeyStore.connect({ ...pg.keystore(), password: wrong }), (err: Error) => {
      assert.ok(!(err instanceof KeyStoreUnreachableError));
      assert.match(err.message, /^postgres: cannot connect to .*: password authentication failed for user "postgres" \(SQLSTATE 28P01\)$/);
      assert.ok(!err.message.includes(wrong) && !err.message.includes(pg.password));
      return true;
    });
    await assert.rejects(PostgresKeyStore.connect({ type: 'postgres', url: pg.url.replace(/kes_test$/, 'no_such_db'), table: 'kes_keys' }), (err: Error) => {
      assert.match(err.message, /^postgres: cannot connect to 127\.0\.0\.1:\d+\/no_such_db: database "no_such_db" does not exist \(SQLSTATE 3D000\)$/);
      assert.ok(!err.message.includes(pg.password));
      return true;
    });
  });

  test('the url form connects as the host form does', async () => {
    const table = freshTable();
    const store = await PostgresKeyStore.connect({ type: 'postgres', url: pg.url, table });
    try {
      await store.create('via-url', Buffer.from('x'));
      assert.equal((await pg.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n, 1);
    } finally {
      await store.close();
    }
  });

  test('a statement that hangs (table locked) is cancelled by the server and fails with KeyStoreUnreachableError', async () => {
    const table = freshTable();
    // The server cancels statements after 750 ms, the client gives up after 1 s.
    const store = await PostgresKeyStore.connect(pg.keystore(table), { timeoutMs: 1000 });
    const locker = await pg.connect();
    try {
      await store.create('locked-out', Buffer.from('x'));
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      const cancelled = (what: string) => (err: Error) =>
        err instanceof KeyStoreUnreachableError && err.message === `postgres: failed to ${what}: canceling statement due to statement timeout (SQLSTATE 57014)`;
      await assert.rejects(store.get('locked-out'), cancelled("get 'locked-out'"));
      await assert.rejects(store.create('blocked', Buffer.from('x')), cancelled("create 'blocked'"));
      await locker.query('ROLLBACK');
      assert.equal(Buffer.from(await store.get('locked-out')).toString(), 'x', 'the store works once the lock is gone');
      await assert.rejects(store.get('blocked'), isNotFound, 'the timed-out create left nothing behind');
    } finally {
      await locker.end();
      await store.close();
    }
  });

  test('a server that accepts connections but never answers fails with KeyStoreUnreachableError', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      await assert.rejects(PostgresKeyStore.connect({ ...pg.keystore(), port }, { timeoutMs: 300 }), (err: Error) => {
        assert.ok(err instanceof KeyStoreUnreachableError, String(err));
        assert.match(err.message, new RegExp(`^postgres: cannot connect to 127\\.0\\.0\\.1:${port}/kes_test: `));
        return true;
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('connections killed by the server (pg_terminate_backend) are replaced', async () => {
    const store = await PostgresKeyStore.connect(pg.keystore(freshTable()));
    try {
      await store.create('survivor', Buffer.from('x'));
      const killed = await pg.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'openkes' AND pid <> pg_backend_pid()`);
      assert.ok((killed.rowCount ?? 0) > 0);
      // A call may still meet a dying connection: it then fails as an outage, never otherwise.
      let value: Uint8Array | undefined;
      for (let attempt = 0; attempt < 5 && value === undefined; attempt++) {
        value = await store.get('survivor').catch((err: unknown) => {
          assert.ok(err instanceof KeyStoreUnreachableError, String(err));
          return undefined;
        });
      }
      assert.equal(Buffer.from(value ?? []).toString(), 'x');
    } finally {
      await store.close();
    }
  });

  // Last: it stops the shared server.
  test('the database stopped: calls fail as unreachable; restarted: the same store works again', async () => {
    const store = await PostgresKeyStore.connect(pg.keystore(freshTable()));
    try {
      await store.create('before', Buffer.from('1'));
      await pg.stop();
      try {
        for (const [what, call] of [
          ['check status', () => store.status()],
          ["create 'during'", () => store.create('during', Buffer.from('2'))],
          ["get 'before'", () => store.get('before')],
          ["delete 'before'", () => store.delete('before')],
          ["list ''", () => listAll(store)],
        ] as const) {
          await assert.rejects(call(), (err: Error) => {
            assert.ok(err instanceof KeyStoreUnreachableError, `${what}: ${err}`);
            assert.match(err.message, new RegExp(`^postgres: failed to ${what.replace(/[()]/g, '\\$&')}: `));
            assert.ok(!err.message.includes(pg.password));
            return true;
          });
        }
      } finally {
        await pg.start();
      }
      assert.ok((await store.status()).latencyMs >= 0);
      assert.equal(Buffer.from(await store.get('before')).toString(), '1');
      await store.create('after', Buffer.from('3'));
      await assert.rejects(store.create('after', Buffer.from('4')), isExists);
      assert.deepEqual(await listAll(store), ['after', 'before']);
    } finally {
      await store.close();
    }
  });
});
