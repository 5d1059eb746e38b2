import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SecretKey } from './secret-key.js';
import { IV_SIZE, NONCE_SIZE, parseCiphertext } from './ciphertext.js';
import type { KeyType } from './key-type.js';
import { ERRORS } from '../api/errors.js';
import { failure, kesError, outcome } from '../../test/helpers/property.js';

const isDecryptError = kesError('KES_ERR_DECRYPT');

const keyType = fc.constantFrom<KeyType>('AES256', 'ChaCha20');
const keyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });
const plaintext = fc.uint8Array({ maxLength: 200 });
const aad = fc.uint8Array({ maxLength: 48 });

/** Decrypts expecting only the typed decryption error (400, KES's message). */
function open(key: SecretKey, c: Uint8Array, a?: Uint8Array) {
  const o = outcome(() => key.decrypt(c, a), isDecryptError);
  if (!o.ok) assert.equal(o.error.message, ERRORS.KES_ERR_DECRYPT.message);
  return o;
}

/** A raw ciphertext taken apart (protocol.md §8.4). */
function split(raw: Buffer) {
  const n = raw.length;
  return { sealed: raw.subarray(0, n - 28), iv: raw.subarray(n - 28, n - 12), nonce: raw.subarray(n - 12) };
}

// MessagePack str/bin headers (type byte and big-endian length), written from the MessagePack spec.
type Width = 'fix' | 8 | 16 | 32;
function msgpackHeader(kind: 'str' | 'bin', width: Width, length: number): Buffer {
  if (width === 'fix') return Buffer.of(0xa0 | length);
  const type = kind === 'str' ? { 8: 0xd9, 16: 0xda, 32: 0xdb }[width] : { 8: 0xc4, 16: 0xc5, 32: 0xc6 }[width];
  const len = Buffer.alloc(width / 8);
  len.writeUIntBE(length, 0, width / 8);
  return Buffer.concat([Buffer.of(type), len]);
}
function msgpackItem(kind: 'str' | 'bin', width: Width, value: Buffer): Buffer {
  const fits = width === 'fix' ? kind === 'str' && value.length < 32 : value.length < 2 ** width;
  return Buffer.concat([msgpackHeader(kind, fits ? width : 32, value.length), value]);
}

/** Algorithm names each format records for each key type (protocol.md §8.5). */
const MSGPACK_NAMES: Record<KeyType, string[]> = { AES256: ['AES256-GCM_SHA256', 'AES256'], ChaCha20: ['XCHACHA20-POLY1305', 'ChaCha20'] };
const JSON_NAMES: Record<KeyType, string> = { AES256: 'AES-256-GCM-HMAC-SHA-256', ChaCha20: 'ChaCha20Poly1305' };

const width = fc.constantFrom<Width>('fix', 8, 16, 32);
const msgpackLayout = fc.record({ nameIndex: fc.nat(1), id: fc.stringMatching(/^[0-9a-f]{0,32}$/), widths: fc.array(width, { minLength: 5, maxLength: 5 }) });
type MsgpackLayout = typeof msgpackLayout extends fc.Arbitrary<infer T> ? T : never;

function toMsgpack(raw: Buffer, type: KeyType, l: MsgpackLayout): Buffer {
  const { sealed, iv, nonce } = split(raw);
  const [w0, w1, w2, w3, w4] = l.widths as [Width, Width, Width, Width, Width];
  return Buffer.concat([
    Buffer.of(0x95),
    msgpackItem('str', w0, Buffer.from(MSGPACK_NAMES[type][l.nameIndex]!)),
    msgpackItem('str', w1, Buffer.from(l.id)),
    msgpackItem('bin', w2 === 'fix' ? 8 : w2, iv),
    msgpackItem('bin', w3 === 'fix' ? 8 : w3, nonce),
    msgpackItem('bin', w4 === 'fix' ? 8 : w4, sealed),
  ]);
}

/** JSON form with fields in any order, names in any letter case, with or without `id`. */
const jsonLayout = fc.record({ order: fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }), upper: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), id: fc.boolean() });
type JsonLayout = typeof jsonLayout extends fc.Arbitrary<infer T> ? T : never;

function toJson(raw: Buffer, type: KeyType, l: JsonLayout): Buffer {
  const { sealed, iv, nonce } = split(raw);
  const fields: [string, string][] = [
    ['aead', JSON_NAMES[type]],
    ['iv', iv.toString('base64')],
    ['nonce', nonce.toString('base64')],
    ['bytes', sealed.toString('base64')],
  ];
  const ordered = l.order.map((i) => fields[i]!);
  if (l.id) ordered.push(['id', '66687aadf862bd776c8fc18b8e9f8e20']);
  const obj = Object.fromEntries(ordered.map(([k, v], i) => [l.upper[i] ? k.toUpperCase() : k, v]));
  return Buffer.from(JSON.stringify(obj));
}

