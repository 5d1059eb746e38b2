/** ProgressLine redraws on a timer (mocked) and clears itself; counts and rates are formatted. */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressLine, formatCount, formatRate } from '../../src/cli/progress.js';
import { MemoryStream } from '../helpers/cli-io.js';

const CLEAR = '\r\x1b[2K';

test('redraws the line every interval until stopped, then erases it', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const out = new MemoryStream(true);
    let n = 0;
    const line = new ProgressLine(out, () => `step ${n}`, 1000);
    line.start();
    mock.timers.tick(999);
    assert.equal(out.text, '', 'nothing before the first interval');
    n = 1;
    mock.timers.tick(1);
    assert.equal(out.text, `${CLEAR}step 1`);
    n = 2;
    mock.timers.tick(1000);
    assert.equal(out.text, `${CLEAR}step 1${CLEAR}step 2`);
    line.stop();
    assert.equal(out.text, `${CLEAR}step 1${CLEAR}step 2${CLEAR}`);
    mock.timers.tick(5000);
    assert.equal(out.text, `${CLEAR}step 1${CLEAR}step 2${CLEAR}`, 'no redraw after stop');
  } finally {
    mock.timers.reset();
  }
});

test('stop before any draw writes nothing', () => {
  const out = new MemoryStream(true);
  const line = new ProgressLine(out, () => 'x');
  line.start();
  line.stop();
  assert.equal(out.text, '');
});

test('counts with thousands separators, rates per second', () => {
  assert.deepEqual([0, 7, 999, 1000, 1234567].map(formatCount), ['0', '7', '999', '1,000', '1,234,567']);
  assert.equal(formatRate(500, 2000), '250/s');
  assert.equal(formatRate(10_000, 1000), '10,000/s');
  assert.equal(formatRate(3, 0), '0/s');
  assert.equal(formatRate(1, 3000), '0/s');
});
