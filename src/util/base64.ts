/**
 * Standard padded base64 (RFC 4648 §4) decoding with Go's `encoding/base64.StdEncoding` rules,
 * which is how KES and its clients encode every byte field in JSON.
 *
 * Node's `Buffer.from(s, 'base64')` is lenient (it skips invalid characters, accepts the URL
 * alphabet and missing padding); this decoder rejects what Go rejects, so malformed input fails
 * the same way it fails against KES.
 */

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes standard padded base64. Line breaks (`\r`, `\n`) are ignored as in Go.
 * Returns undefined when the input is not valid.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const s = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, '') : text;
  if (!STD_BASE64.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** Encodes bytes as standard padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
