import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeKeyVersion, KeyVersionError, parseKeyVersion, type KeyVersion } from './key-version.js';
import { SecretKey } from './secret-key.js';
import { HmacKey } from './hmac-key.js';
import type { KeyType } from './key-type.js';
import { LEN, ProtoWriter, readFields, VARINT } from './protobuf.js';
import { Timestamp } from '../util/time.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

const isEntryError = instanceOf(KeyVersionError);
const keyType = fc.constantFrom<KeyType>('AES256', 'ChaCha20');
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const seconds = fc.oneof(fc.bigInt(INT64), fc.bigInt(-62135596800n, 253402300799n), fc.constantFrom(0n, 1705055960n, -62135596800n));
const nanos = fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constant(0));
const createdBy = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constant(''));

const version = fc.record({ type: keyType, key: bytes32, hmac: bytes32, seconds, nanos, createdBy }).map(
  (v): KeyVersion => ({ key: new SecretKey(v.type, v.key), hmacKey: new HmacKey(v.hmac), createdAt: new Timestamp(v.seconds, v.nanos), createdBy: v.createdBy }),
);

/** Parses expecting only KeyVersionError, whose message must not reveal the entry. */
function parse(stored: Uint8Array) {
  const o = outcome(() => parseKeyVersion(stored), isEntryError);
  if (o.ok) {
    assert.equal(o.value.key.bytes().length, 32);
    if (o.value.hmacKey) assert.equal(o.value.hmacKey.bytes().length, 32);
    assert.ok(o.value.createdAt.nanos >= 0 && o.value.createdAt.nanos < 1e9);
  } else if (stored.length >= 16) {
    assert.ok(!o.error.message.includes(Buffer.from(stored).toString('utf8')), 'the error repeats the entry');
  }
  return o;
}

/** Go JSON names of a legacy entry's fields, spelled in a random letter case. */
const spell = (name: string) => fc.mixedCase(fc.constant(name));

