import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseLogLevel } from './log-level.js';
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_OFF, LOG_WARN } from './types.js';

const BASE: Record<string, number> = { debug: LOG_DEBUG, info: LOG_INFO, warn: LOG_WARN, error: LOG_ERROR };

describe('log levels (properties)', () => {
  test('NAME±n is the named level plus n, in any letter case', () => {
    const level = fc.record({
      name: fc.mixedCase(fc.constantFrom(...Object.keys(BASE))),
      offset: fc.option(fc.tuple(fc.constantFrom('+', '-'), fc.nat(1_000_000)), { nil: undefined }),
    });
    fc.assert(
      fc.property(level, ({ name, offset }) => {
        const text = name + (offset ? `${offset[0]}${offset[1]}` : '');
        const n = offset ? offset[1] * (offset[0] === '-' ? -1 : 1) : 0;
        assert.equal(parseLogLevel(text), BASE[name.toLowerCase()]! + n, text);
      }),
      { numRuns: 2000 },
    );
  });

  test('integers are slog levels; on, off and "" are keywords in any case', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.constantFrom('', '+'), fc.mixedCase(fc.constantFrom('on', 'off', '')), (n, plus, keyword) => {
        assert.equal(parseLogLevel(`${n >= 0 ? plus : ''}${n}`), n);
        assert.equal(parseLogLevel(keyword), keyword.toLowerCase() === 'off' ? LOG_OFF : LOG_INFO);
      }),
      { numRuns: 1000 },
    );
  });

  test('arbitrary text gives a safe integer or undefined, the same for any ASCII letter case', () => {
    const near = fc.string({ unit: fc.constantFrom('i', 'n', 'f', 'o', 'E', 'R', 'd', 'e', 'b', 'u', 'g', '+', '-', '1', '9', ' ', 'w', 'a', 'r'), maxLength: 10 });
    fc.assert(
      fc.property(fc.oneof(near, fc.stringMatching(/^[+-]?\d{1,30}$/), fc.string({ unit: 'binary', maxLength: 10 })), (text) => {
        const level = parseLogLevel(text);
        if (level !== undefined) assert.ok(Number.isSafeInteger(level), text);
        if (/^[\x00-\x7f]*$/.test(text)) {
          assert.equal(parseLogLevel(text.toUpperCase()), level);
          assert.equal(parseLogLevel(text.toLowerCase()), level);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
