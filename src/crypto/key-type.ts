/** Secret key types and their names (protocol.md §8.1). */

/** The two key types KES knows. Output names are always these two. */
export type KeyType = 'AES256' | 'ChaCha20';

/** Protobuf enum values of `SecretKeyType` in stored key versions. */
export const KEY_TYPE_ENUM: Readonly<Record<KeyType, number>> = { AES256: 1, ChaCha20: 2 };

const NAMES: ReadonlyMap<string, KeyType> = new Map([
  ['AES256', 'AES256'],
  ['AES256-GCM_SHA256', 'AES256'],
  ['ChaCha20', 'ChaCha20'],
  ['XCHACHA20-POLY1305', 'ChaCha20'],
]);

/**
 * Parses a key type name as KES accepts it anywhere: `AES256` or `AES256-GCM_SHA256`, and
 * `ChaCha20` or `XCHACHA20-POLY1305` (the v0.19–v0.22 names). Matching is case-sensitive.
 */
export function parseKeyType(name: string): KeyType | undefined {
  return NAMES.get(name);
}
