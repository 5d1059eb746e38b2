import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HmacKey } from './hmac-key.js';

// Expected values computed with `openssl dgst -sha256 -mac HMAC -macopt hexkey:<key>`.
test('HMAC-SHA-256 with the key\'s HMAC key', () => {
  assert.equal(new HmacKey(Buffer.alloc(32, 1)).sum(Buffer.from('message')).toString('hex'), '74927dc608f1a5706dd0cb41ba56416718c7aa2f6cf4940c9e08745e05a56e08');
  assert.equal(new HmacKey(Buffer.alloc(32)).sum(Buffer.alloc(0)).toString('hex'), 'b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad');
});

test('HMAC keys are 32 bytes, random and distinct', () => {
  assert.throws(() => new HmacKey(Buffer.alloc(31)), RangeError);
  const a = HmacKey.generate();
  const b = HmacKey.generate();
  assert.ok(!a.equals(b));
  assert.equal(a.sum(Buffer.from('x')).length, 32);
  assert.ok(a.equals(new HmacKey(a.bytes())));
});
