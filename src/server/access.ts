/**
 * One access model for both APIs (docs/minkms.md "Access"). Who may do what is decided per
 * operation (api/operations.ts), whichever protocol carries it:
 *
 * - the config's admin is SysAdmin: everything;
 * - an identity of the config file's policies acts in the default enclave only, and only where
 *   its policy allows the operation's KES path (an operation without one is refused);
 * - a runtime identity (MinKMS IDENTITY:CREATE) acts in its enclave by its privilege: SysAdmin
 *   (default enclave only) everything, Admin every operation of its enclave, User what its
 *   runtime policy allows the operation's command; a service account with its parent's rights;
 * - anyone else nothing.
 *
 * An identity is never both in the config file and a runtime identity (IDENTITY:CREATE refuses
 * it), so each identity has its rights from exactly one place.
 */
import type { Operation } from '../api/operations.js';
import { parseKmsIdentity } from '../auth/kms-credentials.js';
import { DEFAULT_ENCLAVE } from '../keystore/entry-names.js';
import { Policy } from '../policy/policy.js';
import type { Enclaves } from '../enclaves/enclaves.js';
import type { IdentityRecord, PolicyRecord } from '../enclaves/records.js';
import type { PolicySet } from '../policy/policy-set.js';

export type Rights =
  | { readonly kind: 'sysadmin' }
  | { readonly kind: 'admin'; readonly enclave: string }
  | { readonly kind: 'user'; readonly enclave: string; readonly policy: PolicyRecord | undefined }
  | { readonly kind: 'config'; readonly policy: Policy | undefined }
  | { readonly kind: 'none' };

const SYSADMIN: Rights = { kind: 'sysadmin' };
const NONE: Rights = { kind: 'none' };

/** What the server knows about identities. */
export interface AccessState {
  readonly admin: string;
  readonly policies: PolicySet;
  readonly enclaves: Enclaves;
}

/** Reports whether the identity is one of the config file's (the admin, or assigned a policy). */
export function isConfigIdentity(state: AccessState, identity: string): boolean {
  return identity === state.admin || state.policies.policyNameOf(identity) !== undefined;
}

/**
 * The rights of identity (hex) in an enclave. Config identities need no store read; runtime
 * identities are read through the key cache.
 */
export async function rightsOf(state: AccessState, identity: string, enclave: string): Promise<Rights> {
  if (identity === '') return NONE;
  if (identity === state.admin) return SYSADMIN;
  if (state.policies.policyNameOf(identity) !== undefined) {
    return enclave === DEFAULT_ENCLAVE ? { kind: 'config', policy: state.policies.policyOf(identity) } : NONE;
  }
  if (enclave !== DEFAULT_ENCLAVE) {
    // A SysAdmin is one everywhere, whatever an enclave's own record of it says.
    const system = await state.enclaves.identity(DEFAULT_ENCLAVE, identity);
    if (system && (await effective(state, DEFAULT_ENCLAVE, system))?.privilege === 'SysAdmin') return SYSADMIN;
  }
  let record = await state.enclaves.identity(enclave, identity);
  if (!record) return NONE;
  record = await effective(state, enclave, record);
  if (!record) return NONE;
  switch (record.privilege) {
    case 'SysAdmin':
      return enclave === DEFAULT_ENCLAVE ? SYSADMIN : { kind: 'admin', enclave };
    case 'Admin':
      return { kind: 'admin', enclave };
    case 'User':
      return { kind: 'user', enclave, policy: record.policy === '' ? undefined : await state.enclaves.policy(enclave, record.policy) };
  }
}

/** A service account's parent record (whose rights it has); the record itself otherwise. */
async function effective(state: AccessState, enclave: string, record: IdentityRecord): Promise<IdentityRecord | undefined> {
  if (!record.serviceAccount) return record;
  const parent = await state.enclaves.identity(enclave, record.parent);
  return parent && !parent.serviceAccount ? parent : undefined;
}

/**
 * Reports whether rights allow an operation on a subject (a key or policy name, an identity, a
 * listing prefix followed by `*`). For config identities the subject follows the KES path.
 */
export function allows(rights: Rights, op: Operation, subject: string): boolean {
  switch (rights.kind) {
    case 'sysadmin':
      return true;
    case 'admin':
      return !op.system;
    case 'user':
      return !op.system && op.command !== undefined && rights.policy !== undefined && compiled(rights.policy, op.command).isAllowed(subject);
    case 'config':
      return op.kesPath !== undefined && rights.policy !== undefined && rights.policy.isAllowed(op.kesPath + kesSubject(subject));
    case 'none':
      return false;
  }
}

/**
 * A subject as a KES path spells it: an `h1:` identity (MinKMS's form) in hex, as KES's
 * `/v1/identity/describe/<identity>` names it; anything else as it is (no key, policy or listing
 * subject contains `:`).
 */
function kesSubject(subject: string): string {
  if (!subject.startsWith('h1:')) return subject;
  return parseKmsIdentity(subject) ?? subject;
}

// A runtime policy compiled per command, once per decoded record.
const compiledPolicies = new WeakMap<PolicyRecord, Map<string, Policy>>();

function compiled(record: PolicyRecord, command: string): Policy {
  let byCommand = compiledPolicies.get(record);
  if (!byCommand) compiledPolicies.set(record, (byCommand = new Map()));
  let policy = byCommand.get(command);
  if (!policy) byCommand.set(command, (policy = new Policy({ allow: record.allow[command] ?? [], deny: record.deny[command] ?? [] })));
  return policy;
}
