/**
 * KES API keys (protocol.md §2.3): `kes:v1:` + base64(0x00 ‖ 32-byte Ed25519 seed).
 *
 * An API key is an Ed25519 private key. Its identity is the SHA-256 of the key's
 * SubjectPublicKeyInfo, which equals the identity of any certificate carrying that key; the
 * client presents a self-signed certificate made from it, and the server only sees that.
 */
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { decodeBase64 } from '../util/base64.js';
import { identityOfPublicKey, type Identity } from './identity.js';

const PREFIX = 'kes:v1:';
const TYPE_ED25519 = 0x00;
const SEED_SIZE = 32;
// PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410) up to the 32-byte seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Thrown for text that is not an API key. The message never repeats the key. */
export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

/** An Ed25519 API key. */
export class ApiKey {
  private readonly seed: Buffer;
  /** The Ed25519 private key. */
  readonly privateKey: KeyObject;
  /** The Ed25519 public key. */
  readonly publicKey: KeyObject;
  /** The identity of the key (and of every certificate for it). */
  readonly identity: Identity;

  private constructor(seed: Buffer) {
    this.seed = seed;
    this.privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    this.publicKey = createPublicKey(this.privateKey);
    this.identity = identityOfPublicKey(this.publicKey.export({ type: 'spki', format: 'der' }));
  }

  /** Generates a new random API key. */
  static generate(): ApiKey {
    return new ApiKey(randomBytes(SEED_SIZE));
  }

  /**
   * Parses `kes:v1:<base64>`; a missing `kes:v1:` prefix is tolerated as in the KES SDK.
   * @throws ApiKeyError when the text is not a valid API key.
   */
  static parse(text: string): ApiKey {
    const body = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : text;
    const raw = decodeBase64(body);
    if (!raw) throw new ApiKeyError('invalid API key: not base64');
    if (raw.length !== 1 + SEED_SIZE) throw new ApiKeyError('invalid API key: wrong length');
    if (raw[0] !== TYPE_ED25519) throw new ApiKeyError('invalid API key: unsupported key type');
    return new ApiKey(raw.subarray(1));
  }

  /**
   * The API key of an Ed25519 private key (as `kes identity <file>` converts a PKCS#8 key).
   * @throws ApiKeyError when the key is not an Ed25519 private key.
   */
  static fromPrivateKey(key: KeyObject): ApiKey {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
      throw new ApiKeyError('only Ed25519 private keys can be API keys');
    }
    const der = key.export({ type: 'pkcs8', format: 'der' });
    return new ApiKey(Buffer.from(der.subarray(der.length - SEED_SIZE)));
  }

  /** The API key text, `kes:v1:...`. This is a secret: never log it. */
  toString(): string {
    return PREFIX + Buffer.concat([Buffer.of(TYPE_ED25519), this.seed]).toString('base64');
  }

  /** Hides the key from util.inspect and console.log. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ApiKey { identity: '${this.identity}' }`;
  }

  /** Serializes to the identity only, so the key cannot leak through JSON. */
  toJSON(): { identity: Identity } {
    return { identity: this.identity };
  }
}
