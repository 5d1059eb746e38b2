/**
 * Standard padded base64 (RFC 4648 §4) decoding with Go's `encoding/base64.StdEncoding` rules,
 * which is how KES and its clients encode every byte field in JSON.
 *
 * Node's `Buffer.from(s, 'base64')` is lenient (it skips invalid characters, accepts the URL
 * alphabet and missing padding); this decoder rejects what Go rejects, so malformed input fails
 * the same way it fails against KES. Like Go's non-strict decoding, it ignores the unused bits
 * of a padded last group.
 */

/** The value of each character of the standard alphabet by character code; -1 for the others. */
const VALUE = new Int8Array(128).fill(-1);
[...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].forEach((c, i) => (VALUE[c.charCodeAt(0)] = i));
const PAD = 0x3d; // '='

/**
 * Decodes standard padded base64. Line breaks (`\r`, `\n`) are ignored as in Go.
 * Returns undefined when the input is not valid.
 */
export function decodeBase64(text: string): Buffer | undefined {
  // As it is first (the common case, one pass), else once more without line breaks.
  const bytes = decodeStrict(text);
  if (bytes !== undefined || (!text.includes('\n') && !text.includes('\r'))) return bytes;
  return decodeStrict(text.replace(/[\r\n]/g, ''));
}

/**
 * Decodes and validates in one pass: whole 4-character groups of the alphabet, the last one
 * possibly ending in `=` or `==`. (In JavaScript: for request-sized fields this costs less than
 * Node's decoder alone, which would still need a validation pass.)
 */
function decodeStrict(s: string): Buffer | undefined {
  const n = s.length;
  if (n % 4 !== 0) return undefined;
  let pad = 0;
  if (n > 0 && s.charCodeAt(n - 1) === PAD) pad = s.charCodeAt(n - 2) === PAD ? 2 : 1;
  const out = Buffer.allocUnsafe((n / 4) * 3 - pad);
  const whole = pad === 0 ? n : n - 4;
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = value(s, i);
    const b = value(s, i + 1);
    const c = value(s, i + 2);
    const d = value(s, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  if (pad > 0) {
    const a = value(s, whole);
    const b = value(s, whole + 1);
    const c = pad === 1 ? value(s, whole + 2) : 0;
    if ((a | b | c) < 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    if (pad === 1) out[o] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}

/** The 6-bit value of the character at i, or -1 when it is not in the alphabet. */
function value(s: string, i: number): number {
  const code = s.charCodeAt(i);
  return code < 128 ? VALUE[code]! : -1;
}

/** Encodes bytes as standard padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  // A Buffer view of a Uint8Array costs more than the encoding of a data key: only when needed.
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buf.toString('base64');
}
