/**
 * MinKMS credentials (docs/minkms.md "Identities"): `h1:` identities and `k1:`/`k2:` API keys, and their
 * lossless conversion to and from the KES forms.
 *
 * An `h1:` identity is `h1:` + base64url-no-padding of the SHA-256 of the key's
 * SubjectPublicKeyInfo: the same 32 bytes as a KES identity, which writes them in hex.
 * A `k1:` API key is base64url-no-padding of a 32-byte Ed25519 seed — the seed a KES API key
 * (`kes:v1:`) holds — and a `k2:` API key is a fixed-width ECDSA private scalar whose width names
 * the curve: 32 bytes P-256, 48 bytes P-384, 66 bytes P-521.
 *
 * Only canonical base64url is accepted (no padding, no other characters, unused trailing bits
 * zero), so each identity and key has exactly one text. Errors never repeat key material.
 */
import { createECDH, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ApiKey, ApiKeyError } from './api-key.js';
import { identityOfPublicKey, type Identity } from './identity.js';

const IDENTITY_PREFIX = 'h1:';
const K1_PREFIX = 'k1:';
const K2_PREFIX = 'k2:';
const DIGEST_SIZE = 32;
const SEED_SIZE = 32;
const HEX_IDENTITY = /^[0-9a-fA-F]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
// PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410) up to the 32-byte seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The ECDSA curves of `k2:` keys, by the width of their private scalar. */
export type KmsCurve = 'P-256' | 'P-384' | 'P-521';

const CURVES: readonly { curve: KmsCurve; openssl: string; size: number }[] = [
  { curve: 'P-256', openssl: 'prime256v1', size: 32 },
  { curve: 'P-384', openssl: 'secp384r1', size: 48 },
  { curve: 'P-521', openssl: 'secp521r1', size: 66 },
];

/** The message for a `k2:` key given where only Ed25519 keys work (the KES client). */
export const K2_CLIENT_REFUSAL = 'k2 (ECDSA) MinKMS API keys cannot be used by this client; use a k1 key or a certificate';

/** Thrown for text that is not a MinKMS API key, or a key that cannot be converted. The message never repeats the key. */
export class KmsApiKeyError extends Error {
  override readonly name = 'KmsApiKeyError';
}

/** The number of base64 characters, without padding, for size bytes. */
const encodedLength = (size: number): number => Math.ceil((size * 4) / 3);

/** Decodes canonical base64url without padding of exactly size bytes; undefined otherwise. */
function decodeBase64Url(text: string, size: number): Buffer | undefined {
  if (text.length !== encodedLength(size) || !BASE64URL.test(text)) return undefined;
  const raw = Buffer.from(text, 'base64url');
  // Re-encoding rejects non-zero unused trailing bits, which Buffer.from silently drops.
  if (raw.length !== size || raw.toString('base64url') !== text) return undefined;
  return raw;
}

/**
 * The `h1:` form of a KES identity: `h1:` + base64url-no-padding of its 32 bytes.
 * @throws TypeError when identity is not 64 hex characters
 */
export function kmsIdentityOf(identity: Identity): string {
  if (!HEX_IDENTITY.test(identity)) throw new TypeError('not an identity: expected 64 hex characters');
  return IDENTITY_PREFIX + Buffer.from(identity, 'hex').toString('base64url');
}

/**
 * The KES (hex) form of an `h1:` identity: only `h1:` followed by exactly 43 canonical base64url
 * characters (32 bytes) is accepted; anything else gives undefined.
 */
export function parseKmsIdentity(text: string): Identity | undefined {
  if (!text.startsWith(IDENTITY_PREFIX)) return undefined;
  return decodeBase64Url(text.slice(IDENTITY_PREFIX.length), DIGEST_SIZE)?.toString('hex');
}

/** An identity in either form — 64 hex characters (any case) or `h1:` — as lowercase hex; undefined otherwise. */
export function identityFromEither(text: string): Identity | undefined {
  if (HEX_IDENTITY.test(text)) return text.toLowerCase();
  return parseKmsIdentity(text);
}

