import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeKeyRing, parseKeyRing } from './key-ring-entry.js';
import { KeyRing } from './key-ring.js';
import { encodeKeyVersion, KeyVersionError, parseKeyVersion, type KeyVersion } from './key-version.js';
import { SecretKey } from './secret-key.js';
import { HmacKey } from './hmac-key.js';
import { Timestamp } from '../util/time.js';
import { PROTOBUF_ENTRY } from '../../test/helpers/vectors.js';

const version = (type: 'AES256' | 'ChaCha20', byte: number, by = 'someone'): KeyVersion => ({
  key: new SecretKey(type, Buffer.alloc(32, byte)),
  hmacKey: new HmacKey(Buffer.alloc(32, byte + 100)),
  createdAt: Timestamp.fromSecondsNanos(1_700_000_000n + BigInt(byte), 5),
  createdBy: by,
});

/** What a ring holds, comparable: versions with key bytes, type, provenance; the HMAC key. */
function contents(r: KeyRing) {
  return {
    versions: r.list().map(([n, v]) => [n, v.key.type, v.key.untyped, v.key.bytes().toString('hex'), v.createdAt.toString(), v.createdBy]),
    hmac: r.hmacKey?.bytes().toString('hex'),
  };
}

describe('key ring entries', () => {
  test('a key of version 1 alone is stored as KES stores it, byte for byte', () => {
    const v1 = version('AES256', 1);
    assert.deepEqual(encodeKeyRing(KeyRing.single(v1)), encodeKeyVersion(v1));
  });

  test('KES\'s entries (the protobuf vector) read as a ring of version 1', () => {
    const ring = parseKeyRing(Buffer.from(PROTOBUF_ENTRY));
    const kes = parseKeyVersion(Buffer.from(PROTOBUF_ENTRY));
    assert.equal(ring.latest, 1);
    assert.ok(ring.version(1)!.key.equals(kes.key));
    assert.ok(ring.hmacKey!.equals(kes.hmacKey!));
  });

  test('a rotated ring, and one with version 1 retired, round-trip with the key\'s HMAC key', () => {
    const ring = KeyRing.single(version('AES256', 1)).rotated(version('ChaCha20', 2, 'rotator')).rotated(version('AES256', 3));
    for (const r of [ring, ring.retired(1), ring.retired(2), ring.retired(1).retired(2)]) {
      const stored = encodeKeyRing(r);
      assert.match(stored.toString('ascii'), /^kes-ring:1:[A-Za-z0-9+/=]+$/);
      assert.deepEqual(contents(parseKeyRing(stored)), contents(r));
      assert.equal(parseKeyRing(stored).hmacKey!.bytes().toString('hex'), Buffer.alloc(32, 101).toString('hex'), 'version 1\'s HMAC key');
    }
    // Version 1 alone again (its successors retired): KES's form, which KES reads (it skips the
    // unknown field 15), with the highest number given so far: the next version is 4, not 2.
    const back = ring.retired(2).retired(3);
    const stored = encodeKeyRing(back);
    const kes = encodeKeyVersion(version('AES256', 1));
    assert.deepEqual(Buffer.from(stored.toString('ascii'), 'base64').subarray(0, Buffer.from(kes.toString('ascii'), 'base64').length), Buffer.from(kes.toString('ascii'), 'base64'));
    assert.deepEqual(contents(parseKeyRing(stored)), contents(back));
    assert.equal(parseKeyRing(stored).highest, 3);
    assert.equal(parseKeyRing(stored).rotated(version('AES256', 9)).latest, 4);
    // Never rotated: exactly KES's form.
    assert.deepEqual(encodeKeyRing(KeyRing.single(version('AES256', 1))), kes);
  });

  test('a legacy key (no algorithm, no HMAC key) keeps being untyped and HMAC-less through a rotation', () => {
    const legacy = parseKeyVersion(Buffer.from(JSON.stringify({ bytes: Buffer.alloc(32, 9).toString('base64'), created_at: '2020-01-02T03:04:05Z' })));
    assert.equal(legacy.key.untyped, true);
    const ring = KeyRing.single(legacy).rotated(version('AES256', 2));
    const read = parseKeyRing(encodeKeyRing(ring));
    assert.deepEqual(contents(read), contents(ring));
    assert.equal(read.hmacKey, undefined);
  });

  test('corrupt ring entries are refused without key bytes in the message', () => {
    for (const bad of ['kes-ring:1:', 'kes-ring:1:!!!', 'kes-ring:1:' + Buffer.from([0x0a, 0x02, 0x08]).toString('base64'), 'kes-ring:1:' + Buffer.from([0x0a, 0x02, 0x08, 0x02]).toString('base64')]) {
      assert.throws(() => parseKeyRing(Buffer.from(bad)), (e) => e instanceof KeyVersionError, bad);
    }
  });
});
