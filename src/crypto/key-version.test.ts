import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeKeyVersion, KeyVersionError, parseKeyVersion, type KeyVersion } from './key-version.js';
import { SecretKey } from './secret-key.js';
import { HmacKey } from './hmac-key.js';
import { Timestamp } from '../util/time.js';
import { KEY_Z, PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../../test/helpers/vectors.js';

const parse = (s: string) => parseKeyVersion(Buffer.from(s));
const hex = (k: { bytes(): Buffer }) => k.bytes().toString('hex');

describe('parseKeyVersion: KES entries (test-vectors.md §3)', () => {
  test('the HEAD format: base64 protobuf with HMAC key and nanosecond time', () => {
    const v = parse(PROTOBUF_ENTRY);
    assert.equal(v.key.type, 'AES256');
    assert.equal(v.key.bytes().toString('base64'), PROTOBUF_ENTRY_FIELDS.key);
    assert.equal(v.hmacKey?.bytes().toString('base64'), PROTOBUF_ENTRY_FIELDS.hmacKey);
    assert.equal(v.createdAt.toString(), PROTOBUF_ENTRY_FIELDS.createdAt);
    assert.equal(v.createdAt.seconds, 1705055960n);
    assert.equal(v.createdAt.nanos, 886816000);
    assert.equal(v.createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
  });

  test('re-encoding the HEAD entry gives the same bytes (Go proto.Marshal field order)', () => {
    assert.equal(encodeKeyVersion(parse(PROTOBUF_ENTRY)).toString('ascii'), PROTOBUF_ENTRY);
  });

  const legacy: { entry: string; type: string; keyHex: string; createdAt?: string; createdBy?: string; untyped: boolean }[] = [
    { entry: '{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}', type: 'AES256', keyHex: '00'.repeat(32), untyped: true },
    { entry: '{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="}', type: 'AES256', keyHex: '00'.repeat(31) + '01', untyped: true },
    { entry: '{"bytes":"J8qmOyEV2ce2yoAC+5t0Y7CSP/hTMppL7XHpAnyc+0E="}', type: 'AES256', keyHex: '27caa63b2115d9c7b6ca8002fb9b7463b0923ff853329a4bed71e9027c9cfb41', untyped: true },
    {
      entry: '{"bytes":"J8qmOyEV2ce2yoAC+5t0Y7CSP/hTMppL7XHpAnyc+0E=","algorithm":"AES256-GCM_SHA256","created_at":"2009-11-10T23:00:00Z","created_by":"40235905b7b83e0537a002db523cd019d6709b899adc249c957860cd00fa9f78"}',
      type: 'AES256',
      keyHex: '27caa63b2115d9c7b6ca8002fb9b7463b0923ff853329a4bed71e9027c9cfb41',
      createdAt: '2009-11-10T23:00:00Z',
      createdBy: '40235905b7b83e0537a002db523cd019d6709b899adc249c957860cd00fa9f78',
      untyped: false,
    },
    {
      entry: '{"bytes":"9ew6BCae3+13sniOUwttEJ62amg98YXc0OW0WBhNiCY=","algorithm":"XCHACHA20-POLY1305","created_at":"2009-11-10T23:00:00Z","created_by":"189d9de5331e3ee8abe9e4bd40d474ad621d79ccf83a711f6ac68050eb15a52a"}',
      type: 'ChaCha20',
      keyHex: 'f5ec3a04269edfed77b2788e530b6d109eb66a683df185dcd0e5b458184d8826',
      createdAt: '2009-11-10T23:00:00Z',
      createdBy: '189d9de5331e3ee8abe9e4bd40d474ad621d79ccf83a711f6ac68050eb15a52a',
      untyped: false,
    },
    // Later legacy writers: a leading "version", kes-go v0.2 enum names, created_at with offset.
    {
      entry: '{"version":"v1","bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","algorithm":"ChaCha20","created_at":"2024-01-12T11:39:20.886816123+01:00","created_by":"x","id":"ignored"}',
      type: 'ChaCha20',
      keyHex: '00'.repeat(32),
      createdAt: '2024-01-12T11:39:20.886816123+01:00',
      createdBy: 'x',
      untyped: false,
    },
    { entry: '{"Bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","ALGORITHM":"AES256"}', type: 'AES256', keyHex: '00'.repeat(32), untyped: false },
  ];
  for (const [i, c] of legacy.entries()) {
    test(`legacy JSON entry #${i}`, () => {
      const v = parse(c.entry);
      assert.equal(v.key.type, c.type);
      assert.equal(hex(v.key), c.keyHex);
      assert.equal(v.key.untyped, c.untyped);
      assert.equal(v.hmacKey, undefined, 'legacy entries have no HMAC key');
      assert.equal(v.createdAt.toString(), c.createdAt ?? '0001-01-01T00:00:00Z');
      assert.equal(v.createdBy, c.createdBy ?? '');
    });
  }

  const invalid = [
    '"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}',
    '{bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}',
    '{"bytes""AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}',
    '"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="',
    '',
    '{}',
    '{"bytes":"AAAA"}',
    '{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","algorithm":"AES-256"}',
    '{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","created_at":"yesterday"}',
    '{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","created_at":5}',
    '{"bytes":123}',
    '[1,2]',
    'not base64!',
    Buffer.from([0x0a, 0x05, 1, 2]).toString('base64'),
  ];
  for (const [i, entry] of invalid.entries()) {
    test(`invalid entry #${i} fails with KeyVersionError`, () => {
      assert.throws(() => parse(entry), KeyVersionError);
    });
  }
});

describe('encodeKeyVersion', () => {
  const base: KeyVersion = {
    key: new SecretKey('AES256', KEY_Z),
    hmacKey: new HmacKey(KEY_Z),
    createdAt: Timestamp.parse('2024-01-12T11:39:20.886816+01:00')!,
    createdBy: '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22',
  };

  test('round trips (test-vectors.md §3 encode test), time kept to the nanosecond', () => {
    for (const v of [
      base,
      { ...base, key: new SecretKey('ChaCha20', Buffer.alloc(32, 7)), createdAt: new Timestamp(1700000000n, 123456789) },
      { ...base, createdBy: '', createdAt: Timestamp.ZERO },
      { ...base, createdAt: new Timestamp(0n, 0) },
    ]) {
      const back = parseKeyVersion(encodeKeyVersion(v));
      assert.ok(back.key.equals(v.key));
      assert.ok(back.hmacKey!.equals(v.hmacKey!));
      assert.ok(back.createdAt.equals(v.createdAt), `${back.createdAt} != ${v.createdAt}`);
      assert.equal(back.createdBy, v.createdBy);
    }
  });

  test('a version without an HMAC key cannot be encoded', () => {
    assert.throws(() => encodeKeyVersion({ ...base, hmacKey: undefined }), KeyVersionError);
  });

  test('the encoding is ASCII base64', () => {
    assert.match(encodeKeyVersion(base).toString('latin1'), /^[A-Za-z0-9+/]+=*$/);
  });
});
