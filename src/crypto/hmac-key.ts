/** Per-key HMAC keys (protocol.md §8.6): HMAC-SHA-256 with a 32-byte key. */
import { createHmac } from 'node:crypto';
import { randomBytes } from './random.js';
import { KEY_SIZE, type RandomSource } from './secret-key.js';

/** Protobuf enum value of the only hash function, SHA256. */
export const HASH_SHA256 = 1;

export class HmacKey {
  private readonly material: Buffer;

  /** @param material exactly 32 bytes; copied */
  constructor(material: Uint8Array) {
    if (material.length !== KEY_SIZE) throw new RangeError(`HMAC key must be ${KEY_SIZE} bytes`);
    this.material = Buffer.from(material);
  }

  static generate(random: RandomSource = randomBytes): HmacKey {
    const material = random(KEY_SIZE);
    const key = new HmacKey(material);
    material.fill(0);
    return key;
  }

  /** A copy of the key material. */
  bytes(): Buffer {
    return Buffer.from(this.material);
  }

  equals(other: HmacKey): boolean {
    return this.material.equals(other.material);
  }

  /** HMAC-SHA-256 of message: 32 bytes. */
  sum(message: Uint8Array): Buffer {
    return createHmac('sha256', this.material).update(message).digest();
  }
}