/** Reports whether text starts like a MinKMS API key (`k1:` or `k2:`), valid or not. */
export function isKmsApiKeyText(text: string): boolean {
  return text.startsWith(K1_PREFIX) || text.startsWith(K2_PREFIX);
}

/** A MinKMS API key: `k1:` (Ed25519) or `k2:` (ECDSA P-256, P-384 or P-521). */
export class KmsApiKey {
  /** The key text without the prefix: a secret. */
  readonly #body: string;
  /** `k1` (Ed25519) or `k2` (ECDSA). */
  readonly type: 'k1' | 'k2';
  /** The curve of a `k2` key; undefined for `k1`. */
  readonly curve: KmsCurve | undefined;
  /** The private key. */
  readonly privateKey: KeyObject;
  /** The public key. */
  readonly publicKey: KeyObject;
  /** The identity of the key (and of every certificate for it), in KES (hex) form. */
  readonly identity: Identity;

  private constructor(type: 'k1' | 'k2', curve: KmsCurve | undefined, body: string, privateKey: KeyObject) {
    this.type = type;
    this.curve = curve;
    this.#body = body;
    this.privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
    this.identity = identityOfPublicKey(this.publicKey.export({ type: 'spki', format: 'der' }));
  }

  /**
   * Parses `k1:<43 chars>` or `k2:<43|64|88 chars>` (canonical base64url without padding).
   * @throws KmsApiKeyError when the text is not a valid MinKMS API key
   */
  static parse(text: string): KmsApiKey {
    if (text.startsWith(K1_PREFIX)) {
      const seed = decodeBase64Url(text.slice(K1_PREFIX.length), SEED_SIZE);
      if (!seed) throw new KmsApiKeyError(`invalid MinKMS API key: a k1: key is ${encodedLength(SEED_SIZE)} base64url characters without padding`);
      return KmsApiKey.fromSeed(seed);
    }
    if (text.startsWith(K2_PREFIX)) {
      const body = text.slice(K2_PREFIX.length);
      const spec = CURVES.find((c) => encodedLength(c.size) === body.length);
      const scalar = spec && decodeBase64Url(body, spec.size);
      if (!spec || !scalar) {
        throw new KmsApiKeyError('invalid MinKMS API key: a k2: key is 43, 64 or 88 base64url characters without padding (P-256, P-384, P-521)');
      }
      return new KmsApiKey('k2', spec.curve, body, ecPrivateKey(spec, scalar));
    }
    throw new KmsApiKeyError('invalid MinKMS API key: expected a k1: or k2: key');
  }

  /** The `k1` key of the same Ed25519 seed as a KES API key. */
  static fromApiKey(apiKey: ApiKey): KmsApiKey {
    return KmsApiKey.fromPrivateKey(apiKey.privateKey);
  }

  /**
   * The MinKMS API key of a private key: `k1` for Ed25519, `k2` for ECDSA P-256, P-384 or P-521.
   * @throws KmsApiKeyError for other keys
   */
  static fromPrivateKey(key: KeyObject): KmsApiKey {
    if (key.type !== 'private') throw new KmsApiKeyError('only private keys can be MinKMS API keys');
    if (key.asymmetricKeyType === 'ed25519') {
      const der = key.export({ type: 'pkcs8', format: 'der' });
      return KmsApiKey.fromSeed(der.subarray(der.length - SEED_SIZE));
    }
    if (key.asymmetricKeyType === 'ec') {
      const jwk = key.export({ format: 'jwk' });
      const spec = CURVES.find((c) => c.curve === jwk.crv);
      if (spec && jwk.d !== undefined) {
        const scalar = Buffer.from(jwk.d, 'base64url');
        if (scalar.length === spec.size) return new KmsApiKey('k2', spec.curve, scalar.toString('base64url'), key);
      }
    }
    throw new KmsApiKeyError('only Ed25519 and ECDSA P-256, P-384 or P-521 keys can be MinKMS API keys');
  }

