/**
 * Standard padded base64 (RFC 4648 §4) decoding with Go's `encoding/base64.StdEncoding` rules,
 * which is how KES and its clients encode every byte field in JSON.
 *
 * Node's `Buffer.from(s, 'base64')` is lenient (it skips invalid characters, accepts the URL
 * alphabet and missing padding); this decoder rejects what Go rejects, so malformed input fails
 * the same way it fails against KES.
 */

/** 1 for the 64 characters of the standard alphabet, by character code. */
const ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') ALPHABET[c.charCodeAt(0)] = 1;
const PAD = 0x3d; // '='

/**
 * Reports whether s is standard padded base64: whole 4-character groups of the alphabet, the
 * last one possibly ending in `=` or `==`. (A loop over a table: a regular expression cost a
 * microsecond per field on the request hot path.)
 */
function isStdBase64(s: string): boolean {
  const n = s.length;
  if (n % 4 !== 0) return false;
  let end = n;
  if (n > 0 && s.charCodeAt(n - 1) === PAD) end = s.charCodeAt(n - 2) === PAD ? n - 2 : n - 1;
  for (let i = 0; i < end; i++) {
    if (ALPHABET[s.charCodeAt(i)] !== 1) return false;
  }
  return true;
}

/**
 * Decodes standard padded base64. Line breaks (`\r`, `\n`) are ignored as in Go.
 * Returns undefined when the input is not valid.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const s = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, '') : text;
  if (!isStdBase64(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** Encodes bytes as standard padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
