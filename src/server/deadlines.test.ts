import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deadlines, type Expirable } from './deadlines.js';

function entry(name: string, inMs: number, fired: string[]): Expirable {
  return { deadline: performance.now() + inMs, expire: () => fired.push(name), prev: undefined, next: undefined };
}

test('passed deadlines fire once, removed ones never, pending ones later', async () => {
  const d = new Deadlines();
  const fired: string[] = [];
  const [a, b, c, late] = [entry('a', 10, fired), entry('b', 10, fired), entry('c', 10, fired), entry('late', 60_000, fired)];
  for (const e of [a, b, c, late]) d.add(e);
  d.delete(b);
  d.delete(b); // removing twice is harmless
  await sleep(250);
  assert.deepEqual(fired.sort(), ['a', 'c']);
  d.delete(late);
  d.delete(a); // already fired and removed
  await sleep(150);
  assert.deepEqual(fired.sort(), ['a', 'c']);
});

test('removing the middle, head and tail keeps the rest registered', async () => {
  const d = new Deadlines();
  const fired: string[] = [];
  const es = ['1', '2', '3', '4', '5'].map((n) => entry(n, 5, fired));
  for (const e of es) d.add(e);
  d.delete(es[2]!);
  d.delete(es[4]!); // the head: added last
  d.delete(es[0]!); // the tail
  await sleep(250);
  assert.deepEqual(fired.sort(), ['2', '4']);
});
