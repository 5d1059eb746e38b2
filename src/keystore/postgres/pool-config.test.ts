import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describeTarget, poolConfig, statementTimeout, type PostgresKeyStoreConfig } from './pool-config.js';
import { createTestPki } from '../../../test/helpers/certs.js';

const hostConfig: PostgresKeyStoreConfig = { type: 'postgres', host: 'db.internal', port: 5433, user: 'kes', password: 's3cret-pw', database: 'kms', table: 'kes_keys' };

describe('postgres pool settings', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kes-pgcfg-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('host form: fields map to pg, every call is bounded by the time-out', async () => {
    const c = await poolConfig(hostConfig, { timeoutMs: 1234, poolSize: 3 });
    assert.deepEqual(
      { host: c.host, port: c.port, user: c.user, password: c.password, database: c.database, ssl: c.ssl, connectionString: c.connectionString },
      { host: 'db.internal', port: 5433, user: 'kes', password: 's3cret-pw', database: 'kms', ssl: undefined, connectionString: undefined },
    );
    assert.deepEqual([c.connectionTimeoutMillis, c.statement_timeout, c.query_timeout, c.max], [1234, 926, 1234, 3]);
    const d = await poolConfig(hostConfig);
    assert.deepEqual([d.connectionTimeoutMillis, d.statement_timeout, d.query_timeout, d.max], [10_000, 9_000, 10_000, 10]);
    const e = await poolConfig({ ...hostConfig, timeoutMs: 2000 });
    assert.deepEqual([e.connectionTimeoutMillis, e.statement_timeout, e.query_timeout], [2000, 1500, 2000], "the config's timeout");
    const f = await poolConfig({ ...hostConfig, timeoutMs: 2000 }, { timeoutMs: 1234 });
    assert.equal(f.query_timeout, 1234, 'the options win over the config');
  });

  test('the server gives up on a statement before the client does', () => {
    assert.deepEqual([100, 1000, 4000, 10_000, 60_000].map(statementTimeout), [75, 750, 3000, 9000, 59_000]);
  });

  test('url form: the url is given to pg as is', async () => {
    const url = 'postgresql://kes:pw@db.internal:6543/kms?sslmode=verify-full';
    const c = await poolConfig({ type: 'postgres', url, table: 'kes_keys' });
    assert.equal(c.connectionString, url);
    assert.equal(c.host, undefined);
  });

  test('tls: the CA (file or directory) extends the system roots; cert and key are presented', async () => {
    const pki = createTestPki();
    const client = pki.client({ keyType: 'ec' });
    const caDir = join(dir, 'cas');
    mkdirSync(caDir);
    writeFileSync(join(caDir, 'a.pem'), pki.ca.certPem);
    writeFileSync(join(dir, 'client.crt'), client.certPem);
    writeFileSync(join(dir, 'client.key'), client.keyPem);
    const c = await poolConfig({ ...hostConfig, tls: { caPath: caDir, certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') } });
    const ssl = c.ssl as { ca: string[]; cert: string; key: string; rejectUnauthorized: boolean };
    assert.equal(ssl.rejectUnauthorized, true);
    assert.deepEqual(ssl.ca, [...rootCertificates, pki.ca.certPem.trim()]);
    assert.equal(ssl.cert, client.certPem);
    assert.equal(ssl.key, client.keyPem);
  });

  test('tls: unreadable or empty files are clear errors', async () => {
    await assert.rejects(poolConfig({ ...hostConfig, tls: { caPath: join(dir, 'missing.pem') } }), /^TlsFileError: postgres: cannot read the CA certificates '.*missing\.pem': no such file or directory$/);
    writeFileSync(join(dir, 'empty.pem'), 'no pem here');
    await assert.rejects(poolConfig({ ...hostConfig, tls: { caPath: join(dir, 'empty.pem') } }), /postgres: no CA certificate found in/);
    await assert.rejects(poolConfig({ ...hostConfig, tls: { certFile: join(dir, 'nope.crt'), keyFile: join(dir, 'nope.key') } }), /cannot read the client certificate '.*nope\.crt': no such file or directory/);
  });

  test('a url whose password holds @ or / unencoded is refused without showing it', async () => {
    for (const url of ['postgres://kes:p@zq@db.internal/kms', 'postgres://kes:pa/zq@db.internal/kms', 'postgres://kes:pa#zq@db.internal/kms']) {
      await assert.rejects(poolConfig({ type: 'postgres', url, table: 'kes_keys' }), (err: Error) => {
        assert.match(err.message, /^postgres: invalid url: the user name or password holds @, \/, \? or # unencoded/);
        assert.ok(!err.message.includes('zq'), err.message);
        return true;
      });
    }
    const encoded = await poolConfig({ type: 'postgres', url: 'postgres://kes:p%40ss%2F@db.internal/kms', table: 'kes_keys' });
    assert.equal(encoded.connectionString, 'postgres://kes:p%40ss%2F@db.internal/kms');
  });

  test('tls in both the url and tls: is refused', async () => {
    await assert.rejects(
      poolConfig({ type: 'postgres', url: 'postgres://db/kms?sslmode=require', table: 'kes_keys', tls: { caPath: '/x' } }),
      /TLS is configured both in the url .* and in tls: use only one/,
    );
  });

  test('the target in messages never shows user or password', () => {
    assert.equal(describeTarget(hostConfig), 'db.internal:5433/kms');
    assert.equal(describeTarget({ type: 'postgres', host: '/var/run/postgresql', table: 't' }), '/var/run/postgresql');
    assert.equal(describeTarget({ type: 'postgres', url: 'postgres://kes:s3cret-pw@db.internal:6543/kms?application_name=x', table: 't' }), 'db.internal:6543/kms');
    assert.equal(describeTarget({ type: 'postgres', url: 'postgresql://kes:s3cret-pw@/kms', table: 't' }), 'localhost/kms');
    assert.equal(describeTarget({ type: 'postgres', url: 'postgres://kes:s3cret-pw@%2Fvar%2Frun%2Fpostgresql/kms', table: 't' }), '/var/run/postgresql/kms');
    assert.equal(describeTarget({ type: 'postgres', url: 'postgres://db.internal', table: 't' }), 'db.internal');
    assert.equal(describeTarget({ type: 'postgres', url: 'postgres://kes:p@ss/w@rd@db.internal/kms', table: 't' }), 'db.internal/kms');
  });
});
