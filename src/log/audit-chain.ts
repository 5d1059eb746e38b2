/**
 * The hash chain of the audit file (docs/audit-log.md): JSON lines, each carrying its sequence
 * number and the SHA-256 of the previous line's bytes, and checkpoint lines signed with the
 * server's TLS private key. This module holds the format shared by the writer
 * ({@link AuditFile}) and the verifier (`kes log verify`).
 */
import * as crypto from 'node:crypto';
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { identityOfPublicKey, rawSubjectPublicKeyInfo } from '../auth/identity.js';
import { decodePem } from '../pki/pem.js';

/** The `prev` of the first line of a new chain. */
export const GENESIS = '0'.repeat(64);

/**
 * Why a checkpoint was written:
 * - `start`: the first line of a new chain (seq 0, prev {@link GENESIS});
 * - `resume`: the server started and continues the chain of an existing file;
 * - `reload`: the config was reloaded;
 * - `periodic`: after `checkpoint_every` records or `checkpoint_interval`;
 * - `rekey`: the TLS key changed; signed by the old key, it names the new signer (`next_signer`);
 * - `file-end`: the last line of a file rotated away;
 * - `file-start`: the first line of the file that continues the chain of a previous file;
 * - `close`: the server stopped cleanly (or switched to another file).
 */
export type CheckpointReason = 'start' | 'resume' | 'reload' | 'periodic' | 'rekey' | 'file-end' | 'file-start' | 'close';

export const CHECKPOINT_REASONS: ReadonlySet<string> = new Set<CheckpointReason>(['start', 'resume', 'reload', 'periodic', 'rekey', 'file-end', 'file-start', 'close']);

/** The `checkpoint` object of a checkpoint line. */
export interface Checkpoint {
  reason: CheckpointReason;
  /** RFC 3339 time the checkpoint was written. */
  time: string;
  /** Identity (hex SHA-256 of the SPKI) of the key that signed it. */
  signer: string;
  /** With reason `rekey`: the identity that signs the checkpoints after this one. */
  next_signer?: string;
  /** The signer's public key: base64 DER SubjectPublicKeyInfo, as in its certificate. */
  key: string;
  /** Base64 signature over {@link checkpointMessage}. */
  sig: string;
}

/** The chain fields every line starts with. */
export interface ChainFields {
  seq: number;
  prev: string;
}

/** The hex SHA-256 of a line's bytes (without its newline). One-shot `crypto.hash` (Node ≥ 20.12) is twice as fast. */
export const lineHash: (line: string | Uint8Array) => string =
  typeof crypto.hash === 'function' ? (line) => crypto.hash('sha256', line, 'hex') : (line) => createHash('sha256').update(line).digest('hex');

/**
 * A line: `{"seq":…,"prev":"…"` followed by the fields of body. The chain fields come first
 * so a line can be checked without knowing the rest of its content.
 */
export function chainLine(seq: number, prev: string, body: object): string {
  const json = JSON.stringify(body);
  return `{"seq":${seq},"prev":"${prev}"${json === '{}' ? '}' : ',' + json.slice(1)}`;
}

/**
 * The bytes a checkpoint signature covers: a fixed prefix and a JSON array of the chain fields
 * and every checkpoint field but the key and signature (the signer identity binds the key).
 */
export function checkpointMessage(seq: number, prev: string, c: Omit<Checkpoint, 'key' | 'sig'>): Buffer {
  return Buffer.from(`openkes audit checkpoint v1\n${JSON.stringify([seq, prev, c.reason, c.time, c.signer, c.next_signer ?? null])}`);
}

/** Signs checkpoints with the server's TLS private key. */
export interface CheckpointSigner {
  /** Hex SHA-256 of the certificate's SubjectPublicKeyInfo (as `kes identity of`). */
  readonly identity: string;
  /** Base64 DER SubjectPublicKeyInfo. */
  readonly publicKey: string;
  sign(message: Buffer): Buffer;
}

/** Ed25519 and Ed448 sign the message itself; RSA, RSA-PSS and ECDSA sign its SHA-256. */
function digestOf(key: KeyObject): string | null {
  const type = key.asymmetricKeyType;
  return type === 'ed25519' || type === 'ed448' ? null : 'sha256';
}

/**
 * The signer of a PEM private key and its PEM certificate chain (the first certificate is the
 * key's). The key never leaves the signer.
 * @throws Error when the key or certificate cannot be read
 */
export function checkpointSigner(keyPem: string, certPem: string): CheckpointSigner {
  const leaf = decodePem(certPem).find((b) => b.type === 'CERTIFICATE');
  if (!leaf) throw new Error('no certificate to identify the signing key');
  const spki = rawSubjectPublicKeyInfo(leaf.der);
  const key = createPrivateKey(keyPem);
  const digest = digestOf(key);
  return {
    identity: identityOfPublicKey(spki),
    publicKey: Buffer.from(spki).toString('base64'),
    sign: (message) => sign(digest, message, key),
  };
}

const publicKeys = new Map<string, KeyObject | null>();

/** The public key of a checkpoint's `key` field, or null when it is not a usable key. */
function publicKeyOf(base64: string): KeyObject | null {
  let key = publicKeys.get(base64);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
    if (publicKeys.size > 64) publicKeys.clear();
    publicKeys.set(base64, key);
  }
  return key;
}

/**
 * Checks a checkpoint: its key hashes to its signer identity and its signature verifies.
 * @returns undefined when valid, else why not
 */
export function checkpointError(seq: number, prev: string, c: Checkpoint): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(c.key) || identityOfPublicKey(Buffer.from(c.key, 'base64')) !== c.signer) {
    return 'its key does not match its signer identity';
  }
  const key = publicKeyOf(c.key);
  if (key === null) return 'its key is not a valid public key';
  let ok = false;
  try {
    ok = verify(digestOf(key), checkpointMessage(seq, prev, c), key, Buffer.from(c.sig, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? undefined : 'its signature does not verify';
}

/** A parsed line: the chain fields, and the checkpoint or lost-events marker when it is one. */
export interface ChainRecord extends ChainFields {
  checkpoint?: Checkpoint;
  /** The server could not write this many audit events (disk full, I/O error) before this line. */
  lost?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses a line; undefined when it is not a line of an audit file. */
export function parseChainRecord(line: string): ChainRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 0 || typeof v.prev !== 'string' || !HEX64.test(v.prev)) return undefined;
  const record: ChainRecord = { seq: v.seq as number, prev: v.prev };
  if (v.checkpoint !== undefined) {
    const c = v.checkpoint as Record<string, unknown> | null;
    const str = (k: string) => typeof c?.[k] === 'string';
    if (!str('reason') || !CHECKPOINT_REASONS.has(c!.reason as string) || !str('time') || !str('signer') || !str('key') || !str('sig')) return undefined;
    if (c!.next_signer !== undefined && !str('next_signer')) return undefined;
    record.checkpoint = c as unknown as Checkpoint;
  }
  if (v.lost !== undefined) {
    const lost = (v.lost as { count?: unknown } | null)?.count;
    if (!Number.isSafeInteger(lost)) return undefined;
    record.lost = lost as number;
  }
  return record;
}
