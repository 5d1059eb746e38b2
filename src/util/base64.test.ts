import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, encodeBase64 } from './base64.js';

test('decodes standard padded base64 as Go StdEncoding does', () => {
  assert.deepEqual(decodeBase64(''), Buffer.alloc(0));
  assert.deepEqual(decodeBase64('AA=='), Buffer.of(0));
  assert.deepEqual(decodeBase64('AAA='), Buffer.of(0, 0));
  assert.deepEqual(decodeBase64('+/+/'), Buffer.from('fbffbf', 'hex'));
  assert.deepEqual(decodeBase64('AA\r\nAA'), Buffer.of(0, 0, 0), 'CR and LF are ignored');
});

test('rejects what Go rejects', () => {
  for (const bad of ['A', 'AA', 'AAA', 'AA=', 'AA==AA==', '-_-_', 'AA AA', 'AAAA=', '====', 'A===', 'ÄAAA']) {
    assert.equal(decodeBase64(bad), undefined, JSON.stringify(bad));
  }
});

test('round trips random bytes', () => {
  for (let n = 0; n < 100; n++) {
    const b = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
    assert.deepEqual(decodeBase64(encodeBase64(b)), b);
  }
});
