/**
 * Key rings in the key stores (docs/key-rings.md). A key of one version, version 1, is stored
 * exactly as KES stores every key (key-version.ts), so real KES and `kes migrate` read it; a
 * ring of other versions is stored as one entry of its own form:
 *
 *   `kes-ring:1:` ‖ base64(protobuf KeyRing)
 *   KeyRing { 1: repeated Version, 2: HMACKey hmac_key (the key's; absent for legacy keys),
 *             3: uint32 highest (the highest version number ever used, when above the latest) }
 *
 * Version numbers are never given twice: a key that had version 3 gets version 4 next, even
 * after version 3 was retired (field 3 above, field 15 in KES's form).
 *   Version { 1: uint32 number, 2: SecretKey key, 3: Timestamp created_at, 4: string created_by,
 *             5: bool untyped (a legacy key stored without an algorithm) }
 *
 * `:` and `-` are neither base64 nor the start of JSON, so a ring entry is never taken for one of
 * KES's forms, nor one of them for a ring. The whole ring is one entry: a rotation replaces it by
 * compare-and-swap (KeyStore.replace), so it is atomic in every store that has one.
 */
import { KeyRing } from './key-ring.js';
import {
  encodeKeyVersion,
  hmacKeyMessage,
  KeyVersionError,
  lenField,
  parseHmacKey,
  parseKeyVersion,
  parseSecretKey,
  parseTimestamp,
  secretKeyMessage,
  timestampMessage,
  varintField,
  type KeyVersion,
} from './key-version.js';
import type { HmacKey } from './hmac-key.js';
import { ProtoWriter, readFields } from './protobuf.js';
import { Timestamp } from '../util/time.js';
import { decodeBase64 } from '../util/base64.js';

const RING_PREFIX = 'kes-ring:1:';

/** Encodes a ring: KES's entry for a ring of version 1 alone, else the ring form. */
export function encodeKeyRing(ring: KeyRing): Buffer {
  const versions = ring.list();
  const only = versions.length === 1 && versions[0]![0] === 1 ? versions[0]![1] : undefined;
  if (only && ring.hmacKey) return withHighest(encodeKeyVersion({ ...only, hmacKey: ring.hmacKey }), ring.highest);
  const msg = new ProtoWriter();
  for (const [n, v] of versions) {
    msg.message(
      1,
      new ProtoWriter()
        .varint(1, n)
        .message(2, secretKeyMessage(v.key))
        .message(3, timestampMessage(v.createdAt))
        .bytes(4, Buffer.from(v.createdBy, 'utf8'))
        .varint(5, v.key.untyped ? 1 : 0),
    );
  }
  if (ring.hmacKey) msg.message(2, hmacKeyMessage(ring.hmacKey));
  if (ring.highest > ring.latest) msg.varint(3, ring.highest);
  return Buffer.from(RING_PREFIX + msg.finish().toString('base64'), 'ascii');
}

/**
 * Parses a stored entry: the ring form, or any of KES's forms (a ring of version 1).
 * @throws KeyVersionError for anything else; the message never contains key bytes
 */
export function parseKeyRing(stored: Uint8Array): KeyRing {
  const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (!buf.subarray(0, RING_PREFIX.length).equals(Buffer.from(RING_PREFIX, 'ascii'))) {
    const v = parseKeyVersion(stored);
    const highest = highestOf(buf);
    return highest > 1 ? new KeyRing([[1, v]], undefined, highest) : KeyRing.single(v);
  }
  const bytes = decodeBase64(buf.toString('ascii', RING_PREFIX.length));
  if (!bytes) throw new KeyVersionError('key ring entry is not base64');
  const versions: [number, KeyVersion][] = [];
  let hmacKey: HmacKey | undefined;
  let highest = 0;
  try {
    for (const f of readFields(bytes)) {
      if (f.num === 1) versions.push(parseVersion(lenField(f)));
      else if (f.num === 2) hmacKey = parseHmacKey(lenField(f));
      else if (f.num === 3) highest = Number(varintField(f));
    }
  } catch (err) {
    if (err instanceof KeyVersionError) throw err;
    throw new KeyVersionError('key ring entry is not a valid protobuf message');
  }
  try {
    return new KeyRing(versions, hmacKey, highest);
  } catch (err) {
    throw new KeyVersionError(`key ring entry is invalid: ${(err as Error).message}`);
  }
}

/**
 * A key whose later versions were all retired is stored in KES's form again (KES reads it), with
 * the highest version number it had in a field KES ignores (15, varint), so that numbers are
 * never given twice.
 */
const HIGHEST_FIELD = 15;

function withHighest(entry: Buffer, highest: number): Buffer {
  if (highest <= 1) return entry;
  const msg = Buffer.concat([Buffer.from(entry.toString('ascii'), 'base64'), new ProtoWriter().varint(HIGHEST_FIELD, highest).finish()]);
  return Buffer.from(msg.toString('base64'), 'ascii');
}

/** The highest version number a KES-form entry records (0: none, or not the protobuf form). */
function highestOf(entry: Buffer): number {
  const bytes = entry[0] === 0x7b ? undefined : decodeBase64(entry.toString('ascii')); // '{': JSON
  if (!bytes) return 0;
  try {
    const f = readFields(bytes).find((x) => x.num === HIGHEST_FIELD);
    return f ? Number(varintField(f)) : 0;
  } catch {
    return 0;
  }
}

function parseVersion(buf: Buffer): [number, KeyVersion] {
  let n = 0;
  let key: Buffer | undefined;
  let createdAt = Timestamp.ZERO;
  let createdBy = '';
  let untyped = false;
  for (const f of readFields(buf)) {
    if (f.num === 1) n = Number(varintField(f));
    else if (f.num === 2) key = lenField(f);
    else if (f.num === 3) createdAt = parseTimestamp(lenField(f));
    else if (f.num === 4) createdBy = lenField(f).toString('utf8');
    else if (f.num === 5) untyped = varintField(f) !== 0n;
  }
  if (!key) throw new KeyVersionError(`key ring entry: version ${n} has no secret key`);
  return [n, { key: parseSecretKey(key, untyped), createdAt, createdBy }];
}
