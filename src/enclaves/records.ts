/**
 * The records of MinKMS's runtime entries as stored in the key store (entry-names.ts): enclaves,
 * policies and identities, each one JSON object in its own entry, so an operator can read them
 * with the store's tools. Identities are stored in KES's hex form; the wire shows them as `h1:`.
 *
 *   enclave   {"v":1,"created_at","created_by"}
 *   policy    {"v":1,"allow":{"KEY:GENERATE":["minio-*"]},"deny":{...},"created_at","created_by"}
 *   identity  {"v":1,"privilege":"SysAdmin|Admin|User","policy","service_account","parent",
 *              "tags":{...},"created_at","created_by"}
 */
import { Timestamp } from '../util/time.js';
import { isJsonObject, parseJsonObject, type JsonObject } from '../util/json.js';

/** Thrown for a stored record that cannot be read. The message names the entry, never its bytes. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
}

export interface EnclaveRecord {
  createdAt: Timestamp;
  /** Hex identity, or '' (created by the server). */
  createdBy: string;
}

/** Command name → patterns (docs/minkms.md "Access"). */
export type RuleSets = Record<string, string[]>;

export interface PolicyRecord extends EnclaveRecord {
  allow: RuleSets;
  deny: RuleSets;
}

export const PRIVILEGES = ['SysAdmin', 'Admin', 'User'] as const;
export type Privilege = (typeof PRIVILEGES)[number];

export interface IdentityRecord extends EnclaveRecord {
  privilege: Privilege;
  /** The assigned policy of the enclave; '' for none. */
  policy: string;
  /** A service account acts with the rights of its parent and is deleted with it. */
  serviceAccount: boolean;
  /** The parent's hex identity ('' unless a service account). */
  parent: string;
  tags: Record<string, string>;
}

const VERSION = 1;

export function encodeEnclave(r: EnclaveRecord): Buffer {
  return encode({ created_at: r.createdAt.toString(), created_by: r.createdBy });
}

export function encodePolicy(r: PolicyRecord): Buffer {
  return encode({ allow: r.allow, deny: r.deny, created_at: r.createdAt.toString(), created_by: r.createdBy });
}

export function encodeIdentity(r: IdentityRecord): Buffer {
  return encode({
    privilege: r.privilege,
    policy: r.policy,
    service_account: r.serviceAccount,
    parent: r.parent,
    tags: r.tags,
    created_at: r.createdAt.toString(),
    created_by: r.createdBy,
  });
}

function encode(fields: JsonObject): Buffer {
  return Buffer.from(JSON.stringify({ v: VERSION, ...fields }), 'utf8');
}

// Decoded records are kept per stored buffer: the cache hands out the same buffer until the
// entry changes, so an identity is decoded once, not on every request.
const decoded = new WeakMap<Buffer, EnclaveRecord>();

function decodeWith<T extends EnclaveRecord>(what: string, bytes: Buffer, read: (o: JsonObject, base: EnclaveRecord) => T): T {
  const known = decoded.get(bytes);
  if (known) return known as T;
  const o = parseJsonObject(bytes.toString('utf8'));
  if (!o || o.v !== VERSION) throw new RecordError(`invalid ${what} record`);
  const createdAt = typeof o.created_at === 'string' ? Timestamp.parse(o.created_at) : undefined;
  if (!createdAt || typeof o.created_by !== 'string') throw new RecordError(`invalid ${what} record`);
  const record = read(o, { createdAt, createdBy: o.created_by });
  decoded.set(bytes, record);
  return record;
}

export function decodeEnclave(bytes: Buffer): EnclaveRecord {
  return decodeWith('enclave', bytes, (_, base) => base);
}

export function decodePolicy(bytes: Buffer): PolicyRecord {
  return decodeWith('policy', bytes, (o, base) => {
    const allow = ruleSets(o.allow);
    const deny = ruleSets(o.deny);
    if (!allow || !deny) throw new RecordError('invalid policy record');
    return { ...base, allow, deny };
  });
}

export function decodeIdentity(bytes: Buffer): IdentityRecord {
  return decodeWith('identity', bytes, (o, base) => {
    const { privilege, policy, service_account, parent, tags } = o;
    if (
      !PRIVILEGES.includes(privilege as Privilege) ||
      typeof policy !== 'string' ||
      typeof service_account !== 'boolean' ||
      typeof parent !== 'string' ||
      !isJsonObject(tags) ||
      !Object.values(tags).every((t) => typeof t === 'string')
    ) {
      throw new RecordError('invalid identity record');
    }
    return { ...base, privilege: privilege as Privilege, policy, serviceAccount: service_account, parent, tags: tags as Record<string, string> };
  });
}

function ruleSets(value: unknown): RuleSets | undefined {
  if (!isJsonObject(value)) return undefined;
  const sets: RuleSets = {};
  for (const [command, patterns] of Object.entries(value)) {
    if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string')) return undefined;
    sets[command] = patterns as string[];
  }
  return sets;
}
