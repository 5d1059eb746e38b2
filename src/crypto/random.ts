/**
 * Cryptographically secure random bytes from a pool: one randomFillSync per 16 KiB instead of
 * one per request (the per-call cost dominated for the 28- and 32-byte draws of every encryption).
 * Each call returns a fresh buffer and wipes the pool bytes it took.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 16 * 1024;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/** `size` random bytes in a new buffer (the caller may keep, change or wipe it). */
export function randomBytes(size: number): Buffer {
  if (size > POOL_SIZE / 4) return randomFillSync(Buffer.alloc(size));
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + size));
  pool.fill(0, offset, offset + size);
  offset += size;
  return out;
}
