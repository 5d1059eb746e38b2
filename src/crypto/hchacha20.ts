/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2): derives a 256-bit subkey from a 256-bit key and a
 * 128-bit input by running the 20-round ChaCha permutation without the final addition and
 * taking words 0..3 and 12..15. KES's ChaCha20 keys use it to derive the per-message key.
 * Node's crypto API has no HChaCha20, hence this implementation.
 */

// "expand 32-byte k" as four little-endian words.
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

/**
 * @param key 32 bytes
 * @param input 16 bytes (the first 16 bytes of an XChaCha20 nonce)
 * @returns the 32-byte subkey
 */
export function hchacha20(key: Uint8Array, input: Uint8Array): Buffer {
  if (key.length !== 32) throw new RangeError('hchacha20: key must be 32 bytes');
  if (input.length !== 16) throw new RangeError('hchacha20: input must be 16 bytes');
  const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const n = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const x = new Uint32Array(16);
  x.set(SIGMA, 0);
  for (let i = 0; i < 8; i++) x[4 + i] = k.readUInt32LE(4 * i);
  for (let i = 0; i < 4; i++) x[12 + i] = n.readUInt32LE(4 * i);

  for (let round = 0; round < 10; round++) {
    quarterRound(x, 0, 4, 8, 12);
    quarterRound(x, 1, 5, 9, 13);
    quarterRound(x, 2, 6, 10, 14);
    quarterRound(x, 3, 7, 11, 15);
    quarterRound(x, 0, 5, 10, 15);
    quarterRound(x, 1, 6, 11, 12);
    quarterRound(x, 2, 7, 8, 13);
    quarterRound(x, 3, 4, 9, 14);
  }

  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE(x[i]!, 4 * i);
    out.writeUInt32LE(x[12 + i]!, 16 + 4 * i);
  }
  x.fill(0);
  return out;
}

function quarterRound(x: Uint32Array, a: number, b: number, c: number, d: number): void {
  // Uint32Array stores modulo 2^32, so additions wrap as in the specification.
  x[a] = x[a]! + x[b]!;
  x[d] = rotl(x[d]! ^ x[a]!, 16);
  x[c] = x[c]! + x[d]!;
  x[b] = rotl(x[b]! ^ x[c]!, 12);
  x[a] = x[a]! + x[b]!;
  x[d] = rotl(x[d]! ^ x[a]!, 8);
  x[c] = x[c]! + x[d]!;
  x[b] = rotl(x[b]! ^ x[c]!, 7);
}

function rotl(v: number, n: number): number {
  return ((v << n) | (v >>> (32 - n))) >>> 0;
}
