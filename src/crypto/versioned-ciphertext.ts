/**
 * The ciphertext format of key versions 2 and later (docs/key-rings.md). Version 1 of every key
 * writes KES's raw format (`sealed ‖ iv(16) ‖ nonce(12)`, ciphertext.ts), so real KES and every
 * existing ciphertext keep working; a later version prefixes that raw format with a marker and
 * the version number:
 *
 *   `6f 6b 76 01` ("okv", format 1) ‖ version (uint32, big-endian, ≥ 2) ‖ sealed ‖ iv ‖ nonce
 *
 * A raw KES ciphertext starts with AEAD output, which is uniformly random: one in 2^32 starts
 * with the marker by chance. Such a ciphertext is not misread: a reader tries the version the
 * header names, and when that fails to authenticate (or there is no such version) it opens the
 * whole ciphertext as version 1's (key-ring.ts). The header is not authenticated itself; changing
 * the version only selects another key, which then fails to authenticate.
 */
import { IV_SIZE, NONCE_SIZE, TAG_SIZE } from './ciphertext.js';

export const VERSION_MARKER = Buffer.from([0x6f, 0x6b, 0x76, 0x01]);
const HEADER_SIZE = VERSION_MARKER.length + 4;
/** The largest version a header can name. */
export const MAX_VERSION = 0xffff_ffff;

/** Prefixes the raw ciphertext of version `version` (≥ 2) with the header. */
export function addVersionHeader(version: number, raw: Uint8Array): Buffer {
  if (!Number.isInteger(version) || version < 2 || version > MAX_VERSION) throw new RangeError(`version ${version} has no header (2 to ${MAX_VERSION})`);
  const out = Buffer.allocUnsafe(HEADER_SIZE + raw.length);
  VERSION_MARKER.copy(out, 0);
  out.writeUInt32BE(version, VERSION_MARKER.length);
  out.set(raw, HEADER_SIZE);
  return out;
}

/**
 * The version a ciphertext's header names and the raw ciphertext after it; undefined when it has
 * no header that could be ours (then it is one of KES's formats, version 1). A result is a
 * candidate only: a raw KES ciphertext may carry the marker by chance.
 */
export function readVersionHeader(c: Uint8Array): { version: number; raw: Buffer } | undefined {
  if (c.length < HEADER_SIZE + TAG_SIZE + IV_SIZE + NONCE_SIZE) return undefined;
  const buf = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  if (!buf.subarray(0, VERSION_MARKER.length).equals(VERSION_MARKER)) return undefined;
  const version = buf.readUInt32BE(VERSION_MARKER.length);
  if (version < 2) return undefined;
  return { version, raw: buf.subarray(HEADER_SIZE) };
}
