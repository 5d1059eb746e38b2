import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLogLevel } from './log-level.js';
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_OFF, LOG_WARN } from './types.js';

test('on/off/"" and slog level names, case-insensitive (protocol.md §11.3)', () => {
  const cases: Array<[string, number]> = [
    ['', LOG_INFO],
    ['on', LOG_INFO],
    ['ON', LOG_INFO],
    ['off', LOG_OFF],
    ['Off', LOG_OFF],
    ['DEBUG', LOG_DEBUG],
    ['debug', LOG_DEBUG],
    ['Info', LOG_INFO],
    ['WARN', LOG_WARN],
    ['error', LOG_ERROR],
    ['INFO+2', 2],
    ['warn-1', 3],
    ['ERROR+1', LOG_OFF],
    ['debug-4', -8],
    ['0', 0],
    ['-4', -4],
    ['+3', 3],
    ['12', 12],
  ];
  for (const [text, level] of cases) assert.equal(parseLogLevel(text), level, text);
  assert.equal(LOG_OFF, 9);
});

test('invalid levels', () => {
  for (const text of ['true', 'yes', 'warning', 'INFO+', 'INFO+x', 'INFO++1', 'INFO 2', ' info', '1.5', 'trace', '99999999999999999999']) {
    assert.equal(parseLogLevel(text), undefined, text);
  }
});
