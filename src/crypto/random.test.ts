import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from './random.js';

test('pooled random bytes: right sizes, fresh buffers, no repeats across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const b = randomBytes(28);
    assert.equal(b.length, 28);
    const hex = b.toString('hex');
    assert.ok(!seen.has(hex), 'a draw repeated');
    seen.add(hex);
  }
  const a = randomBytes(32);
  const copy = Buffer.from(a);
  a.fill(0);
  assert.notDeepEqual(randomBytes(32), copy);
  assert.equal(randomBytes(64 * 1024).length, 64 * 1024);
  assert.equal(randomBytes(0).length, 0);
});

test('the bytes look uniform (each byte value about 1/256 of 1 MiB)', () => {
  const counts = new Array<number>(256).fill(0);
  for (let i = 0; i < 32 * 1024; i++) for (const b of randomBytes(32)) counts[b]!++;
  const expected = (32 * 1024 * 32) / 256;
  for (const c of counts) assert.ok(Math.abs(c - expected) < expected * 0.1, `count ${c}`);
});
