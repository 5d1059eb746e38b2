import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restartDelayMs } from './primary.js';

test('worker restarts: three at once, then doubling waits up to 30 s, never a refusal', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 100].map(restartDelayMs),
    [0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
});
