/**
 * The Access page's API: who may do what. The config file's admin, policies and identities
 * (read-only: they change with the file), and the runtime policies and identities of each
 * enclave (MinKMS; docs/minkms.md "Access"), which the console edits.
 */
import type { AccessOverview, ConfigPolicy, Privilege, RuntimeAccess, RuntimeIdentity, RuntimePolicy } from '../api-types.js';
import { KMS_PRIVILEGE_NAMES, type KmsPrivilege } from '../../client/kms-client.js';
import { isKesError } from '../../api/errors.js';
import { ConsoleError } from '../errors.js';
import type { ApiContext } from '../router.js';
import { rulesField, stringField } from './input.js';

/** The most policies, identities and enclaves an overview lists. */
const MAX_LISTED = 1000;

async function take<T>(items: AsyncIterable<T>, max = MAX_LISTED): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}

export async function overview(ctx: ApiContext): Promise<AccessOverview> {
  const { kes } = ctx.backend;
  const self = await kes.describeSelf();
  const [policyNames, identityNames, enclaves] = await Promise.all([
    take(kes.listPolicies()),
    take(kes.listIdentities()),
    listEnclaves(ctx),
  ]);
  const identities = await Promise.all(identityNames.map(async (identity) => {
    const info = await kes.describeIdentity(identity);
    return { identity, policy: info.policy, isAdmin: info.isAdmin };
  }));
  const policies: ConfigPolicy[] = await Promise.all(policyNames.map(async (name) => {
    const p = await kes.getPolicy(name);
    return { name, allow: p.allow, deny: p.deny, identities: identities.filter((i) => i.policy === name).map((i) => i.identity) };
  }));
  const admin = self.isAdmin ? self.identity : (identities.find((i) => i.isAdmin)?.identity ?? '');
  return {
    admin,
    self: { identity: self.identity, isAdmin: self.isAdmin, policy: self.policy, allow: self.allow, deny: self.deny },
    policies,
    identities,
    enclaves,
  };
}

/** Every enclave, or only the default one when the operator may not list them (not a SysAdmin). */
async function listEnclaves(ctx: ApiContext): Promise<string[]> {
  try {
    const names = (await take(ctx.backend.kms().iterateEnclaves())).map((e) => e.name);
    return names.includes('default') ? names : ['default', ...names];
  } catch (err) {
    if (isKesError(err) && err.status < 500) return ['default'];
    throw err;
  }
}

export async function runtime(ctx: ApiContext): Promise<RuntimeAccess> {
  const enclave = ctx.params.enclave!;
  const kms = ctx.backend.kms(enclave);
  const [policyStatus, identities] = await Promise.all([take(kms.iteratePolicies()), take(kms.iterateIdentities())]);
  const full = policyStatus.length > 0 ? await kms.getPolicy(policyStatus.map((p) => p.name)) : [];
  const policies: RuntimePolicy[] = full.map((p) => ({ name: p.name, allow: p.allow, deny: p.deny, createdAt: p.createdAt?.toJSON() ?? '', createdBy: p.createdBy }));
  return {
    enclave,
    policies,
    identities: identities.map((i): RuntimeIdentity => ({
      identity: i.identity,
      privilege: KMS_PRIVILEGE_NAMES[i.privilege] ?? '',
      policy: i.policy,
      isServiceAccount: i.isServiceAccount,
      createdAt: i.createdAt?.toJSON() ?? '',
      createdBy: i.createdBy,
    })),
  };
}

export async function putPolicy(ctx: ApiContext): Promise<undefined> {
  const rules = { allow: rulesField(ctx.body, 'allow'), deny: rulesField(ctx.body, 'deny') };
  await ctx.backend.kms(ctx.params.enclave!).createPolicy(ctx.params.name!, rules);
  return undefined;
}

export async function deletePolicy(ctx: ApiContext): Promise<undefined> {
  await ctx.backend.kms(ctx.params.enclave!).deletePolicy(ctx.params.name!);
  return undefined;
}

/** Creates or replaces an identity, then assigns it its policy when the body names one. */
export async function putIdentity(ctx: ApiContext): Promise<undefined> {
  const privilege = stringField(ctx.body, 'privilege', true) ?? '';
  if (!Object.values(KMS_PRIVILEGE_NAMES).includes(privilege as KmsPrivilege)) throw new ConsoleError(400, "'privilege' must be User, Admin or SysAdmin");
  const policy = stringField(ctx.body, 'policy', true) ?? '';
  const kms = ctx.backend.kms(ctx.params.enclave!);
  const identity = ctx.params.identity!;
  await kms.createIdentity(identity, { privilege: privilege as KmsPrivilege });
  if (policy !== '') await kms.assignPolicy(identity, policy);
  return undefined;
}

export async function deleteIdentity(ctx: ApiContext): Promise<undefined> {
  await ctx.backend.kms(ctx.params.enclave!).deleteIdentity(ctx.params.identity!);
  return undefined;
}
