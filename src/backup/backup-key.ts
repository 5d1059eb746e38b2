/**
 * The backup key (docs/backup.md): the 256-bit secret under which `GET /v1/db` encrypts the
 * snapshots of the key store and `PUT /v1/db` authenticates them. The operator sets it in the
 * server config, `backup.key`, as base64 or hex of 32 random bytes (`openssl rand -base64 32`).
 *
 * The bytes never leave the class: util.inspect, console.log, String() and JSON show none of
 * them, and the snapshot code only gets keys derived from them (HKDF-SHA256, {@link BackupKey.derive}).
 */
import { hkdfSync, randomBytes } from 'node:crypto';

/** Size of a backup key, in bytes. */
export const BACKUP_KEY_SIZE = 32;

const HOW = 'use 32 random bytes in base64, e.g. the output of "openssl rand -base64 32" (or 64 hex digits)';

/** Text that is not a backup key. The message never repeats the text. */
export class BackupKeyError extends Error {
  override readonly name = 'BackupKeyError';
}

/** A 256-bit backup key. */
export class BackupKey {
  readonly #bytes: Buffer;

  private constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes);
  }

  /**
   * Parses a backup key: standard base64 (padding optional) or hex of exactly 32 bytes;
   * whitespace around it is ignored (a trailing newline of a file or variable).
   * @throws BackupKeyError saying what is wrong, never repeating the text
   */
  static parse(text: string): BackupKey {
    const value = text.trim();
    if (value === '') throw new BackupKeyError(`the backup key is empty: ${HOW}`);
    if (/^[0-9a-fA-F]{64}$/.test(value)) return new BackupKey(Buffer.from(value, 'hex'));
    const bytes = decodeStandardBase64(value);
    if (bytes === undefined) {
      const urlSafe = /^[A-Za-z0-9_-]+=*$/.test(value) && /[-_]/.test(value);
      throw new BackupKeyError(`the backup key is neither base64 nor hex${urlSafe ? ' (it looks like URL-safe base64: use standard base64, with + and /)' : ''}: ${HOW}`);
    }
    if (bytes.length !== BACKUP_KEY_SIZE) {
      bytes.fill(0);
      throw new BackupKeyError(`the backup key is ${bytes.length} bytes, not ${BACKUP_KEY_SIZE}: ${HOW}`);
    }
    const key = new BackupKey(bytes);
    bytes.fill(0);
    return key;
  }

  /** The key of 32 given bytes (copied). @throws BackupKeyError for another length */
  static fromBytes(bytes: Uint8Array): BackupKey {
    if (bytes.length !== BACKUP_KEY_SIZE) throw new BackupKeyError(`the backup key is ${bytes.length} bytes, not ${BACKUP_KEY_SIZE}`);
    return new BackupKey(bytes);
  }

  /** A new random key. @param random the source of the 32 bytes (injectable for tests) */
  static generate(random: (size: number) => Buffer = randomBytes): BackupKey {
    const bytes = random(BACKUP_KEY_SIZE);
    const key = BackupKey.fromBytes(bytes);
    bytes.fill(0);
    return key;
  }

  /** HKDF-SHA256 (RFC 5869) of the key with salt and info: `length` bytes. */
  derive(salt: Uint8Array, info: string, length = 32): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#bytes, salt, info, length));
  }

  /**
   * The key as base64 text, only to hand it to another process of the same server (a cluster
   * worker: JSON does not carry the key, see toJSON), which reads it back with parse. A secret:
   * never log, show or store it.
   */
  exportBase64(): string {
    return this.#bytes.toString('base64');
  }

  /** Reports whether both keys are the same bytes. */
  equals(other: BackupKey): boolean {
    return other instanceof BackupKey && this.#bytes.equals(other.#bytes);
  }

  /** Never the key: `BackupKey(redacted)`. */
  toString(): string {
    return 'BackupKey(redacted)';
  }

  /** Hides the key from util.inspect and console.log. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'BackupKey { <redacted> }';
  }

  /** Serializes to a placeholder, so the key cannot leak through JSON. */
  toJSON(): string {
    return '<redacted backup key>';
  }
}

/** The bytes of standard base64 text (padding optional), or undefined when it is not that. */
function decodeStandardBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  const padded = unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
  if (text !== unpadded && text !== padded) return undefined; // wrong amount of padding
  const bytes = Buffer.from(padded, 'base64');
  // Canonical only: unused bits of the last character must be zero.
  if (bytes.toString('base64') !== padded) {
    bytes.fill(0);
    return undefined;
  }
  return bytes;
}