  private static fromSeed(seed: Uint8Array): KmsApiKey {
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    return new KmsApiKey('k1', undefined, Buffer.from(seed).toString('base64url'), key);
  }

  /** The identity in MinKMS form, `h1:...`. */
  get kmsIdentity(): string {
    return kmsIdentityOf(this.identity);
  }

  /**
   * The KES API key with the same Ed25519 seed (same identity, same client certificate key).
   * @throws KmsApiKeyError for a `k2` key: KES API keys are Ed25519 only
   */
  toApiKey(): ApiKey {
    if (this.type !== 'k1') throw new KmsApiKeyError('only k1 (Ed25519) MinKMS API keys can be KES API keys');
    return ApiKey.fromPrivateKey(this.privateKey);
  }

  /** The API key text, `k1:...` or `k2:...`. This is a secret: never log it. */
  toString(): string {
    return (this.type === 'k1' ? K1_PREFIX : K2_PREFIX) + this.#body;
  }

  /** Hides the key from util.inspect and console.log. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KmsApiKey { type: '${this.type}', identity: '${this.identity}' }`;
  }

  /** Serializes to the type and identity only, so the key cannot leak through JSON. */
  toJSON(): { type: 'k1' | 'k2'; identity: Identity } {
    return { type: this.type, identity: this.identity };
  }
}

/** The ECDSA private key of a scalar: x and y from ECDH (which also range-checks it), then a JWK import. */
function ecPrivateKey(spec: (typeof CURVES)[number], scalar: Buffer): KeyObject {
  let point: Buffer;
  try {
    const ecdh = createECDH(spec.openssl);
    ecdh.setPrivateKey(scalar); // throws for 0 and for scalars ≥ the curve order
    point = ecdh.getPublicKey(); // uncompressed: 0x04 ‖ x ‖ y
  } catch {
    throw new KmsApiKeyError(`invalid MinKMS API key: not a valid ${spec.curve} private key`);
  }
  const n = (point.length - 1) / 2;
  const jwk: JsonWebKey = {
    kty: 'EC',
    crv: spec.curve,
    d: scalar.toString('base64url'),
    x: point.subarray(1, 1 + n).toString('base64url'),
    y: point.subarray(1 + n).toString('base64url'),
  };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

/** The `k1:` text of a KES API key (the same Ed25519 seed). This is a secret: never log it. */
export function kmsApiKeyOf(apiKey: ApiKey): string {
  return KmsApiKey.fromApiKey(apiKey).toString();
}

/**
 * The KES API key of a `k1:` MinKMS API key.
 * @throws KmsApiKeyError when text is not a valid `k1:` key (including valid `k2:` keys)
 */
export function apiKeyFromKms(text: string): ApiKey {
  return KmsApiKey.parse(text).toApiKey();
}

/**
 * An API key as a KES client takes it: `kes:v1:...` (or its body, as {@link ApiKey.parse}) or a
 * `k1:` MinKMS key, converted to the same Ed25519 key. A `k2:` key is refused with
 * {@link K2_CLIENT_REFUSAL}: the client's certificate is made from an Ed25519 API key.
 * @throws ApiKeyError for an invalid KES API key, KmsApiKeyError for an invalid or `k2:` MinKMS key
 */
export function parseClientApiKey(text: string): ApiKey {
  if (!isKmsApiKeyText(text)) return ApiKey.parse(text);
  const key = KmsApiKey.parse(text);
  if (key.type !== 'k1') throw new KmsApiKeyError(K2_CLIENT_REFUSAL);
  return key.toApiKey();
}

/** Reports whether err is one of the errors {@link parseClientApiKey} documents. */
export function isApiKeyError(err: unknown): err is ApiKeyError | KmsApiKeyError {
  return err instanceof ApiKeyError || err instanceof KmsApiKeyError;
}
