/**
 * Key store values as Vault secret strings.
 *
 * Vault stores JSON, so a value must become a string. KES writes its entries (base64 protobuf,
 * or JSON before 2024) as the string itself, and so does this store: every value that is valid
 * UTF-8 is stored verbatim, which keeps the layout KES reads and writes. Other byte strings
 * (never written by the server, but allowed by the KeyStore contract) are stored as
 * `openkes:base64:<base64>`. So that reading is unambiguous, a UTF-8 value that itself starts
 * with that marker or with a transit prefix (`vault:`) is stored in the marked form too.
 */

/** The marker of values stored as base64. */
export const BASE64_MARKER = 'openkes:base64:';

/** Transit ciphertexts: `vault:v<key version>:<base64>`. */
const TRANSIT_CIPHERTEXT = /^vault:v\d+:/;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The string stored for value. */
export function encodeEntry(value: Uint8Array): string {
  let text: string | undefined;
  try {
    text = utf8.decode(value);
  } catch {
    text = undefined;
  }
  if (text === undefined || text.startsWith(BASE64_MARKER) || text.startsWith('vault:')) {
    return BASE64_MARKER + Buffer.from(value).toString('base64');
  }
  return text;
}

/** The value of a stored string (not a transit ciphertext). */
export function decodeEntry(stored: string): Uint8Array {
  if (stored.startsWith(BASE64_MARKER)) return Buffer.from(stored.slice(BASE64_MARKER.length), 'base64');
  return Buffer.from(stored, 'utf8');
}

/** Whether a stored string is a transit ciphertext (`vault:v1:…`, or a later key version). */
export function isTransitCiphertext(stored: string): boolean {
  return TRANSIT_CIPHERTEXT.test(stored);
}
