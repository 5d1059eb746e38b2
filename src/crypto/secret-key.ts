/**
 * Secret keys and the KES encryption scheme (protocol.md §8.4, §8.5).
 *
 * Every message gets its own key derived from the secret key and a random 16-byte IV:
 * HMAC-SHA-256(key, iv) for AES256 keys (then AES-256-GCM), HChaCha20(key, iv) for ChaCha20
 * keys (then IETF ChaCha20-Poly1305). The AEAD nonce is a separate random 12 bytes.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256.js';
import { randomBytes } from './random.js';
import { KesError } from '../api/errors.js';
import { hchacha20 } from './hchacha20.js';
import { type KeyType } from './key-type.js';
import { IV_SIZE, NONCE_SIZE, parseCiphertext, TAG_SIZE } from './ciphertext.js';

/** Size of every secret key and HMAC key, in bytes. */
export const KEY_SIZE = 32;

/** A source of random bytes; injectable for deterministic tests. */
export type RandomSource = (size: number) => Buffer;

/** A 256-bit secret key of one of KES's two types. */
export class SecretKey {
  private readonly material: Buffer;
  /** The AES256 key derivation's HMAC, made on first use (hmac-sha256.ts). */
  private hmac: HmacSha256 | undefined;

  /**
   * @param type the key type
   * @param material exactly 32 bytes; copied
   * @param untyped set for legacy keys stored without an algorithm: KES machines used them with
   *   AES or ChaCha20 depending on their CPU, so decryption honours the algorithm a legacy
   *   ciphertext records instead of assuming `type`.
   */
  constructor(
    readonly type: KeyType,
    material: Uint8Array,
    readonly untyped = false,
  ) {
    if (material.length !== KEY_SIZE) throw new RangeError(`secret key must be ${KEY_SIZE} bytes`);
    this.material = Buffer.from(material);
  }

  /** Generates a new random key of the given type. */
  static generate(type: KeyType, random: RandomSource = randomBytes): SecretKey {
    const material = random(KEY_SIZE);
    const key = new SecretKey(type, material);
    material.fill(0);
    return key;
  }

  /** A copy of the key material (for encoding the key into a key store entry). */
  bytes(): Buffer {
    return Buffer.from(this.material);
  }

  /** Reports whether both keys have the same type and material. */
  equals(other: SecretKey): boolean {
    return this.type === other.type && this.material.equals(other.material);
  }

  /**
   * Encrypts plaintext with optional associated data into the raw format
   * `sealed ‖ iv ‖ nonce` (|plaintext| + 44 bytes).
   */
  encrypt(plaintext: Uint8Array, associatedData?: Uint8Array, random: RandomSource = randomBytes): Buffer {
    const r = random(IV_SIZE + NONCE_SIZE);
    const iv = r.subarray(0, IV_SIZE);
    const nonce = r.subarray(IV_SIZE);
    const cipher = newCipher(this.type, this.deriveKey(this.type, iv), nonce);
    if (associatedData && associatedData.length > 0) cipher.setAAD(associatedData);
    // The raw format (sealed ‖ iv ‖ nonce, sealed = ciphertext ‖ tag) in one copy.
    const ciphertext = cipher.update(plaintext);
    const rest = cipher.final();
    return Buffer.concat([ciphertext, rest, cipher.getAuthTag(), iv, nonce]);
  }

  /**
   * Decrypts a ciphertext in any KES format (raw, MessagePack, JSON).
   *
   * @throws KesError KES_ERR_DECRYPT for every malformed or unauthentic input, wrong key or
   *   wrong associated data; nothing else.
   */
  decrypt(ciphertext: Uint8Array, associatedData?: Uint8Array): Buffer {
    const m = parseCiphertext(ciphertext);
    if (!m || m.sealed.length < TAG_SIZE) throw new KesError('KES_ERR_DECRYPT');
    const type = this.untyped && m.algorithm ? m.algorithm : this.type;
    const tagAt = m.sealed.length - TAG_SIZE;
    try {
      const decipher = newDecipher(type, this.deriveKey(type, m.iv), m.nonce);
      decipher.setAuthTag(m.sealed.subarray(tagAt));
      if (associatedData && associatedData.length > 0) decipher.setAAD(associatedData);
      const plaintext = decipher.update(m.sealed.subarray(0, tagAt));
      const rest = decipher.final(); // empty for these AEADs: no second copy then
      return rest.length === 0 ? plaintext : Buffer.concat([plaintext, rest]);
    } catch (cause) {
      throw new KesError('KES_ERR_DECRYPT', undefined, { cause });
    }
  }

  private deriveKey(type: KeyType, iv: Buffer): Buffer {
    return type === 'AES256' ? (this.hmac ??= new HmacSha256(this.material)).sum(iv) : hchacha20(this.material, iv);
  }
}

// authTagLength pins the tag size, so a truncated tag can never authenticate.
const AEAD_OPTIONS = { authTagLength: TAG_SIZE };

function newCipher(type: KeyType, key: Buffer, nonce: Buffer) {
  return type === 'AES256' ? createCipheriv('aes-256-gcm', key, nonce, AEAD_OPTIONS) : createCipheriv('chacha20-poly1305', key, nonce, AEAD_OPTIONS);
}

function newDecipher(type: KeyType, key: Buffer, nonce: Buffer) {
  return type === 'AES256' ? createDecipheriv('aes-256-gcm', key, nonce, AEAD_OPTIONS) : createDecipheriv('chacha20-poly1305', key, nonce, AEAD_OPTIONS);
}
