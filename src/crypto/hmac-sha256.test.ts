import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { HmacSha256, MAX_SHORT_MESSAGE } from './hmac-sha256.js';

const reference = (key: Uint8Array, message: Uint8Array) => createHmac('sha256', key).update(message).digest('hex');

test('RFC 4231 test case 2: key "Jefe", "what do ya want for nothing?"', () => {
  const h = new HmacSha256(Buffer.from('Jefe'));
  assert.equal(h.sum(Buffer.from('what do ya want for nothing?')).toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('RFC 4231 test case 1: a 20-byte key of 0x0b, "Hi There"', () => {
  const h = new HmacSha256(Buffer.alloc(20, 0x0b));
  assert.equal(h.sum(Buffer.from('Hi There')).toString('hex'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
});

test('equals node:crypto for every message length 0..55 and keys of 0..100 bytes', () => {
  for (const keyLength of [0, 1, 16, 32, 63, 64, 65, 100]) {
    const key = randomBytes(keyLength);
    const h = new HmacSha256(key);
    for (let n = 0; n <= MAX_SHORT_MESSAGE; n++) {
      const message = randomBytes(n);
      assert.equal(h.sum(message).toString('hex'), reference(key, message), `key ${keyLength} bytes, message ${n} bytes`);
    }
  }
});

test('property: equals node:crypto for random 32-byte keys and 16-byte IVs, repeatedly on one key', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 5 }), (key, ivs) => {
      const h = new HmacSha256(key);
      for (const iv of ivs) assert.equal(h.sum(iv).toString('hex'), reference(key, iv));
    }),
  );
});

test('refuses messages longer than one block can hold', () => {
  assert.throws(() => new HmacSha256(randomBytes(32)).sum(new Uint8Array(MAX_SHORT_MESSAGE + 1)), RangeError);
});
