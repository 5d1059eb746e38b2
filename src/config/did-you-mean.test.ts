import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { closestName, editDistance } from './did-you-mean.js';

test('editDistance counts insertions, deletions, substitutions and swaps of neighbours', () => {
  assert.equal(editDistance('address', 'address'), 0);
  assert.equal(editDistance('adress', 'address'), 1);
  assert.equal(editDistance('auht', 'auth'), 1);
  assert.equal(editDistance('alow', 'allow'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting', 1), 2, 'capped at limit + 1');
});

test('closestName: close enough for the length, case-insensitive, the first of the closest', () => {
  const keys = ['version', 'address', 'admin', 'tls', 'api', 'policy', 'cache', 'log', 'keys', 'keystore'];
  assert.equal(closestName('adress', keys), 'address');
  assert.equal(closestName('Address', keys), 'address');
  assert.equal(closestName('polcy', keys), 'policy');
  assert.equal(closestName('keystores', keys), 'keystore');
  assert.equal(closestName('tsl', keys), 'tls');
  assert.equal(closestName('logging', keys), undefined);
  assert.equal(closestName('x-defaults', keys), undefined);
  assert.equal(closestName('enginee', ['engine', 'endpoint']), 'engine');
  assert.equal(closestName('ca', ['id']), undefined, 'two edits are too many for short names');
  assert.equal(closestName('anything', []), undefined);
});

test('editDistance is a metric bounded by the longer length; the limit only caps it', () => {
  const word = fc.string({ maxLength: 12 });
  fc.assert(
    fc.property(word, word, fc.nat(6), (a, b, limit) => {
      const d = editDistance(a, b);
      assert.equal(d, editDistance(b, a));
      assert.ok(d <= Math.max(a.length, b.length));
      assert.equal(d === 0, a === b);
      assert.equal(editDistance(a, b, limit), Math.min(d, limit + 1));
    }),
    { numRuns: 500 },
  );
});
