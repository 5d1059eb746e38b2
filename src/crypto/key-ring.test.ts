import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyRing, KeyRingError } from './key-ring.js';
import { SecretKey } from './secret-key.js';
import { HmacKey } from './hmac-key.js';
import type { KeyVersion } from './key-version.js';
import { isKesError } from '../api/errors.js';
import { Timestamp } from '../util/time.js';
import { readVersionHeader, VERSION_MARKER } from './versioned-ciphertext.js';
import { DECRYPT_VECTORS, KEY_K2 } from '../../test/helpers/vectors.js';

const version = (type: 'AES256' | 'ChaCha20', key: Buffer, hmac = Buffer.alloc(32, 7)): KeyVersion => ({
  key: new SecretKey(type, key),
  hmacKey: new HmacKey(hmac),
  createdAt: Timestamp.ZERO,
  createdBy: '',
});
/** A random source that returns the same bytes every time: deterministic ciphertexts. */
const fixed = (byte: number) => (n: number) => Buffer.alloc(n, byte);
const isDecryptError = (err: unknown) => isKesError(err) && (err as { code: string }).code === 'KES_ERR_DECRYPT';

describe('KeyRing', () => {
  test('version 1 opens every KES vector (all formats), as the key alone does', () => {
    for (const v of DECRYPT_VECTORS) {
      const ring = KeyRing.single(version(v.type, v.key));
      assert.deepEqual(ring.decrypt(v.ciphertext, v.aad), { version: 1, plaintext: v.plaintext });
    }
  });

  test('a ring of one version seals in KES\'s raw format, byte for byte', () => {
    const v1 = version('AES256', KEY_K2);
    const ring = KeyRing.single(v1);
    const sealed = ring.encrypt(Buffer.from('data'), Buffer.from('ctx'), fixed(3));
    assert.equal(sealed.version, 1);
    assert.deepEqual(sealed.ciphertext, v1.key.encrypt(Buffer.from('data'), Buffer.from('ctx'), fixed(3)));
    assert.equal(readVersionHeader(sealed.ciphertext), undefined);
  });

  test('after a rotation, new data is sealed with version 2 and data of both versions opens', () => {
    const ring1 = KeyRing.single(version('AES256', Buffer.alloc(32, 1)));
    const old = ring1.encrypt(Buffer.from('old'), Buffer.from('ctx'));
    const ring2 = ring1.rotated(version('ChaCha20', Buffer.alloc(32, 2), Buffer.alloc(32, 9)));
    assert.equal(ring2.latest, 2);
    const fresh = ring2.encrypt(Buffer.from('new'), Buffer.from('ctx'));
    assert.equal(fresh.version, 2);
    assert.ok(fresh.ciphertext.subarray(0, 4).equals(VERSION_MARKER));
    assert.deepEqual(ring2.decrypt(old.ciphertext, Buffer.from('ctx')), { version: 1, plaintext: Buffer.from('old') });
    assert.deepEqual(ring2.decrypt(fresh.ciphertext, Buffer.from('ctx')), { version: 2, plaintext: Buffer.from('new') });
    assert.throws(() => ring2.decrypt(fresh.ciphertext, Buffer.from('other')), isDecryptError);
    assert.throws(() => ring1.decrypt(fresh.ciphertext, Buffer.from('ctx')), isDecryptError, 'a ring without version 2');
  });

  test('a retired version\'s data no longer opens, with KES\'s decrypt error; the others still do', () => {
    const ring = KeyRing.single(version('AES256', Buffer.alloc(32, 1)))
      .rotated(version('AES256', Buffer.alloc(32, 2)))
      .rotated(version('AES256', Buffer.alloc(32, 3)));
    const sealed = [1, 2, 3].map((n) => ({ n, c: new KeyRing(ring.list().filter(([v]) => v <= n)).encrypt(Buffer.from(`v${n}`)).ciphertext }));
    for (const retire of [1, 2, 3]) {
      const r = ring.retired(retire);
      for (const { n, c } of sealed) {
        if (n === retire) assert.throws(() => r.decrypt(c), isDecryptError, `v${n} after retiring it`);
        else assert.deepEqual(r.decrypt(c), { version: n, plaintext: Buffer.from(`v${n}`) });
      }
    }
  });

  test('a KES ciphertext that starts with the marker by chance still opens as version 1', () => {
    // Choose the plaintext so that the raw ciphertext's first 8 bytes are the marker and version
    // 2: AES-GCM's output is the plaintext XOR a key stream fixed by the key, IV and nonce.
    const v1 = version('AES256', Buffer.alloc(32, 1));
    const probe = Buffer.alloc(40);
    const stream = v1.key.encrypt(probe, undefined, fixed(5)).subarray(0, 8);
    const target = Buffer.concat([VERSION_MARKER, Buffer.from([0, 0, 0, 2])]);
    const plaintext = Buffer.alloc(40);
    for (let i = 0; i < 8; i++) plaintext[i] = target[i]! ^ stream[i]!;
    const colliding = v1.key.encrypt(plaintext, undefined, fixed(5));
    assert.ok(colliding.subarray(0, 8).equals(target), 'the ciphertext carries the marker and version 2');
    const ring = KeyRing.single(v1).rotated(version('AES256', Buffer.alloc(32, 2)));
    assert.deepEqual(ring.decrypt(colliding), { version: 1, plaintext });
    assert.deepEqual(KeyRing.single(v1).decrypt(colliding), { version: 1, plaintext }, 'without a version 2 too');
  });

  test('the HMAC key belongs to the key: the same across rotations and after version 1 is retired', () => {
    const ring = KeyRing.single(version('AES256', Buffer.alloc(32, 1), Buffer.alloc(32, 0x11))).rotated(version('AES256', Buffer.alloc(32, 2), Buffer.alloc(32, 0x22)));
    const mac = (r: KeyRing) => r.hmacKey!.sum(Buffer.from('message')).toString('hex');
    const before = mac(KeyRing.single(version('AES256', Buffer.alloc(32, 1), Buffer.alloc(32, 0x11))));
    assert.equal(mac(ring), before);
    assert.equal(mac(ring.retired(1)), before);
  });

  test('documented vector (docs/key-rings.md): version 2, AES256, key 32 × 0x02, random bytes 0x05, context "ctx"', () => {
    const ring = KeyRing.single(version('AES256', Buffer.alloc(32, 1))).rotated(version('AES256', Buffer.alloc(32, 2)));
    const { ciphertext } = ring.encrypt(Buffer.from('plaintext'), Buffer.from('ctx'), fixed(5));
    assert.equal(ciphertext.toString('hex'), VECTOR_V2);
    assert.deepEqual(ring.decrypt(Buffer.from(VECTOR_V2, 'hex'), Buffer.from('ctx')), { version: 2, plaintext: Buffer.from('plaintext') });
  });

  test('refuses an empty ring, versions out of range or twice, and retiring the only version', () => {
    const v = version('AES256', Buffer.alloc(32, 1));
    assert.throws(() => new KeyRing([]), KeyRingError);
    assert.throws(() => new KeyRing([[0, v]]), KeyRingError);
    assert.throws(() => new KeyRing([[2 ** 32, v]]), KeyRingError);
    assert.throws(() => new KeyRing([[1, v], [1, v]]), KeyRingError);
    assert.throws(() => KeyRing.single(v).retired(1), /only version/);
    assert.throws(() => KeyRing.single(v).retired(2), /no version 2/);
  });
});

// Computed independently with node:crypto (HMAC-SHA-256 of the IV, then AES-256-GCM) and written
// into docs/key-rings.md.
const VECTOR_V2 = '6f6b760100000002f930beca66b26a5039d5d9a2911a714593d9830bd9c59aab4f05050505050505050505050505050505050505050505050505050505';