describe('key store entries (properties)', () => {
  test('parse(encode(v)) keeps both keys, the type, created_at to the nanosecond and created_by', () => {
    fc.assert(
      fc.property(version, (v) => {
        const stored = encodeKeyVersion(v);
        assert.match(stored.toString('latin1'), /^[A-Za-z0-9+/]*={0,2}$/);
        const back = parseKeyVersion(stored);
        assert.ok(back.key.equals(v.key));
        assert.equal(back.key.untyped, false);
        assert.ok(back.hmacKey?.equals(v.hmacKey!));
        assert.equal(back.createdAt.seconds, v.createdAt.seconds);
        assert.equal(back.createdAt.nanos, v.createdAt.nanos);
        assert.equal(back.createdBy, v.createdBy);
        assert.deepEqual(encodeKeyVersion(back), stored, 'the encoding is canonical');
      }),
      { numRuns: 2000 },
    );
  });

  test('the protobuf has fields 1…4 in order, zero created_at parts and empty created_by omitted', () => {
    fc.assert(
      fc.property(version, (v) => {
        const msg = readFields(Buffer.from(encodeKeyVersion(v).toString('latin1'), 'base64'));
        const expected = v.createdBy === '' ? [1, 2, 3] : [1, 2, 3, 4];
        assert.deepEqual(msg.map((f) => f.num), expected);
        const created = msg[2]!;
        assert.equal(created.wire, LEN);
        const parts = readFields(created.value as Buffer);
        const want = [...(v.createdAt.seconds !== 0n ? [1] : []), ...(v.createdAt.nanos !== 0 ? [2] : [])];
        assert.deepEqual(parts.map((f) => f.num), want);
        assert.ok(parts.every((f) => f.wire === VARINT));
      }),
      { numRuns: 1000 },
    );
  });

  test('legacy JSON entries of every writer decode (any field order and letter case)', () => {
    const ALGORITHMS: [string | undefined, KeyType][] = [
      [undefined, 'AES256'],
      ['', 'AES256'],
      ['AES256-GCM_SHA256', 'AES256'],
      ['AES256', 'AES256'],
      ['XCHACHA20-POLY1305', 'ChaCha20'],
      ['ChaCha20', 'ChaCha20'],
    ];
    const created = fc.tuple(fc.bigInt(-62135596800n + 86_400n, 253402300799n - 86_400n), nanos, fc.integer({ min: -1439, max: 1439 }));
    const legacy = fc.record({
      key: bytes32,
      algorithm: fc.constantFrom(...ALGORITHMS),
      created: fc.option(created, { nil: undefined }),
      createdBy: fc.option(createdBy, { nil: undefined }),
      version: fc.boolean(),
      id: fc.boolean(),
      names: fc.record({ bytes: spell('bytes'), algorithm: spell('algorithm'), created_at: spell('created_at'), created_by: spell('created_by') }),
      order: fc.func(fc.integer()),
    });
    fc.assert(
      fc.property(legacy, (l) => {
        const t = l.created && new Timestamp(l.created[0], l.created[1], l.created[2] * 60);
        const fields: [string, unknown][] = [[l.names.bytes, Buffer.from(l.key).toString('base64')]];
        if (l.algorithm[0] !== undefined) fields.push([l.names.algorithm, l.algorithm[0]]);
        if (t) fields.push([l.names.created_at, t.toString()]);
        if (l.createdBy !== undefined) fields.push([l.names.created_by, l.createdBy]);
        if (l.version) fields.push(['version', 'v1']);
        if (l.id) fields.push(['id', 'ignored']);
        fields.sort((a, b) => l.order(a[0]) - l.order(b[0]));
        const v = parseKeyVersion(Buffer.from(JSON.stringify(Object.fromEntries(fields))));
        assert.deepEqual(v.key.bytes(), Buffer.from(l.key));
        assert.equal(v.key.type, l.algorithm[1]);
        assert.equal(v.key.untyped, !l.algorithm[0]);
        assert.equal(v.hmacKey, undefined);
        assert.equal(v.createdAt.toString(), t ? t.toString() : '0001-01-01T00:00:00Z');
        assert.equal(v.createdBy, l.createdBy ?? '');
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary bytes, text and JSON: an entry or KeyVersionError, never another exception', () => {
    const legacyLike = fc
      .dictionary(fc.constantFrom('bytes', 'Bytes', 'algorithm', 'created_at', 'created_by', 'version', 'id'), fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.base64String({ maxLength: 48 }), fc.constantFrom('AES256', 'ChaCha20', '2024-01-12T10:39:20Z', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')))
      .map((o) => JSON.stringify(o));
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(s)),
      fc.json({ maxDepth: 2 }).map((s) => Buffer.from(s)),
      legacyLike.map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(Buffer.from(b).toString('base64'))),
    );
    fc.assert(
      fc.property(input, (stored) => {
        parse(stored);
      }),
      { numRuns: 4000 },
    );
  });

  test('structured protobuf of random fields: an entry or KeyVersionError', () => {
    // Messages of the right shape with wrong sizes, types, wire types, duplicates and unknown fields.
    const inner = fc.array(
      fc.oneof(
        fc.record({ num: fc.integer({ min: 1, max: 4 }), value: fc.oneof(fc.uint8Array({ minLength: 30, maxLength: 33 }), fc.uint8Array({ maxLength: 8 })) }),
        fc.record({ num: fc.integer({ min: 1, max: 4 }), value: fc.oneof(fc.bigInt(0n, 2n ** 64n - 1n), fc.constantFrom(1n, 2n, 3n)) }),
      ),
      { maxLength: 4 },
    );
    const top = fc.array(fc.record({ num: fc.integer({ min: 1, max: 6 }), inner, raw: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: undefined }) }), { maxLength: 6 });
    fc.assert(
      fc.property(top, (fields) => {
        const msg = new ProtoWriter();
        for (const f of fields) {
          if (f.raw) {
            msg.bytes(f.num, f.raw);
            continue;
          }
          const m = new ProtoWriter();
          for (const i of f.inner) {
            if (typeof i.value === 'bigint') m.varint(i.num, i.value);
            else m.bytes(i.num, i.value, true);
          }
          msg.message(f.num, m);
        }
        parse(Buffer.from(msg.finish().toString('base64')));
      }),
      { numRuns: 3000 },
    );
  });

  test('mutated valid entries: an entry with valid keys or KeyVersionError', () => {
    const mutation = fc.record({ at: fc.nat(), byte: fc.nat(255), kind: fc.constantFrom('set', 'delete', 'insert', 'truncate') });
    fc.assert(
      fc.property(version, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (v, mutations, onText) => {
        const stored = encodeKeyVersion(v);
        // Mutate either the base64 text or the protobuf bytes under it.
        let b = onText ? Buffer.from(stored) : Buffer.from(stored.toString('latin1'), 'base64');
        for (const m of mutations) {
          const at = m.at % (b.length + 1);
          if (m.kind === 'set') b = Buffer.concat([b.subarray(0, at), Buffer.of(m.byte), b.subarray(at + 1)]);
          else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
          else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.of(m.byte), b.subarray(at)]);
          else b = b.subarray(0, at);
        }
        parse(onText ? b : Buffer.from(b.toString('base64')));
      }),
      { numRuns: 3000 },
    );
  });
});
