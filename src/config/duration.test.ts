import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from './duration.js';

test('Go duration syntax, in milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['+0', 0],
    ['-0', 0],
    ['0s', 0],
    ['5m', 300_000],
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['5.s', 5_000],
    ['300ms', 300],
    ['1h0m0s', 3_600_000],
    ['5m0s', 300_000],
    ['-1s', -1_000],
    ['+2m', 120_000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['1500μs', 1.5],
    ['2000000ns', 2],
    ['1m1s1ms', 61_001],
    ['2562047h', 2562047 * 3_600_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  assert.ok(Object.is(parseDuration('-0s'), 0), '-0s is 0, not -0');
});

test('invalid durations', () => {
  for (const text of ['', '-', '+', '5', '00', '1.5', 's', '.s', '.', '1 s', ' 1s', '1s ', '1d', '1S', '1hh', '1h-30m', 'abc', '1e3s', '2562048h', '١s']) {
    assert.equal(parseDuration(text), undefined, JSON.stringify(text));
  }
});