describe('SecretKey encryption (properties)', () => {
  test('decrypt(encrypt(p, a), a) is p for both key types; the raw format is |p| + 44 bytes', () => {
    fc.assert(
      fc.property(keyType, keyBytes, plaintext, aad, (type, k, p, a) => {
        const key = new SecretKey(type, k);
        const c = key.encrypt(p, a);
        assert.equal(c.length, p.length + 44);
        assert.deepEqual(key.decrypt(c, a), Buffer.from(p));
        if (a.length === 0) assert.deepEqual(key.decrypt(c), Buffer.from(p), 'empty and absent associated data are the same');
      }),
      { numRuns: 2000 },
    );
  });

  test('the MessagePack format (any str/bin widths, either algorithm name) decrypts to p', () => {
    fc.assert(
      fc.property(keyType, keyBytes, plaintext, aad, msgpackLayout, (type, k, p, a, layout) => {
        const key = new SecretKey(type, k);
        const legacy = toMsgpack(key.encrypt(p, a), type, layout);
        assert.equal(parseCiphertext(legacy)?.algorithm, type);
        assert.deepEqual(key.decrypt(legacy, a), Buffer.from(p));
      }),
      { numRuns: 1500 },
    );
  });

  test('the JSON format (any field order and letter case) decrypts to p', () => {
    fc.assert(
      fc.property(keyType, keyBytes, plaintext, aad, jsonLayout, (type, k, p, a, layout) => {
        const key = new SecretKey(type, k);
        const legacy = toJson(key.encrypt(p, a), type, layout);
        assert.equal(parseCiphertext(legacy)?.algorithm, type);
        assert.deepEqual(key.decrypt(legacy, a), Buffer.from(p));
      }),
      { numRuns: 1500 },
    );
  });

  test('an untyped legacy key opens legacy ciphertexts of either algorithm, and raw ones as its type', () => {
    fc.assert(
      fc.property(keyType, keyBytes, plaintext, msgpackLayout, jsonLayout, fc.boolean(), (type, k, p, ml, jl, useJson) => {
        const writer = new SecretKey(type, k);
        const untyped = new SecretKey('AES256', k, true);
        const raw = writer.encrypt(p);
        const legacy = useJson ? toJson(raw, type, jl) : toMsgpack(raw, type, ml);
        assert.deepEqual(untyped.decrypt(legacy), Buffer.from(p));
        assert.equal(open(untyped, raw).ok, type === 'AES256');
      }),
      { numRuns: 1000 },
    );
  });

  test('wrong associated data, a wrong key or the other key type: only the decryption error', () => {
    fc.assert(
      fc.property(keyType, keyBytes, keyBytes, plaintext, aad, aad, (type, k1, k2, p, a1, a2) => {
        const key = new SecretKey(type, k1);
        const c = key.encrypt(p, a1);
        if (!Buffer.from(a1).equals(Buffer.from(a2))) failure(open(key, c, a2), 'wrong associated data');
        if (!Buffer.from(k1).equals(Buffer.from(k2))) failure(open(new SecretKey(type, k2), c, a1), 'wrong key');
        failure(open(new SecretKey(type === 'AES256' ? 'ChaCha20' : 'AES256', k1), c, a1), 'other key type');
      }),
      { numRuns: 1000 },
    );
  });

  test('every bit flip, truncation or extension of a raw ciphertext is rejected', () => {
    fc.assert(
      fc.property(keyType, keyBytes, plaintext, aad, fc.nat(), fc.nat(7), fc.uint8Array({ minLength: 1, maxLength: 8 }), (type, k, p, a, at, bit, extra) => {
        const key = new SecretKey(type, k);
        const c = key.encrypt(p, a);
        const flipped = Buffer.from(c);
        flipped[at % c.length]! ^= 1 << bit;
        failure(open(key, flipped, a), 'bit flip');
        failure(open(key, c.subarray(0, at % c.length), a), 'truncation');
        failure(open(key, Buffer.concat([c, extra]), a), 'extension');
      }),
      { numRuns: 2000 },
    );
  });

  test('mutated legacy ciphertexts give p back or the decryption error, never another plaintext', () => {
    const mutation = fc.record({ at: fc.nat(), byte: fc.nat(255), kind: fc.constantFrom('set', 'delete', 'insert', 'truncate') });
    fc.assert(
      fc.property(keyType, keyBytes, plaintext, msgpackLayout, jsonLayout, fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 3 }), (type, k, p, ml, jl, useJson, mutations) => {
        const key = new SecretKey(type, k);
        const raw = key.encrypt(p);
        let c = useJson ? toJson(raw, type, jl) : toMsgpack(raw, type, ml);
        for (const m of mutations) {
          const at = m.at % (c.length + 1);
          if (m.kind === 'set') c = Buffer.concat([c.subarray(0, at), Buffer.of(m.byte), c.subarray(at + 1)]);
          else if (m.kind === 'delete') c = Buffer.concat([c.subarray(0, at), c.subarray(at + 1)]);
          else if (m.kind === 'insert') c = Buffer.concat([c.subarray(0, at), Buffer.of(m.byte), c.subarray(at)]);
          else c = c.subarray(0, at);
        }
        const o = open(key, c);
        if (o.ok) assert.deepEqual(o.value, Buffer.from(p));
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary bytes, MessagePack-like and JSON-like input: only the decryption error', () => {
    const jsonLike = fc
      .dictionary(fc.constantFrom('aead', 'AEAD', 'id', 'iv', 'nonce', 'bytes', 'Bytes', 'x'), fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.base64String({ maxLength: 40 }), fc.constantFrom(...Object.values(JSON_NAMES))))
      .map((o) => Buffer.from(JSON.stringify(o)));
    const msgpackLike = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.concat([Buffer.of(0x95), b]));
    const input = fc.oneof(fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)), jsonLike, msgpackLike);
    fc.assert(
      fc.property(keyType, keyBytes, fc.boolean(), input, aad, (type, k, untyped, c, a) => {
        const parsed = parseCiphertext(c);
        if (parsed) {
          assert.equal(parsed.iv.length, IV_SIZE);
          assert.equal(parsed.nonce.length, NONCE_SIZE);
        }
        failure(open(new SecretKey(type, k, untyped), c, a), 'arbitrary input');
      }),
      { numRuns: 3000 },
    );
  });
});
