import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Timestamp } from './time.js';

/** Seconds of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59Z: the years RFC 3339 can write. */
const MIN_SECONDS = -62135596800n;
const MAX_SECONDS = 253402300799n;

const nanos = fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constantFrom(0, 1, 999_999_999, 500_000_000, 123_000));
/** UTC offsets of whole minutes up to ±23:59. */
const offset = fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }).map((m) => m * 60));

/** Seconds of a UTC date-time by an oracle independent of time.ts (Date with setUTCFullYear). */
function utcSeconds(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime() / 1000;
}

function daysInMonth(y: number, mo: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo, 0); // day 0 of the next month: the last day of this one
  return date.getUTCDate();
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

describe('Timestamp (properties)', () => {
  test('parse(toString()) restores the instant, the nanoseconds and the offset', () => {
    fc.assert(
      fc.property(fc.bigInt(MIN_SECONDS + 86_400n, MAX_SECONDS - 86_400n), nanos, offset, (seconds, ns, off) => {
        const t = new Timestamp(seconds, ns, off);
        const text = t.toString();
        assert.match(text, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?(Z|[+-]\d{2}:\d{2})$/);
        const back = Timestamp.parse(text);
        assert.ok(back, text);
        assert.equal(back.seconds, seconds);
        assert.equal(back.nanos, ns);
        assert.equal(back.offsetSeconds, off);
        assert.equal(back.toString(), text);
        assert.ok(back.equals(t.utc()));
      }),
      { numRuns: 3000 },
    );
  });

  test('fromDate agrees with Date: millisecond text equals toISOString, toMillis equals getTime', () => {
    const date = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
    fc.assert(
      fc.property(date, (d) => {
        const t = Timestamp.fromDate(d);
        assert.equal(t.toMillisString(), d.toISOString());
        assert.equal(t.toMillis(), d.getTime());
        assert.equal(Timestamp.parse(d.toISOString())?.toMillis(), d.getTime());
      }),
      { numRuns: 3000 },
    );
  });

  test('parse accepts exactly the valid calendar times and computes the instant like Date', () => {
    const field = (max: number, width: number) => fc.integer({ min: 0, max }).map((n) => pad(n, width));
    const candidate = fc.record({
      y: field(9999, 4),
      mo: field(13, 2),
      d: field(32, 2),
      h: field(24, 2),
      mi: field(60, 2),
      s: field(60, 2),
      frac: fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
      zone: fc.oneof(fc.constantFrom('Z', 'z'), fc.tuple(fc.constantFrom('+', '-'), field(24, 2), field(60, 2))),
      t: fc.constantFrom('T', 't'),
    });
    fc.assert(
      fc.property(candidate, (c) => {
        const zone = typeof c.zone === 'string' ? c.zone : `${c.zone[0]}${c.zone[1]}:${c.zone[2]}`;
        const text = `${c.y}-${c.mo}-${c.d}${c.t}${c.h}:${c.mi}:${c.s}${c.frac === undefined ? '' : '.' + c.frac}${zone}`;
        const [y, mo, d, h, mi, s] = [c.y, c.mo, c.d, c.h, c.mi, c.s].map(Number) as [number, number, number, number, number, number];
        const offsetOk = typeof c.zone === 'string' || (Number(c.zone[1]) <= 23 && Number(c.zone[2]) <= 59);
        const valid = mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h <= 23 && mi <= 59 && s <= 59 && offsetOk;
        const t = Timestamp.parse(text);
        assert.equal(t !== undefined, valid, text);
        if (!t) return;
        const off = typeof c.zone === 'string' ? 0 : (Number(c.zone[1]) * 3600 + Number(c.zone[2]) * 60) * (c.zone[0] === '-' ? -1 : 1);
        assert.equal(t.seconds, BigInt(utcSeconds(y, mo, d, h, mi, s) - off), text);
        assert.equal(t.nanos, c.frac === undefined ? 0 : Number(c.frac.padEnd(9, '0')));
      }),
      { numRuns: 5000 },
    );
  });

  test('parse never throws on arbitrary text', () => {
    const near = fc.string({ unit: fc.constantFrom('0', '1', '2', '9', '-', ':', 'T', 'Z', '.', '+', ' '), maxLength: 40 });
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ unit: 'binary', maxLength: 40 })), (text) => {
        const t = Timestamp.parse(text);
        if (t !== undefined) assert.ok(t.nanos >= 0 && t.nanos < 1e9);
      }),
      { numRuns: 3000 },
    );
  });

  test('fromSecondsNanos normalises any nanoseconds into the same instant', () => {
    fc.assert(
      fc.property(fc.bigInt(-(2n ** 40n), 2n ** 40n), fc.bigInt(-(2n ** 40n), 2n ** 40n), (seconds, ns) => {
        const t = Timestamp.fromSecondsNanos(seconds, ns);
        assert.ok(t.nanos >= 0 && t.nanos < 1e9);
        assert.equal(t.seconds * 1_000_000_000n + BigInt(t.nanos), seconds * 1_000_000_000n + ns);
      }),
      { numRuns: 2000 },
    );
  });
});
