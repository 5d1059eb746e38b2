import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { DerError, encodeLength, generalizedTime, integer, objectIdentifier, readChildren, readTlv, setOf, tlv, utcTime } from './der.js';
import { ipAddressBytes } from './x509.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

/** Identifier octets the encoder supports: every single-octet tag (tag number below 31). */
const tag = fc.nat(255).filter((t) => (t & 0x1f) !== 0x1f);
/** Contents lengths around the short/long form boundaries. */
const length = fc.oneof(fc.nat(300), fc.constantFrom(127, 128, 255, 256, 65_535, 65_536, 70_000));

/** Two's complement big-endian value of INTEGER contents (X.690 §8.3.3), written independently. */
function twosComplement(contents: Buffer): bigint {
  let v = 0n;
  for (const b of contents) v = (v << 8n) | BigInt(b);
  return contents[0]! & 0x80 ? v - (1n << BigInt(8 * contents.length)) : v;
}

/** Decodes OBJECT IDENTIFIER contents to dotted arcs (X.690 §8.19), written independently. */
function decodeOid(contents: Buffer): string {
  const subs: bigint[] = [];
  let v = 0n;
  for (const b of contents) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      subs.push(v);
      v = 0n;
    }
  }
  const first = subs[0]!;
  const [a, b] = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [a, b, ...subs.slice(1)].join('.');
}

describe('DER (properties)', () => {
  test('readTlv reads back what tlv wrote, with minimal length octets', () => {
    fc.assert(
      fc.property(tag, length, fc.nat(255), (t, n, fill) => {
        const contents = Buffer.alloc(n, fill);
        const der = tlv(t, contents);
        let lengthOctets = 1; // short form, or 0x8N and N big-endian octets
        if (n >= 128) for (let m = n; m > 0; m = Math.floor(m / 256)) lengthOctets++;
        assert.equal(der.length, 1 + lengthOctets + n);
        assert.deepEqual(encodeLength(n), der.subarray(1, 1 + lengthOctets));
        const r = readTlv(der, 0);
        assert.deepEqual(r, { tag: t, start: 0, body: 1 + lengthOctets, end: der.length });
        assert.ok(der.subarray(r.body, r.end).equals(contents));
      }),
      { numRuns: 2000 },
    );
  });

  test('integer encodes the magnitude as minimal, positive two\'s complement', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (magnitude) => {
        const der = integer(magnitude);
        const r = readTlv(der, 0);
        assert.equal(r.tag, 0x02);
        const contents = der.subarray(r.body, r.end);
        let expected = 0n;
        for (const b of magnitude) expected = (expected << 8n) | BigInt(b);
        assert.equal(twosComplement(contents), expected);
        // Minimal (X.690 §8.3.2): the first 9 bits are not all equal.
        if (contents.length > 1) assert.ok(!(contents[0] === 0 && contents[1]! < 0x80) && !(contents[0] === 0xff && contents[1]! >= 0x80));
      }),
      { numRuns: 2000 },
    );
  });

  test('objectIdentifier round trips through an independent decoder', () => {
    const oid = fc
      .tuple(fc.nat(2), fc.nat(39), fc.bigInt(0n, 2n ** 70n), fc.array(fc.oneof(fc.nat(200), fc.bigInt(0n, 2n ** 64n)), { maxLength: 8 }))
      .map(([a, b, big, rest]) => [a, a === 2 ? big : b, ...rest].join('.'));
    fc.assert(
      fc.property(oid, (dotted) => {
        const der = objectIdentifier(dotted);
        const r = readTlv(der, 0);
        assert.equal(r.tag, 0x06);
        assert.equal(decodeOid(der.subarray(r.body, r.end)), dotted.split('.').map((s) => BigInt(s).toString()).join('.'));
      }),
      { numRuns: 2000 },
    );
  });

  test('setOf orders its elements as DER requires and keeps every one', () => {
    const element = fc.tuple(tag, fc.uint8Array({ maxLength: 6 })).map(([t, c]) => tlv(t, c));
    fc.assert(
      fc.property(fc.array(element, { maxLength: 6 }), (elements) => {
        const der = setOf(...elements);
        const children = readChildren(der, readTlv(der, 0)).map((c) => Buffer.from(der.subarray(c.start, c.end)));
        assert.deepEqual([...children].map((c) => c.toString('hex')).sort(), elements.map((e) => e.toString('hex')).sort());
        for (let i = 1; i < children.length; i++) {
          const [a, b] = [children[i - 1]!, children[i]!];
          const n = Math.max(a.length, b.length);
          const pa = Buffer.concat([a, Buffer.alloc(n - a.length)]);
          const pb = Buffer.concat([b, Buffer.alloc(n - b.length)]);
          assert.ok(Buffer.compare(pa, pb) <= 0, 'SET OF elements out of order');
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('UTCTime and GeneralizedTime write the UTC second of the date', () => {
    const date = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
    fc.assert(
      fc.property(date, (d) => {
        const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
        const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
        const g = generalizedTime(d);
        assert.equal(g.subarray(2).toString('ascii'), digits + 'Z');
        const year = d.getUTCFullYear();
        if (year >= 1950 && year <= 2049) assert.equal(utcTime(d).subarray(2).toString('ascii'), digits.slice(2) + 'Z');
        else assert.throws(() => utcTime(d), RangeError);
      }),
      { numRuns: 2000 },
    );
  });

  test('readTlv and readChildren on arbitrary bytes: elements inside the limit, or DerError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(80), fc.nat(80), (bytes, p, l) => {
        const der = Buffer.from(bytes);
        const limit = l % (der.length + 1);
        const pos = p % (limit + 1);
        const o = outcome(() => readTlv(der, pos, limit), instanceOf(DerError));
        if (!o.ok) return;
        const r = o.value;
        assert.ok(r.start === pos && r.body <= r.end && r.end <= limit);
        const children = outcome(() => readChildren(der, r), instanceOf(DerError));
        if (children.ok) {
          let at = r.body;
          for (const c of children.value) {
            assert.equal(c.start, at, 'children are contiguous');
            at = c.end;
          }
          assert.equal(at, r.end);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('IP addresses for SubjectAltName (properties)', () => {
  const groups = (b: Buffer) => Array.from({ length: 8 }, (_, i) => b.readUInt16BE(2 * i).toString(16)).join(':');
  /** Canonical IPv6 text by the WHATWG URL parser, an implementation independent of x509.ts. */
  const canonical = (ip: string) => new URL(`http://[${ip}]/`).hostname;

  test('IPv4 text gives its four octets', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        assert.deepEqual([...ipAddressBytes(ip)], ip.split('.').map(Number));
      }),
      { numRuns: 1000 },
    );
  });

  test('IPv6 text gives 16 octets that spell the same address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const bytes = ipAddressBytes(ip);
        assert.equal(bytes.length, 16);
        assert.equal(canonical(groups(bytes)), canonical(ip), ip);
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary text: 4 or 16 octets, or TypeError', () => {
    const near = fc.string({ unit: fc.constantFrom('0', '1', 'f', 'F', ':', '.', '%', '2', '5', 'g', ' '), maxLength: 40 });
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ unit: 'binary', maxLength: 20 })), (text) => {
        const o = outcome(() => ipAddressBytes(text), instanceOf(TypeError));
        if (o.ok) {
          assert.ok(o.value.length === 4 || o.value.length === 16);
          if (o.value.length === 16) assert.ok(isIPv6(text));
        }
      }),
      { numRuns: 3000 },
    );
  });
});
