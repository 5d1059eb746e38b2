/**
 * A key as a ring of versions 1..n (docs/key-rings.md). The latest version seals new data;
 * decryption uses the version a ciphertext was sealed with: version 1 writes KES's formats,
 * later versions the versioned format (versioned-ciphertext.ts). The HMAC key belongs to the
 * key, not to a version: it stays the same across rotations and when version 1 is retired.
 *
 * A ring is immutable: rotating or retiring a version makes a new ring.
 */
import { KesError } from '../api/errors.js';
import type { KeyVersion } from './key-version.js';
import type { HmacKey } from './hmac-key.js';
import type { RandomSource } from './secret-key.js';
import { addVersionHeader, MAX_VERSION, readVersionHeader } from './versioned-ciphertext.js';

export class KeyRingError extends Error {
  override readonly name = 'KeyRingError';
}

export class KeyRing {
  private readonly versions: ReadonlyMap<number, KeyVersion>;
  /** The version that seals new data: the highest. */
  readonly latest: number;
  /** The key's HMAC key: version 1's, kept for the key's whole life. */
  readonly hmacKey: HmacKey | undefined;
  /**
   * The highest version number the key ever had: a retired latest version's number is never
   * given again, so a ciphertext never meets another key under its version's number.
   */
  readonly highest: number;

  /**
   * @param versions at least one, numbered 1 to 2^32-1
   * @param hmacKey the key's HMAC key; default: that of version 1
   * @param highest the highest version number ever used; default: the latest
   * @throws KeyRingError for an empty ring or a version number out of range
   */
  constructor(versions: Iterable<readonly [number, KeyVersion]>, hmacKey?: HmacKey, highest = 0) {
    const sorted = [...versions].sort(([a], [b]) => a - b);
    if (sorted.length === 0) throw new KeyRingError('a key ring has at least one version');
    for (const [n] of sorted) {
      if (!Number.isInteger(n) || n < 1 || n > MAX_VERSION) throw new KeyRingError(`key version ${n} is out of range (1 to ${MAX_VERSION})`);
    }
    this.versions = new Map(sorted);
    if (this.versions.size !== sorted.length) throw new KeyRingError('a key ring has each version once');
    this.latest = sorted[sorted.length - 1]![0];
    this.hmacKey = hmacKey ?? this.versions.get(1)?.hmacKey;
    if (!Number.isInteger(highest) || highest > MAX_VERSION) throw new KeyRingError(`key version ${highest} is out of range (1 to ${MAX_VERSION})`);
    this.highest = Math.max(this.latest, highest);
  }

  /** A key of one version, as KES stores every key. */
  static single(v: KeyVersion): KeyRing {
    return new KeyRing([[1, v]]);
  }

  /** The latest version: the one that seals new data. */
  get current(): KeyVersion {
    return this.versions.get(this.latest)!;
  }

  /** Version n, if the ring has it (not retired). */
  version(n: number): KeyVersion | undefined {
    return this.versions.get(n);
  }

  /** The versions, lowest first. */
  list(): [number, KeyVersion][] {
    return [...this.versions];
  }

  /** The ring with a new latest version (a rotation). */
  rotated(next: KeyVersion): KeyRing {
    if (this.highest >= MAX_VERSION) throw new KeyRingError('the key has no version numbers left');
    return new KeyRing([...this.versions, [this.highest + 1, next]], this.hmacKey);
  }

  /** The ring without version n. @throws KeyRingError for the only version, or one it lacks */
  retired(n: number): KeyRing {
    if (!this.versions.has(n)) throw new KeyRingError(`the key has no version ${n}`);
    if (this.versions.size === 1) throw new KeyRingError('the only version of a key cannot be retired');
    return new KeyRing([...this.versions].filter(([v]) => v !== n), this.hmacKey, this.highest);
  }

  /** Seals plaintext with the latest version: KES's raw format for version 1, else versioned. */
  encrypt(plaintext: Uint8Array, associatedData?: Uint8Array, random?: RandomSource): { version: number; ciphertext: Buffer } {
    return this.encryptWith(this.latest, plaintext, associatedData, random);
  }

  /** Seals plaintext with version n. @throws KesError KES_ERR_VERSION_NOT_FOUND */
  encryptWith(n: number, plaintext: Uint8Array, associatedData?: Uint8Array, random?: RandomSource): { version: number; ciphertext: Buffer } {
    const v = this.versions.get(n);
    if (!v) throw new KesError('KES_ERR_VERSION_NOT_FOUND');
    const raw = v.key.encrypt(plaintext, associatedData, random);
    return { version: n, ciphertext: n === 1 ? raw : addVersionHeader(n, raw) };
  }

  /**
   * Opens a ciphertext of any live version. One whose header names a version is opened with it;
   * if that fails (no such version, or it does not authenticate: a KES ciphertext may start with
   * the marker by chance), and for every other ciphertext, with version 1 in KES's formats.
   * @throws KesError KES_ERR_DECRYPT when no version opens it
   */
  decrypt(ciphertext: Uint8Array, associatedData?: Uint8Array): { version: number; plaintext: Buffer } {
    const header = readVersionHeader(ciphertext);
    const named = header && this.versions.get(header.version);
    if (header && named) {
      try {
        return { version: header.version, plaintext: named.key.decrypt(header.raw, associatedData) };
      } catch (err) {
        if (!(err instanceof KesError)) throw err;
      }
    }
    const first = this.versions.get(1);
    if (!first) throw new KesError('KES_ERR_DECRYPT');
    return { version: 1, plaintext: first.key.decrypt(ciphertext, associatedData) };
  }
}
