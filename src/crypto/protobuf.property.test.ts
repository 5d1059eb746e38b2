import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LEN, ProtobufError, ProtoWriter, readFields, VARINT } from './protobuf.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

/** A field to write: varint (uint64) or bytes. */
const field = fc.oneof(
  fc.record({ num: fc.integer({ min: 1, max: 0x1fffffff }), kind: fc.constant('varint' as const), value: fc.bigInt(0n, 2n ** 64n - 1n) }),
  fc.record({ num: fc.integer({ min: 1, max: 0x1fffffff }), kind: fc.constant('bytes' as const), value: fc.uint8Array({ maxLength: 300 }) }),
);

/** Base-128 varint, written from the protobuf encoding guide. */
function varint(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if (v === 0n) return [...out, b];
    out.push(b | 0x80);
  }
}

test('field numbers from 2^28 on are written correctly (found by a property test: the writer looped forever)', () => {
  const out = new ProtoWriter().varint(0x1fffffff, 1n).bytes(1 << 28, Buffer.of(7)).finish();
  assert.equal(out.toString('hex'), 'f8ffffff0f01' + '8280808008' + '0107');
  assert.deepEqual(readFields(out), [
    { num: 0x1fffffff, wire: VARINT, value: 1n },
    { num: 1 << 28, wire: LEN, value: Buffer.of(7) },
  ]);
});

describe('protobuf wire format (properties)', () => {
  test('readFields(ProtoWriter output) gives the fields back, zero values omitted as in proto3', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 8 }), (fields) => {
        const w = new ProtoWriter();
        for (const f of fields) {
          if (f.kind === 'varint') w.varint(f.num, f.value);
          else w.bytes(f.num, f.value);
        }
        const written = fields.filter((f) => (f.kind === 'varint' ? f.value !== 0n : f.value.length > 0));
        const read = readFields(w.finish());
        assert.equal(read.length, written.length);
        read.forEach((r, i) => {
          const f = written[i]!;
          assert.equal(r.num, f.num);
          assert.equal(r.wire, f.kind === 'varint' ? VARINT : LEN);
          assert.deepEqual(r.value, f.kind === 'varint' ? f.value : Buffer.from(f.value));
        });
      }),
      { numRuns: 2000 },
    );
  });

  test('the writer encodes varints and lengths minimally (as an independent encoder does)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x1fffffff }), fc.bigInt(1n, 2n ** 64n - 1n), fc.uint8Array({ minLength: 1, maxLength: 200 }), (num, v, bytes) => {
        const out = new ProtoWriter().varint(num, v).bytes(num, bytes).finish();
        const expected = [...varint(BigInt(num) << 3n), ...varint(v), ...varint((BigInt(num) << 3n) | 2n), ...varint(BigInt(bytes.length)), ...bytes];
        assert.deepEqual([...out], expected);
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary bytes: fields inside the input, or ProtobufError; never another exception', () => {
    const tagLike = fc.array(fc.oneof(fc.nat(255), fc.constantFrom(0x08, 0x0a, 0x12, 0x1a, 0x0d, 0x09, 0x0b, 0x0c, 0xff, 0x80, 0x7f)), { maxLength: 60 });
    fc.assert(
      fc.property(fc.oneof(tagLike, fc.uint8Array({ maxLength: 60 }).map((b) => [...b])), (bytes) => {
        const buf = Buffer.from(bytes);
        const o = outcome(() => readFields(buf), instanceOf(ProtobufError));
        if (!o.ok) return;
        for (const f of o.value) {
          assert.ok(f.num >= 1 && f.num <= 0x1fffffff);
          if (f.wire === VARINT) assert.ok(f.value >= 0n && f.value < 2n ** 64n);
          else assert.ok(f.value.length <= buf.length);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
