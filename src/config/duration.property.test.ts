import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDuration } from './duration.js';
import { goDuration } from '../util/go-duration.js';

/** Nanoseconds per unit, as Go's time package defines them. */
const UNITS: Record<string, bigint> = { ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** One `<number><unit>` component: integer part, optional fraction (either may be empty, not both). */
const component = fc
  .record({
    int: fc.stringMatching(/^\d{0,5}$/),
    dot: fc.boolean(),
    frac: fc.stringMatching(/^\d{0,9}$/),
    unit: fc.constantFrom(...Object.keys(UNITS)),
  })
  .filter((c) => c.int !== '' || (c.dot && c.frac !== ''));

/** The exact value of a component in units of 10⁻⁹ ns (fractions of up to 9 digits stay integers). */
function exactValue(c: { int: string; dot: boolean; frac: string; unit: string }): bigint {
  const frac = c.dot ? c.frac : '';
  return BigInt((c.int || '0') + frac.padEnd(9, '0')) * UNITS[c.unit]!;
}

describe('Go durations (properties)', () => {
  test('parseDuration(goDuration(ns)) is ns (milliseconds out)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e15, max: 1e15 }), (ns) => {
        const text = goDuration(ns);
        const ms = parseDuration(text);
        assert.ok(ms !== undefined, text);
        assert.equal(Math.round(ms * 1e6), ns, text);
      }),
      { numRuns: 3000 },
    );
  });

  test('sequences of components parse to the sum of their exact values', () => {
    fc.assert(
      fc.property(fc.constantFrom('', '+', '-'), fc.array(component, { minLength: 1, maxLength: 4 }), (sign, parts) => {
        const text = sign + parts.map((c) => `${c.int}${c.dot ? '.' + c.frac : ''}${c.unit}`).join('');
        const exact = parts.reduce((sum, c) => sum + exactValue(c), 0n); // ns × 10⁹
        const ms = parseDuration(text);
        assert.ok(ms !== undefined, text);
        const expectedNs = (Number(exact) / 1e9) * (sign === '-' ? -1 : 1);
        const tolerance = Math.max(1e-3, Math.abs(expectedNs) * 1e-12);
        assert.ok(Math.abs(ms * 1e6 - expectedNs) <= tolerance, `${text}: ${ms} ms, expected ${expectedNs} ns`);
      }),
      { numRuns: 3000 },
    );
  });

  test('arbitrary text: a finite number exactly when Go would accept it, never an exception', () => {
    // The grammar of Go's time.ParseDuration, written independently of duration.ts.
    const GRAMMAR = /^[+-]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
    const COMPONENTS = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/g;
    const SCALE = 30; // exact arithmetic in units of 10⁻³⁰ ns
    const overflows = (text: string): boolean => {
      let total = 0n;
      for (const [, int, frac = '', unit] of text.matchAll(COMPONENTS)) {
        total += BigInt((int || '0') + frac) * UNITS[unit!]! * 10n ** BigInt(SCALE - frac.length);
      }
      return total > (2n ** 63n - 1n) * 10n ** BigInt(SCALE);
    };
    const near = fc.string({ unit: fc.constantFrom('0', '1', '9', '.', '-', '+', 'n', 's', 'm', 'h', 'u', 'µ', ' ', 'x'), maxLength: 12 });
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ unit: 'binary', maxLength: 12 })), (text) => {
        const ms = parseDuration(text);
        if (ms !== undefined) assert.ok(Number.isFinite(ms) && !Object.is(ms, -0), text);
        assert.equal(ms !== undefined, GRAMMAR.test(text) && !overflows(text), JSON.stringify(text));
      }),
      { numRuns: 5000 },
    );
  });

  test('durations beyond int64 nanoseconds are rejected', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2_562_048, max: 1e9 }), fc.constantFrom('', '-'), (hours, sign) => {
        // 2562048h > 2^63-1 ns (≈ 2562047.79h)
        assert.equal(parseDuration(`${sign}${hours}h`), undefined);
      }),
      { numRuns: 1000 },
    );
  });
});
