import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { SecretKey } from './secret-key.js';
import { isKesError } from '../api/errors.js';
import { AAD_A, DECOMPOSITIONS, DECRYPT_FAILURES, DECRYPT_VECTORS, KEY_K2, KEY_Z, PLAIN_P1, PLAIN_P2 } from '../../test/helpers/vectors.js';

const isDecryptError = (err: unknown) => isKesError(err, 'KES_ERR_DECRYPT');

describe('SecretKey.decrypt: KES vectors (test-vectors.md §2.1)', () => {
  for (const [i, v] of DECRYPT_VECTORS.entries()) {
    test(`#${i} ${v.type} ${v.format}`, () => {
      const key = new SecretKey(v.type, v.key);
      assert.deepEqual(key.decrypt(v.ciphertext, v.aad), v.plaintext);
    });
  }
});

describe('SecretKey.decrypt: must fail (test-vectors.md §2.3)', () => {
  for (const [i, v] of DECRYPT_FAILURES.entries()) {
    test(`#${8 + i} ${v.type}: ${v.reason}`, () => {
      assert.throws(() => new SecretKey(v.type, v.key).decrypt(v.ciphertext), isDecryptError);
    });
  }
});

// A small implementation of protocol.md §8.4, independent of the product's code, used to check
// that both sides agree in both directions.
const reference = {
  hchacha20(key: Buffer, input: Buffer): Buffer {
    const s = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];
    for (let i = 0; i < 32; i += 4) s.push(key.readUInt32LE(i));
    for (let i = 0; i < 16; i += 4) s.push(input.readUInt32LE(i));
    const rot = (v: number, c: number) => ((v << c) | (v >>> (32 - c))) >>> 0;
    const qr = (a: number, b: number, c: number, d: number) => {
      s[a] = (s[a]! + s[b]!) >>> 0; s[d] = rot(s[d]! ^ s[a]!, 16);
      s[c] = (s[c]! + s[d]!) >>> 0; s[b] = rot(s[b]! ^ s[c]!, 12);
      s[a] = (s[a]! + s[b]!) >>> 0; s[d] = rot(s[d]! ^ s[a]!, 8);
      s[c] = (s[c]! + s[d]!) >>> 0; s[b] = rot(s[b]! ^ s[c]!, 7);
    };
    for (let r = 0; r < 20; r += 2) {
      qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
      qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
    }
    const out = Buffer.alloc(32);
    [0, 1, 2, 3, 12, 13, 14, 15].forEach((w, i) => out.writeUInt32LE(s[w]!, 4 * i));
    return out;
  },
  messageKey(type: string, key: Buffer, iv: Buffer): Buffer {
    return type === 'AES256' ? createHmac('sha256', key).update(iv).digest() : this.hchacha20(key, iv);
  },
  encrypt(type: string, key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
    const iv = randomBytes(16);
    const nonce = randomBytes(12);
    const alg = type === 'AES256' ? 'aes-256-gcm' : 'chacha20-poly1305';
    const c = createCipheriv(alg as 'aes-256-gcm', this.messageKey(type, key, iv), nonce, { authTagLength: 16 });
    c.setAAD(aad);
    return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag(), iv, nonce]);
  },
  decrypt(type: string, key: Buffer, ciphertext: Buffer, aad: Buffer): Buffer {
    const n = ciphertext.length;
    const iv = ciphertext.subarray(n - 28, n - 12);
    const nonce = ciphertext.subarray(n - 12);
    const alg = type === 'AES256' ? 'aes-256-gcm' : 'chacha20-poly1305';
    const d = createDecipheriv(alg as 'aes-256-gcm', this.messageKey(type, key, iv), nonce, { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(ciphertext.subarray(n - 44, n - 28));
    return Buffer.concat([d.update(ciphertext.subarray(0, n - 44)), d.final()]);
  },
};

describe('SecretKey against an independent implementation of §8.4', () => {
  test('the reference reproduces the per-message keys of test-vectors.md §2.2', () => {
    for (const [i, v] of DECRYPT_VECTORS.entries()) {
      const d = DECOMPOSITIONS[i]!;
      assert.equal(reference.messageKey(v.type, v.key, Buffer.from(d.iv, 'hex')).toString('hex'), d.messageKey, `vector ${i}`);
    }
  });

  for (const type of ['AES256', 'ChaCha20'] as const) {
    test(`${type}: the product decrypts what the reference encrypts, and the reverse`, () => {
      for (const size of [0, 1, 16, 32, 1000]) {
        const keyBytes = randomBytes(32);
        const key = new SecretKey(type, keyBytes);
        const plaintext = randomBytes(size);
        const aad = size % 2 ? randomBytes(size) : Buffer.alloc(0);
        assert.deepEqual(key.decrypt(reference.encrypt(type, keyBytes, plaintext, aad), aad), plaintext);
        assert.deepEqual(reference.decrypt(type, keyBytes, key.encrypt(plaintext, aad), aad), plaintext);
      }
    });
  }
});

describe('SecretKey.encrypt', () => {
  test('writes the raw format: sealed ‖ iv ‖ nonce, |P| + 44 bytes, from 28 random bytes', () => {
    const d = DECOMPOSITIONS[6]!;
    const fixed = Buffer.from(d.iv + d.nonce, 'hex');
    const key = new SecretKey('AES256', KEY_K2);
    const c = key.encrypt(PLAIN_P2, AAD_A, (n) => {
      assert.equal(n, 28);
      return Buffer.from(fixed);
    });
    assert.equal(c.length, PLAIN_P2.length + 44);
    assert.deepEqual(c, DECRYPT_VECTORS[6]!.ciphertext);
  });

  test('reproduces the ChaCha20 raw vector from its iv and nonce', () => {
    const d = DECOMPOSITIONS[7]!;
    const key = new SecretKey('ChaCha20', KEY_K2);
    assert.deepEqual(key.encrypt(PLAIN_P2, AAD_A, () => Buffer.from(d.iv + d.nonce, 'hex')), DECRYPT_VECTORS[7]!.ciphertext);
  });

  // test-vectors.md §2.4
  const roundTrips = [
    { type: 'AES256', key: KEY_Z, plaintext: PLAIN_P1 },
    { type: 'AES256', key: KEY_K2, plaintext: PLAIN_P1 },
    { type: 'AES256', key: KEY_K2, plaintext: PLAIN_P2, aad: AAD_A },
    { type: 'ChaCha20', key: KEY_K2, plaintext: PLAIN_P2, aad: AAD_A },
    { type: 'ChaCha20', key: KEY_Z, plaintext: Buffer.alloc(1024), aad: Buffer.alloc(80) },
  ] as const;
  for (const [i, v] of roundTrips.entries()) {
    test(`round trip #${i} (${v.type})`, () => {
      const key = new SecretKey(v.type, v.key);
      const aad = 'aad' in v ? v.aad : undefined;
      const c1 = key.encrypt(v.plaintext, aad);
      const c2 = key.encrypt(v.plaintext, aad);
      assert.notDeepEqual(c1, c2, 'two encryptions of the same input must differ');
      assert.deepEqual(key.decrypt(c1, aad), v.plaintext);
      assert.deepEqual(key.decrypt(c2, aad), v.plaintext);
    });
  }

  test('an empty and an absent context are the same associated data', () => {
    const key = SecretKey.generate('AES256');
    assert.deepEqual(key.decrypt(key.encrypt(PLAIN_P1), Buffer.alloc(0)), PLAIN_P1);
    assert.deepEqual(key.decrypt(key.encrypt(PLAIN_P1, Buffer.alloc(0))), PLAIN_P1);
  });
});

describe('SecretKey.decrypt: malformed and unauthentic input is one typed error', () => {
  for (const type of ['AES256', 'ChaCha20'] as const) {
    const key = SecretKey.generate(type);
    const aad = Buffer.from('context');
    const good = key.encrypt(Buffer.from('hello world'), aad);

    test(`${type}: every flipped bit is detected`, () => {
      for (let i = 0; i < good.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const bad = Buffer.from(good);
          bad[i]! ^= bit;
          assert.throws(() => key.decrypt(bad, aad), isDecryptError, `byte ${i} bit ${bit}`);
        }
      }
    });

    test(`${type}: wrong context, missing context, wrong key, wrong type`, () => {
      assert.throws(() => key.decrypt(good, Buffer.from('other')), isDecryptError);
      assert.throws(() => key.decrypt(good), isDecryptError);
      assert.throws(() => SecretKey.generate(type).decrypt(good, aad), isDecryptError);
      const other = new SecretKey(type === 'AES256' ? 'ChaCha20' : 'AES256', key.bytes());
      assert.throws(() => other.decrypt(good, aad), isDecryptError);
    });

    test(`${type}: every truncation and extension fails`, () => {
      for (let n = 0; n < good.length; n++) assert.throws(() => key.decrypt(good.subarray(0, n), aad), isDecryptError, `length ${n}`);
      assert.throws(() => key.decrypt(Buffer.concat([good, Buffer.of(0)]), aad), isDecryptError);
      assert.throws(() => key.decrypt(Buffer.concat([Buffer.of(0), good]), aad), isDecryptError);
    });

    test(`${type}: garbage of every small length fails`, () => {
      for (let n = 0; n < 80; n++) {
        for (const first of [0x00, 0x7b, 0x95, 0xff]) {
          const junk = randomBytes(n);
          if (n > 0) junk[0] = first;
          assert.throws(() => key.decrypt(junk, aad), isDecryptError, `length ${n} first ${first}`);
        }
      }
    });
  }

  test('an untyped legacy key honours the algorithm a legacy ciphertext records', () => {
    // Vector #4 is a ChaCha20 msgpack ciphertext of key Z; a legacy entry without algorithm is
    // AES256 by default, and KES HEAD cannot decrypt it. Ours can.
    const v = DECRYPT_VECTORS[4]!;
    assert.deepEqual(new SecretKey('AES256', KEY_Z, true).decrypt(v.ciphertext), PLAIN_P1);
    assert.throws(() => new SecretKey('AES256', KEY_Z).decrypt(v.ciphertext), isDecryptError);
  });

  test('keys must be 32 bytes', () => {
    assert.throws(() => new SecretKey('AES256', Buffer.alloc(16)), RangeError);
    assert.throws(() => new SecretKey('ChaCha20', Buffer.alloc(33)), RangeError);
  });
});
