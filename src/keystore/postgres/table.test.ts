import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareNames } from '../keystore.js';
import { prefixEnd, tableProblem, tableSql, type ColumnInfo } from './table.js';

describe('prefixEnd', () => {
  test('is the smallest string above every string with the prefix', () => {
    assert.equal(prefixEnd(''), undefined);
    assert.equal(prefixEnd('a'), 'b');
    assert.equal(prefixEnd('my_'), 'my`');
    assert.equal(prefixEnd('k\u{10FFFF}'), 'l');
    assert.equal(prefixEnd('\u{10FFFF}\u{10FFFF}'), undefined);
    assert.equal(prefixEnd('a\uD7FF'), 'a\uE000', 'surrogate code points are skipped');
    assert.equal(prefixEnd('a\u{1F600}'), 'a\u{1F601}');
  });

  test('name >= prefix && name < prefixEnd(prefix) selects exactly the names starting with prefix', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '_', '%', '\\', 'é', '\uFFFF', '\u{10FFFF}', '\u{1F600}'), maxLength: 6 });
    fc.assert(
      fc.property(text, text, (prefix, name) => {
        const end = prefixEnd(prefix);
        const inRange = compareNames(name, prefix) >= 0 && (end === undefined || compareNames(name, end) < 0);
        assert.equal(inRange, name.startsWith(prefix), `prefix ${JSON.stringify(prefix)}, name ${JSON.stringify(name)}`);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('tableSql', () => {
  test('quotes the lower-cased table name, so plain identifiers act as in SQL and keywords work', () => {
    assert.equal(tableSql('kes_keys').ident, '"kes_keys"');
    assert.equal(tableSql('User').ident, '"user"');
    assert.match(tableSql('Keys').insert, /INSERT INTO "keys" \(name, value\) VALUES \(\$1, \$2\) ON CONFLICT \(name\) DO NOTHING RETURNING name\) SELECT pg_notify\('keys', name\)/);
    assert.match(tableSql('Keys').delete, /DELETE FROM "keys" WHERE name = \$1 RETURNING name\) SELECT pg_notify\('keys', name\)/);
    assert.equal(tableSql('Keys').channel, 'keys');
    assert.match(tableSql('kes_keys').create, /name TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL/);
  });

  test('rejects anything but a plain identifier', () => {
    for (const name of ['', '1keys', 'kes-keys', 'kes keys', 'k"; DROP TABLE x; --', 'public.kes', 'x'.repeat(64)]) {
      assert.throws(() => tableSql(name), /is not a plain SQL identifier/, name);
    }
  });

  test('list pages are ranges of the primary key, with the end bound only when there is one', () => {
    const sql = tableSql('kes_keys');
    assert.equal(sql.list(false, true), 'SELECT name FROM "kes_keys" WHERE name >= $1 AND name < $3 ORDER BY name LIMIT $2');
    assert.equal(sql.list(true, false), 'SELECT name FROM "kes_keys" WHERE name > $1 ORDER BY name LIMIT $2');
  });
});

describe('tableProblem', () => {
  const good: ColumnInfo[] = [
    { name: 'name', type: 'text', collation: 'C', unique: true },
    { name: 'value', type: 'bytea', collation: null, unique: false },
    { name: 'created_at', type: 'timestamp with time zone', collation: null, unique: false },
  ];
  const change = (column: string, patch: Partial<ColumnInfo>) => good.map((c) => (c.name === column ? { ...c, ...patch } : c));

  test('accepts the table the store creates, and collation POSIX', () => {
    assert.equal(tableProblem(good), undefined);
    assert.equal(tableProblem(change('name', { collation: 'POSIX' })), undefined);
  });

  test('names what is wrong', () => {
    assert.match(tableProblem(good.filter((c) => c.name !== 'value'))!, /needs the columns name and value/);
    assert.match(tableProblem(change('name', { type: 'character varying(80)' }))!, /column name is character varying\(80\), not text/);
    assert.match(tableProblem(change('name', { collation: 'default' }))!, /collation "default", not "C"/);
    assert.match(tableProblem(change('name', { unique: false }))!, /no unique index/);
    assert.match(tableProblem(change('value', { type: 'text' }))!, /column value is text, not bytea/);
  });
});
