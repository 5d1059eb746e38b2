/**
 * HMAC-SHA-256 (RFC 2104, FIPS 180-4) of short messages under one key, for the per-message key
 * derivation of AES256 keys (secret-key.ts): HMAC(key, iv) with a 16-byte IV on every encryption
 * and decryption.
 *
 * node:crypto's createHmac costs about 3.5 µs per call on this project's machines, nearly all of
 * it fixed overhead (a key object, an OpenSSL context), a tenth of what the server spends on a
 * request. HMAC's first block of each hash depends only on the key, so its two chaining states
 * are computed once per key; a message of up to 55 bytes then costs two SHA-256 compressions.
 * Tests check it against node:crypto (hmac-sha256.test.ts).
 */
import { createHash } from 'node:crypto';

const BLOCK = 64;
/** The longest message that fits in one padded block after the key block. */
export const MAX_SHORT_MESSAGE = BLOCK - 9;

/** The first 32 bits of the fractional parts of the roots of the first primes (FIPS 180-4 §4.2.2, §5.3.3). */
function rootConstants(count: number, root: (p: number) => number): Int32Array {
  const out = new Int32Array(count);
  for (let p = 2, n = 0; n < count; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) if (p % d === 0) prime = false;
    if (!prime) continue;
    const r = root(p);
    out[n++] = Math.floor((r - Math.floor(r)) * 0x1_0000_0000) | 0;
  }
  return out;
}

const K = rootConstants(64, Math.cbrt);
const H0 = rootConstants(8, Math.sqrt);

/** The message schedule, shared: compress() is synchronous and not re-entered. */
const W = new Int32Array(64);

/** One SHA-256 compression of the 16 big-endian words in W[0..15] into state. */
function compress(state: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** Loads bytes into W as big-endian words, then SHA-256's padding for a total of `total` bytes. */
function loadLastBlock(bytes: Uint8Array, total: number): void {
  W.fill(0, 0, 16);
  for (let i = 0; i < bytes.length; i++) W[i >> 2]! |= bytes[i]! << (24 - 8 * (i & 3));
  W[bytes.length >> 2]! |= 0x80 << (24 - 8 * (bytes.length & 3));
  W[15] = total * 8; // total < 2^29 bytes here: the length's high word stays 0
}

function loadBlock(bytes: Uint8Array): void {
  for (let i = 0; i < 16; i++) W[i] = (bytes[4 * i]! << 24) | (bytes[4 * i + 1]! << 16) | (bytes[4 * i + 2]! << 8) | bytes[4 * i + 3]!;
}

/** An HMAC-SHA-256 key with its inner and outer chaining states precomputed. */
export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly state = new Int32Array(8);
  private readonly innerDigest = new Uint8Array(32);

  constructor(key: Uint8Array) {
    const block = new Uint8Array(BLOCK);
    block.set(key.length > BLOCK ? createHash('sha256').update(key).digest() : key);
    for (const [state, pad] of [
      [this.inner, 0x36],
      [this.outer, 0x5c],
    ] as const) {
      const padded = block.map((b) => b ^ pad);
      loadBlock(padded);
      state.set(H0);
      compress(state);
      padded.fill(0);
    }
    block.fill(0);
  }

  /** HMAC-SHA-256 of a message of at most {@link MAX_SHORT_MESSAGE} bytes: 32 new bytes. */
  sum(message: Uint8Array): Buffer {
    if (message.length > MAX_SHORT_MESSAGE) throw new RangeError(`message longer than ${MAX_SHORT_MESSAGE} bytes`);
    const { state, innerDigest } = this;
    state.set(this.inner);
    loadLastBlock(message, BLOCK + message.length);
    compress(state);
    for (let i = 0; i < 8; i++) {
      const w = state[i]!;
      innerDigest[4 * i] = w >>> 24;
      innerDigest[4 * i + 1] = w >>> 16;
      innerDigest[4 * i + 2] = w >>> 8;
      innerDigest[4 * i + 3] = w;
    }
    state.set(this.outer);
    loadLastBlock(innerDigest, BLOCK + 32);
    compress(state);
    const out = Buffer.allocUnsafe(32);
    for (let i = 0; i < 8; i++) out.writeInt32BE(state[i]!, 4 * i);
    state.fill(0);
    innerDigest.fill(0);
    return out;
  }
}
