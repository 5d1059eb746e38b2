/**
 * MinKMS's enclave, policy, identity and cluster commands (docs/minkms.md "Enclaves", "Access").
 * Enclaves, runtime policies and runtime identities are entries of the key store
 * (enclaves/enclaves.ts); the config file's policies and identities are read-only and never
 * shadowed by runtime ones.
 */
import { KesError, kesError } from '../../api/errors.js';
import { OPS } from '../../api/operations.js';
import { identityFromEither, kmsIdentityOf } from '../../auth/kms-credentials.js';
import { DEFAULT_ENCLAVE } from '../../keystore/entry-names.js';
import { CMD, commandByName } from '../../kms/commands.js';
import * as M from '../../kms/messages.js';
import { PRIVILEGES, type IdentityRecord, type Privilege, type RuleSets } from '../../enclaves/records.js';
import { Timestamp } from '../../util/time.js';
import { isConfigIdentity, type Rights } from '../access.js';
import { command, listPrefix, listSubject, validName, type CommandSpec, type Exec } from './command.js';
import { wireIdentity } from './key-commands.js';
import { describedPage, page } from './paging.js';

const nameSubject = (req: { name: string }) => req.name;
/**
 * The subject of an identity command: the identity in its `h1:` form whichever form the request
 * uses, so that a policy pattern naming an identity matches both spellings (and a deny cannot be
 * passed by the other one). Text that is no identity is matched as it is (the command then fails).
 */
const identitySubject = (req: { identity: string }) => {
  const id = identityFromEither(req.identity);
  return id === undefined ? req.identity : kmsIdentityOf(id);
};

/** Privileges on the wire (IdentityResponse.Privilege). */
const PRIVILEGE_NUMBER: Record<Privilege, number> = { SysAdmin: 1, Admin: 2, User: 3 };

/** The rank of rights, comparable with {@link PRIVILEGE_NUMBER}: lower is more. */
function rank(rights: Rights): number {
  return rights.kind === 'sysadmin' ? 1 : rights.kind === 'admin' ? 2 : 3;
}

/** The hex identity of a request's `h1:` (or hex) identity. @throws KesError 400 */
function identityOf(text: string): string {
  const id = identityFromEither(text);
  if (!id) throw kesError('KMS_ERR_BAD_REQUEST', 'identity', { identity: text.slice(0, 80) });
  return id;
}

/** A privilege's text ('' is User), compared case-insensitively. @throws KesError 400 */
function privilegeOf(text: string): Privilege {
  if (text === '') return 'User';
  const p = PRIVILEGES.find((x) => x.toLowerCase() === text.toLowerCase());
  if (!p) throw kesError('KMS_ERR_BAD_REQUEST', 'privilege', { privilege: text.slice(0, 40) });
  return p;
}

/** A policy's rules with command names checked and upper-cased, empty patterns dropped. @throws KesError 400 */
function rulesOf(sets: RuleSets): RuleSets {
  const rules: RuleSets = {};
  for (const [name, patterns] of Object.entries(sets)) {
    const cmd = commandByName(name);
    if (!cmd?.name) throw kesError('KMS_ERR_BAD_REQUEST', 'message', { command: 'POLICY:CREATE' });
    rules[cmd.name] = [...new Set([...(rules[cmd.name] ?? []), ...patterns.filter((p) => p !== '')])].sort();
  }
  return rules;
}

async function identityResponse(x: Exec, id: string, r: IdentityRecord, accounts?: string[]): Promise<Partial<M.IdentityResponse>> {
  return {
    identity: wireIdentity(id),
    privilege: PRIVILEGE_NUMBER[r.privilege],
    policy: r.privilege === 'User' ? r.policy : '',
    createdAt: r.createdAt,
    createdBy: wireIdentity(r.createdBy),
    isServiceAccount: r.serviceAccount,
    serviceAccounts: (accounts ?? (await x.state.enclaves.serviceAccounts(x.enclave, id))).map(wireIdentity),
    tags: r.tags,
  };
}

