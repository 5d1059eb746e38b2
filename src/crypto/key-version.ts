/**
 * Key store entries (protocol.md §8.3): what the server stores per key, byte for byte as KES does.
 *
 * Written as ASCII base64 of the protobuf message `miniohq.kms.KeyVersion`:
 *   1: SecretKey { 1: key bytes(32), 2: type (1 AES256, 2 ChaCha20) }
 *   2: HMACKey   { 1: key bytes(32), 2: hash (1 SHA256) }
 *   3: google.protobuf.Timestamp created_at { 1: seconds, 2: nanos }
 *   4: string created_by
 * Read in that form and in every legacy JSON form KES wrote before 2024-01.
 */
import { KEY_TYPE_ENUM, type KeyType, parseKeyType } from './key-type.js';
import { KEY_SIZE, SecretKey } from './secret-key.js';
import { HASH_SHA256, HmacKey } from './hmac-key.js';
import { LEN, ProtoWriter, readFields, VARINT, type ProtoField } from './protobuf.js';
import { Timestamp } from '../util/time.js';
import { decodeBase64 } from '../util/base64.js';
import { bytesField, getField, JsonFieldError, parseJsonObject, stringField } from '../util/json.js';

/** One stored key: its secret key, HMAC key (absent for legacy entries) and provenance. */
export interface KeyVersion {
  key: SecretKey;
  hmacKey?: HmacKey;
  createdAt: Timestamp;
  createdBy: string;
}

/** Thrown when stored bytes are not a valid key entry. The message never contains key bytes. */
export class KeyVersionError extends Error {
  override readonly name = 'KeyVersionError';
}

/**
 * Encodes a key version in the current format: base64(protobuf), as ASCII bytes.
 * @throws KeyVersionError when the HMAC key is missing (KES requires both keys).
 */
export function encodeKeyVersion(v: KeyVersion): Buffer {
  if (!v.hmacKey) throw new KeyVersionError('key version has no HMAC key');
  const msg = new ProtoWriter()
    .message(1, secretKeyMessage(v.key))
    .message(2, hmacKeyMessage(v.hmacKey))
    .message(3, timestampMessage(v.createdAt))
    .bytes(4, Buffer.from(v.createdBy, 'utf8'))
    .finish();
  return Buffer.from(msg.toString('base64'), 'ascii');
}

/** `SecretKey { 1: key bytes, 2: type }` (also a part of key ring entries, key-ring-entry.ts). */
export function secretKeyMessage(key: SecretKey): ProtoWriter {
  return new ProtoWriter().bytes(1, key.bytes()).varint(2, KEY_TYPE_ENUM[key.type]);
}

/** `HMACKey { 1: key bytes, 2: hash }`. */
export function hmacKeyMessage(key: HmacKey): ProtoWriter {
  return new ProtoWriter().bytes(1, key.bytes()).varint(2, HASH_SHA256);
}

/** `google.protobuf.Timestamp { 1: seconds, 2: nanos }`. */
export function timestampMessage(t: Timestamp): ProtoWriter {
  return new ProtoWriter().varint(1, t.seconds).varint(2, t.nanos);
}

/**
 * Parses a stored entry: JSON (legacy) if the bytes are valid JSON, else base64(protobuf).
 * @throws KeyVersionError for anything else.
 */
export function parseKeyVersion(stored: Uint8Array): KeyVersion {
  const text = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString('utf8');
  if (isValidJson(text)) return parseJsonEntry(text);
  const bytes = decodeBase64(text);
  if (!bytes) throw new KeyVersionError('key entry is neither JSON nor base64');
  return parseProtobufEntry(bytes);
}

