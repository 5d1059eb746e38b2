/**
 * Ciphertext formats (protocol.md §8.4, §8.5). KES has written three over the years and every one
 * must keep decrypting:
 *
 * - raw (2024+): `sealed ‖ iv(16) ‖ nonce(12)`, the only format written today;
 * - MessagePack (v0.19.2 … 2024-01): `[algorithm, keyID, iv, nonce, sealed]`;
 * - JSON (v0.6.1 … v0.19.1): `{"aead","id","iv","nonce","bytes"}`.
 *
 * `sealed` is the AEAD output: ciphertext ‖ 16-byte tag.
 */
import { type KeyType, parseKeyType } from './key-type.js';
import { bytesField, parseJsonObject, stringField, JsonFieldError } from '../util/json.js';

export const IV_SIZE = 16;
export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;

/** A ciphertext taken apart. `algorithm` is the type a legacy format recorded, if any. */
export interface SealedMessage {
  sealed: Buffer;
  iv: Buffer;
  nonce: Buffer;
  algorithm?: KeyType;
}

/** Encodes a sealed message in the raw format. */
export function encodeCiphertext(m: SealedMessage): Buffer {
  return Buffer.concat([m.sealed, m.iv, m.nonce]);
}

/**
 * Takes a ciphertext in any of the three formats apart. A MessagePack or JSON candidate that
 * does not parse is treated as raw, as KES does. Returns undefined when the input cannot be a
 * ciphertext at all (too short); authenticity is checked only when it is opened.
 */
export function parseCiphertext(c: Uint8Array): SealedMessage | undefined {
  const buf = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  if (buf[0] === 0x95) {
    const m = parseMsgpack(buf);
    if (m) return m;
  } else if (buf[0] === 0x7b) {
    const m = parseJson(buf);
    if (m) return m;
  }
  return parseRaw(buf);
}

function parseRaw(c: Buffer): SealedMessage | undefined {
  if (c.length <= IV_SIZE + NONCE_SIZE) return undefined;
  const n = c.length;
  return {
    sealed: c.subarray(0, n - IV_SIZE - NONCE_SIZE),
    iv: c.subarray(n - IV_SIZE - NONCE_SIZE, n - NONCE_SIZE),
    nonce: c.subarray(n - NONCE_SIZE),
  };
}

const JSON_AEAD: ReadonlyMap<string, KeyType> = new Map([
  ['AES-256-GCM-HMAC-SHA-256', 'AES256'],
  ['ChaCha20Poly1305', 'ChaCha20'],
]);

function parseJson(c: Buffer): SealedMessage | undefined {
  const obj = parseJsonObject(c.toString('utf8'));
  if (!obj) return undefined;
  try {
    const algorithm = JSON_AEAD.get(stringField(obj, 'aead'));
    stringField(obj, 'id');
    const iv = bytesField(obj, 'iv');
    const nonce = bytesField(obj, 'nonce');
    const sealed = bytesField(obj, 'bytes');
    if (!algorithm || iv.length !== IV_SIZE || nonce.length !== NONCE_SIZE) return undefined;
    return { sealed, iv, nonce, algorithm };
  } catch (err) {
    if (err instanceof JsonFieldError) return undefined;
    throw err;
  }
}

// MessagePack type bytes of a str or bin with an 8-, 16- or 32-bit length.
const STR_WIDTHS: ReadonlyMap<number, number> = new Map([[0xd9, 1], [0xda, 2], [0xdb, 4]]);
const BIN_WIDTHS: ReadonlyMap<number, number> = new Map([[0xc4, 1], [0xc5, 2], [0xc6, 4]]);

function parseMsgpack(c: Buffer): SealedMessage | undefined {
  let pos = 1; // after 0x95, a fixarray of five elements
  const read = (widths: ReadonlyMap<number, number>, fixstr: boolean): Buffer | undefined => {
    if (pos >= c.length) return undefined;
    const type = c[pos++]!;
    let len: number;
    if (fixstr && type >= 0xa0 && type <= 0xbf) {
      len = type & 0x1f;
    } else {
      const width = widths.get(type);
      if (width === undefined || pos + width > c.length) return undefined;
      len = c.readUIntBE(pos, width);
      pos += width;
    }
    if (pos + len > c.length) return undefined;
    const v = c.subarray(pos, pos + len);
    pos += len;
    return v;
  };
  const algorithm = read(STR_WIDTHS, true);
  const id = read(STR_WIDTHS, true);
  const iv = read(BIN_WIDTHS, false);
  const nonce = read(BIN_WIDTHS, false);
  const sealed = read(BIN_WIDTHS, false);
  if (!algorithm || !id || !iv || !nonce || !sealed || pos !== c.length) return undefined;
  if (iv.length !== IV_SIZE || nonce.length !== NONCE_SIZE) return undefined;
  const type = parseKeyType(algorithm.toString('utf8'));
  if (!type) return undefined;
  return { sealed, iv, nonce, algorithm: type };
}