/** The config file's identities, as IDENTITY:STATUS shows them in the default enclave. */
function configIdentity(x: Exec, id: string): Partial<M.IdentityResponse> | undefined {
  const { state } = x;
  if (x.enclave !== DEFAULT_ENCLAVE || !isConfigIdentity(state, id)) return undefined;
  const createdAt = state.runtime.startTime;
  if (id === state.admin) return { identity: wireIdentity(id), privilege: 1, createdAt };
  return { identity: wireIdentity(id), privilege: 3, policy: state.policies.policyNameOf(id), createdAt, createdBy: wireIdentity(state.admin) };
}

/**
 * Who may create, overwrite or delete which identity: SysAdmins anything; Admins Admins and
 * Users; Users only their own service accounts. Nobody touches an identity above their own rank.
 * @throws KesError 403
 */
function checkRank(x: Exec, privilege: Privilege, existing: IdentityRecord | undefined): void {
  const mine = rank(x.rights);
  if (PRIVILEGE_NUMBER[privilege] < mine || (existing && PRIVILEGE_NUMBER[existing.privilege] < mine)) throw new KesError('KMS_ERR_PERMISSION');
}

export const ADMIN_COMMANDS: ReadonlyMap<number, CommandSpec<any, any>> = new Map<number, CommandSpec<any, any>>([
  // Enclaves.
  [
    CMD.ENCLAVE_CREATE,
    command({
      request: M.CreateEnclaveRequest,
      system: true,
      operation: () => OPS.enclave,
      subject: nameSubject,
      async run(x, req) {
        const name = validName('enclave', req.name);
        if (name === DEFAULT_ENCLAVE) throw new KesError('KMS_ERR_ENCLAVE_EXISTS');
        await x.state.enclaves.createEnclave(name, { createdAt: Timestamp.now(), createdBy: x.identity });
        x.ctx.auditMessage = `enclave '${name}' created`;
        return undefined;
      },
    }),
  ],
  [
    CMD.ENCLAVE_DELETE,
    command({
      request: M.DeleteEnclaveRequest,
      system: true,
      operation: () => OPS.enclave,
      subject: nameSubject,
      async run(x, req) {
        const name = validName('enclave', req.name);
        if (name === DEFAULT_ENCLAVE) throw kesError('KMS_ERR_BAD_REQUEST', 'defaultEnclave');
        await x.state.enclaves.deleteEnclave(name);
        x.ctx.auditMessage = `enclave '${name}' deleted`;
        return undefined;
      },
    }),
  ],
  [
    CMD.ENCLAVE_STATUS,
    command({
      request: M.EnclaveStatusRequest,
      response: M.EnclaveStatusResponse,
      system: true,
      operation: () => OPS.enclave,
      subject: nameSubject,
      async run(x, req) {
        const name = validName('enclave', req.name);
        const r = await x.state.enclaves.enclave(name);
        if (!r) throw new KesError('KMS_ERR_ENCLAVE_NOT_FOUND');
        return { name, createdAt: r.createdAt, createdBy: wireIdentity(r.createdBy) };
      },
    }),
  ],
  [
    CMD.ENCLAVE_LIST,
    command({
      request: M.ListRequest,
      response: M.ListEnclavesResponse,
      system: true,
      operation: () => OPS.enclave,
      subject: listSubject,
      async run(x, req) {
        const prefix = listPrefix(req.prefix);
        const { items, continueAt } = await describedPage(x.state.enclaves.enclaveNames(prefix), req, prefix, async (name) => {
          const r = await x.state.enclaves.enclave(name);
          return r && M.EnclaveStatusResponse.create({ name, createdAt: r.createdAt, createdBy: wireIdentity(r.createdBy) });
        });
        return { enclaves: items, continueAt };
      },
    }),
  ],

  // Policies.
  [
    CMD.POLICY_CREATE,
    command({
      request: M.CreatePolicyRequest,
      operation: () => OPS.policyCreate,
      subject: nameSubject,
      async run(x, req) {
        const name = validName('policy', req.name);
        const record = { allow: rulesOf(req.allow), deny: rulesOf(req.deny), createdAt: Timestamp.now(), createdBy: x.identity };
        await x.state.enclaves.putPolicy(x.enclave, name, record);
        x.ctx.auditMessage = `policy '${name}' created`;
        return undefined;
      },
    }),
  ],
  [
    CMD.POLICY_DELETE,
    command({
      request: M.DeletePolicyRequest,
      operation: () => OPS.policyDelete,
      subject: nameSubject,
      async run(x, req) {
        const name = validName('policy', req.name);
        await x.state.enclaves.deletePolicy(x.enclave, name);
        x.ctx.auditMessage = `policy '${name}' deleted`;
        return undefined;
      },
    }),
  ],
  [
    CMD.POLICY_ASSIGN,
    command({
      request: M.AssignPolicyRequest,
      operation: () => OPS.policyAssign,
      subject: (req) => req.policy,
      async run(x, req) {
        const id = identityOf(req.identity);
        const name = validName('policy', req.policy);
        const { enclaves } = x.state;
        if (!(await enclaves.policy(x.enclave, name))) throw new KesError('KES_ERR_POLICY_NOT_FOUND');
        await enclaves.updateIdentity(x.enclave, id, (r) => {
          checkRank(x, r.privilege, r);
          return { ...r, policy: name };
        });
        x.ctx.auditMessage = `policy '${name}' assigned to ${wireIdentity(id)}`;
        return undefined;
      },
    }),
  ],
  [
    CMD.POLICY_GET,
    command({
      request: M.PolicyRequest,
      response: M.PolicyResponse,
      operation: () => OPS.policyGet,
      subject: nameSubject,
      async run(x, req) {
        const name = validName('policy', req.name);
        const r = await x.state.enclaves.policy(x.enclave, name);
        if (!r) throw new KesError('KES_ERR_POLICY_NOT_FOUND');
        return { name, allow: r.allow, deny: r.deny, createdAt: r.createdAt, createdBy: wireIdentity(r.createdBy) };
      },
    }),
  ],
  [
    CMD.POLICY_STATUS,
    command({
      request: M.PolicyRequest,
      response: M.PolicyStatusResponse,
      operation: () => OPS.policyStatus,
      subject: nameSubject,
      async run(x, req) {
        const name = validName('policy', req.name);
        const r = await x.state.enclaves.policy(x.enclave, name);
        if (!r) throw new KesError('KES_ERR_POLICY_NOT_FOUND');
        return { name, createdAt: r.createdAt, createdBy: wireIdentity(r.createdBy) };
      },
    }),
  ],
  [
    CMD.POLICY_LIST,
    command({
      request: M.ListRequest,
      response: M.ListPoliciesResponse,
      operation: () => OPS.policyList,
      subject: listSubject,
      async run(x, req) {
        const prefix = listPrefix(req.prefix);
        const { items, continueAt } = await describedPage(x.state.enclaves.policyNames(x.enclave, prefix), req, prefix, async (name) => {
          const r = await x.state.enclaves.policy(x.enclave, name);
          return r && M.PolicyStatusResponse.create({ name, createdAt: r.createdAt, createdBy: wireIdentity(r.createdBy) });
        });
        return { policies: items, continueAt };
      },
    }),
  ],

  // Identities.
  [
    CMD.IDENTITY_CREATE,
    command({
      request: M.CreateIdentityRequest,
      operation: () => OPS.identityCreate,
      subject: identitySubject,
      async run(x, req) {
        const id = identityOf(req.identity);
        const { state } = x;
        if (isConfigIdentity(state, id)) throw kesError('KMS_ERR_BAD_REQUEST', 'configIdentity');
        const existing = await state.enclaves.identity(x.enclave, id);
        let privilege = privilegeOf(req.privilege);
        let parent = '';
        if (req.isServiceAccount) {
          // A service account acts for its creator, who must be a runtime identity of the enclave.
          const creator = await state.enclaves.identity(x.enclave, x.identity);
          if (!creator || creator.serviceAccount || id === x.identity) throw kesError('KMS_ERR_BAD_REQUEST', 'serviceAccount');
          privilege = creator.privilege;
          parent = x.identity;
        } else {
          if (privilege === 'SysAdmin' && x.enclave !== DEFAULT_ENCLAVE) throw kesError('KMS_ERR_BAD_REQUEST', 'sysAdminEnclave');
          // Users create service accounts only.
          if (x.rights.kind === 'user') throw new KesError('KMS_ERR_PERMISSION');
        }
        // A User replaces none but its own service accounts.
        if (x.rights.kind === 'user' && existing && !(existing.serviceAccount && existing.parent === x.identity)) throw new KesError('KMS_ERR_PERMISSION');
        checkRank(x, privilege, existing);
        const record: IdentityRecord = {
          privilege,
          policy: '',
          serviceAccount: req.isServiceAccount,
          parent,
          tags: req.tags,
          createdAt: Timestamp.now(),
          createdBy: x.identity,
        };
        await state.enclaves.putIdentity(x.enclave, id, record);
        x.ctx.auditMessage = `identity ${wireIdentity(id)} created`;
        return undefined;
      },
    }),
  ],
  [
    CMD.IDENTITY_DELETE,
    command({
      request: M.DeleteIdentityRequest,
      operation: () => OPS.identityDelete,
      subject: identitySubject,
      async run(x, req) {
        const id = identityOf(req.identity);
        const existing = await x.state.enclaves.identity(x.enclave, id);
        if (!existing) throw new KesError('KES_ERR_IDENTITY_NOT_FOUND');
        checkRank(x, existing.privilege, existing);
        await x.state.enclaves.deleteIdentity(x.enclave, id);
        x.ctx.auditMessage = `identity ${wireIdentity(id)} deleted`;
        return undefined;
      },
    }),
  ],
  [
    CMD.IDENTITY_STATUS,
    command({
      request: M.IdentityRequest,
      response: M.IdentityResponse,
      operation: () => OPS.identityStatus,
      subject: identitySubject,
      async run(x, req) {
        const id = identityOf(req.identity);
        const r = await x.state.enclaves.identity(x.enclave, id);
        if (r) return identityResponse(x, id, r);
        const configured = configIdentity(x, id);
        if (!configured) throw new KesError('KES_ERR_IDENTITY_NOT_FOUND');
        return configured;
      },
    }),
  ],
  [
    CMD.IDENTITY_LIST,
    command({
      request: M.ListRequest,
      response: M.ListIdentitiesResponse,
      operation: () => OPS.identityList,
      subject: listSubject,
      async run(x, req) {
        const prefix = listPrefix(req.prefix);
        // An enclave's identities are few: read them all, sorted by their wire form.
        const records = new Map<string, IdentityRecord>();
        for (const id of await x.state.enclaves.identities(x.enclave)) {
          const r = await x.state.enclaves.identity(x.enclave, id);
          if (r) records.set(id, r);
        }
        const byWire = new Map([...records.keys()].map((id) => [wireIdentity(id), id]));
        const sorted = [...byWire.keys()].filter((w) => w.startsWith(prefix)).sort();
        const { names, continueAt } = await page(iterate(sorted), req.continueAt, req.limit, prefix);
        const identities: M.IdentityResponse[] = [];
        for (const wire of names) {
          const id = byWire.get(wire)!;
          const accounts = [...records].filter(([, r]) => r.serviceAccount && r.parent === id).map(([a]) => a);
          identities.push(M.IdentityResponse.create(await identityResponse(x, id, records.get(id)!, accounts)));
        }
        return { identities, continueAt };
      },
    }),
  ],
]);

async function* iterate(names: readonly string[]): AsyncIterable<string> {
  yield* names;
}