function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function parseJsonEntry(text: string): KeyVersion {
  const obj = parseJsonObject(text);
  if (!obj) throw new KeyVersionError('legacy key entry is not a JSON object');
  try {
    const material = bytesField(obj, 'bytes');
    if (material.length !== KEY_SIZE) throw new KeyVersionError('legacy key entry has an invalid key size');
    const algorithm = stringField(obj, 'algorithm');
    const type: KeyType | undefined = algorithm === '' ? 'AES256' : parseKeyType(algorithm);
    if (!type) throw new KeyVersionError('legacy key entry has an unknown algorithm');
    const created = getField(obj, 'created_at');
    let createdAt = Timestamp.ZERO;
    if (created !== undefined) {
      const t = typeof created === 'string' ? Timestamp.parse(created) : undefined;
      if (!t) throw new KeyVersionError('legacy key entry has an invalid created_at');
      createdAt = t;
    }
    const key = new SecretKey(type, material, algorithm === '');
    material.fill(0);
    return { key, createdAt, createdBy: stringField(obj, 'created_by') };
  } catch (err) {
    if (err instanceof JsonFieldError) throw new KeyVersionError(`legacy key entry has an invalid '${err.field}' field`);
    throw err;
  }
}

function parseProtobufEntry(bytes: Buffer): KeyVersion {
  let key: SecretKey | undefined;
  let hmacKey: HmacKey | undefined;
  let createdAt = Timestamp.fromSecondsNanos(0n, 0);
  let createdBy = '';
  try {
    for (const f of readFields(bytes)) {
      if (f.num === 1) key = parseSecretKey(lenField(f));
      else if (f.num === 2) hmacKey = parseHmacKey(lenField(f));
      else if (f.num === 3) createdAt = parseTimestamp(lenField(f));
      else if (f.num === 4) createdBy = lenField(f).toString('utf8');
    }
  } catch (err) {
    if (err instanceof KeyVersionError) throw err;
    throw new KeyVersionError('key entry is not a valid protobuf message');
  }
  if (!key) throw new KeyVersionError('key entry has no secret key');
  if (!hmacKey) throw new KeyVersionError('key entry has no HMAC key');
  return { key, hmacKey, createdAt, createdBy };
}

export function lenField(f: ProtoField): Buffer {
  if (f.wire !== LEN) throw new KeyVersionError(`key entry field ${f.num} has the wrong wire type`);
  return f.value;
}

export function varintField(f: ProtoField): bigint {
  if (f.wire !== VARINT) throw new KeyVersionError(`key entry field ${f.num} has the wrong wire type`);
  return f.value;
}

/** `SecretKey { 1: key bytes, 2: type }`; untyped: a legacy key stored without an algorithm (SecretKey). */
export function parseSecretKey(buf: Buffer, untyped = false): SecretKey {
  let material: Buffer = Buffer.alloc(0);
  let typeEnum = 0n;
  for (const f of readFields(buf)) {
    if (f.num === 1) material = lenField(f);
    else if (f.num === 2) typeEnum = varintField(f);
  }
  const type = (Object.keys(KEY_TYPE_ENUM) as KeyType[]).find((t) => BigInt(KEY_TYPE_ENUM[t]) === typeEnum);
  if (!type) throw new KeyVersionError('key entry has an unknown key type');
  if (material.length !== KEY_SIZE) throw new KeyVersionError('key entry has an invalid key size');
  return new SecretKey(type, material, untyped);
}

export function parseHmacKey(buf: Buffer): HmacKey {
  let material: Buffer = Buffer.alloc(0);
  let hash = 0n;
  for (const f of readFields(buf)) {
    if (f.num === 1) material = lenField(f);
    else if (f.num === 2) hash = varintField(f);
  }
  if (hash !== BigInt(HASH_SHA256)) throw new KeyVersionError('key entry has an unknown HMAC hash');
  if (material.length !== KEY_SIZE) throw new KeyVersionError('key entry has an invalid HMAC key size');
  return new HmacKey(material);
}

export function parseTimestamp(buf: Buffer): Timestamp {
  let seconds = 0n;
  let nanos = 0n;
  for (const f of readFields(buf)) {
    if (f.num === 1) seconds = BigInt.asIntN(64, varintField(f));
    else if (f.num === 2) nanos = BigInt.asIntN(32, varintField(f));
  }
  return Timestamp.fromSecondsNanos(seconds, nanos);
}
