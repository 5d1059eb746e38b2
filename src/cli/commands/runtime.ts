/**
 * The MinKMS protocol's runtime entries from the command line (docs/minkms.md): `kes enclave
 * create|ls|rm`, `kes identity create|rm`, `kes policy create|assign|rm`, and `--enclave` for
 * `kes identity ls` and `kes policy ls|show`. The config file's policies and identities are
 * unaffected: they are edited in the file.
 */
import { readFile } from 'node:fs/promises';
import type { Command, CommandContext } from '../command.js';
import { clientFlags, kmsClientFromEnv, OUTPUT_FLAGS } from '../client-env.js';
import type { KmsClient, KmsPolicyRules, KmsPrivilege } from '../../client/kms-client.js';
import type { FlagSpec } from '../flags.js';
import { UsageError } from '../flags.js';
import { formatDate, formatFields, formatList, paint } from '../output.js';
import { Timestamp } from '../../util/time.js';
import { identityFromEither, kmsIdentityOf } from '../../auth/kms-credentials.js';
import { systemErrorText } from '../../util/system-error.js';
import { collect, expectArgs, nameArg, outputOf, patternToPrefix } from './common.js';

const ENCLAVE: FlagSpec = { name: 'enclave', short: 'e', type: 'string', value: 'NAME', description: 'The enclave (default: the default enclave, which holds the KES API\'s keys) [KES_ENCLAVE]' };

/** Client flags with a visible `--enclave` (the client flags' one is a hidden legacy flag). */
export function runtimeFlags(...own: FlagSpec[]): FlagSpec[] {
  return clientFlags(ENCLAVE, ...own).filter((f, i, all) => f.name !== 'enclave' || all.findIndex((g) => g.name === 'enclave') === i);
}

const PRIVILEGES: Record<string, KmsPrivilege> = { sysadmin: 'SysAdmin', admin: 'Admin', user: 'User' };
const PRIVILEGE_NAMES = ['', 'SysAdmin', 'Admin', 'User'];

export async function withKmsClient<T>(ctx: CommandContext, fn: (c: KmsClient) => Promise<T>): Promise<T> {
  const client = await kmsClientFromEnv(ctx.flags, ctx.io.env);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** An identity argument, hex or `h1:`. @throws UsageError */
function identityArg(text: string): string {
  const id = identityFromEither(text);
  if (!id) throw new UsageError(`invalid identity '${text.slice(0, 80)}': expected 64 hex characters or h1: and 43 base64url characters ("kes identity of" computes one)`);
  return kmsIdentityOf(id);
}

const date = (t: Timestamp | undefined) => (t ? formatDate(new Date(t.toMillis())) : '');
const iso = (t: Timestamp | undefined) => (t ? new Date(t.toMillis()).toISOString() : undefined);

function printJson(ctx: CommandContext, value: unknown): void {
  const { tty } = outputOf(ctx);
  ctx.io.stdout.write(JSON.stringify(value, null, tty ? 2 : undefined) + '\n');
}

// Enclaves.

const enclaveCreate: Command = {
  name: 'create',
  summary: 'Create an enclave',
  usage: 'kes enclave create [options] NAME...',
  description: 'Creates enclaves: namespaces of keys, policies and identities. Needs a SysAdmin (the config\'s admin).',
  flags: clientFlags(),
  examples: ['kes enclave create tenant-1'],
  async run(ctx) {
    const names = expectArgs(ctx, 1, Infinity, 'kes enclave create NAME...');
    for (const n of names) nameArg(n, 'enclave');
    await withKmsClient(ctx, async (c) => {
      for (const n of names) await c.createEnclave(n, { signal: ctx.io.signal });
    });
  },
};

const enclaveLs: Command = {
  name: 'ls',
  summary: 'List enclaves',
  usage: 'kes enclave ls [options] [PATTERN]',
  flags: clientFlags(...OUTPUT_FLAGS),
  examples: ['kes enclave ls', "kes enclave ls 'tenant-*'"],
  async run(ctx) {
    const [pattern] = expectArgs(ctx, 0, 1, 'kes enclave ls [PATTERN]');
    const prefix = patternToPrefix(pattern);
    const enclaves = await withKmsClient(ctx, (c) => collect(c.iterateEnclaves({ prefix, signal: ctx.io.signal })));
    const out = outputOf(ctx);
    if (out.json) return printJson(ctx, enclaves.map((e) => ({ name: e.name, created_at: iso(e.createdAt), created_by: e.createdBy || undefined })));
    ctx.io.stdout.write(formatList('Enclave', enclaves.map((e) => e.name), out));
  },
};

const enclaveRm: Command = {
  name: 'rm',
  summary: 'Delete enclaves with their keys, policies and identities',
  usage: 'kes enclave rm [options] NAME...',
  description: 'Deletes enclaves and everything in them: their keys cannot be recovered. The default enclave cannot be deleted.',
  flags: clientFlags(),
  examples: ['kes enclave rm tenant-1'],
  async run(ctx) {
    const names = expectArgs(ctx, 1, Infinity, 'kes enclave rm NAME...');
    for (const n of names) nameArg(n, 'enclave');
    await withKmsClient(ctx, async (c) => {
      for (const n of names) await c.deleteEnclave(n, { signal: ctx.io.signal });
    });
  },
};

export const enclaveCommand: Command = {
  name: 'enclave',
  usage: 'kes enclave <command>',
  description: [
    'Enclaves are MinKMS namespaces of keys, policies and identities, kept in the key store. The',
    'default enclave ("default") holds the KES API\'s keys. Managing enclaves needs a SysAdmin.',
  ].join('\n'),
  subcommands: [enclaveCreate, enclaveLs, enclaveRm],
};

// Runtime identities.

export const identityCreateCommand: Command = {
  name: 'create',
  summary: 'Create (or replace) a runtime identity of an enclave',
  usage: 'kes identity create [options] IDENTITY',
  description: [
    'Gives an identity (hex or h1:) rights in an enclave at run time, stored in the key store:',
    'SysAdmin (everything; default enclave only), Admin (everything in the enclave) or User (what',
    'its policy allows: "kes policy assign"). --service-account makes it a service account of',
    'the caller: it has the caller\'s rights and is deleted with it. Identities of the config file',
    'cannot be runtime identities.',
  ].join('\n'),
  flags: runtimeFlags(
    { name: 'privilege', type: 'string', value: 'SysAdmin|Admin|User', description: 'Its privilege (default User)' },
    { name: 'service-account', type: 'boolean', description: 'A service account of the caller' },
    { name: 'tag', type: 'list', value: 'KEY=VALUE', description: 'A tag (repeatable)' },
  ),
  examples: ['kes identity create h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU', 'kes identity create --enclave tenant-1 --privilege Admin 3ecfcdf3…'],
  async run(ctx) {
    const [text] = expectArgs(ctx, 1, 1, 'kes identity create IDENTITY');
    const identity = identityArg(text!);
    const p = ctx.flags.privilege as string | undefined;
    const privilege = p === undefined ? 'User' : PRIVILEGES[p.toLowerCase()];
    if (!privilege) throw new UsageError(`invalid --privilege '${p}': use SysAdmin, Admin or User`);
    const tags: Record<string, string> = {};
    for (const t of (ctx.flags.tag as string[] | undefined) ?? []) {
      const i = t.indexOf('=');
      if (i <= 0) throw new UsageError(`invalid --tag '${t}': use KEY=VALUE`);
      tags[t.slice(0, i)] = t.slice(i + 1);
    }
    await withKmsClient(ctx, (c) => c.createIdentity(identity, { privilege, serviceAccount: ctx.flags['service-account'] === true, tags, signal: ctx.io.signal }));
  },
};

export const identityRmCommand: Command = {
  name: 'rm',
  summary: 'Delete runtime identities (and their service accounts)',
  usage: 'kes identity rm [options] IDENTITY...',
  flags: runtimeFlags(),
  examples: ['kes identity rm h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU'],
  async run(ctx) {
    const identities = expectArgs(ctx, 1, Infinity, 'kes identity rm IDENTITY...').map(identityArg);
    await withKmsClient(ctx, async (c) => {
      for (const id of identities) await c.deleteIdentity(id, { signal: ctx.io.signal });
    });
  },
};

/** `kes identity ls --enclave E`: the enclave's runtime identities. */
export async function listRuntimeIdentities(ctx: CommandContext, pattern: string | undefined): Promise<void> {
  const prefix = patternToPrefix(pattern);
  const all = await withKmsClient(ctx, (c) => collect(c.iterateIdentities({ prefix, signal: ctx.io.signal })));
  const out = outputOf(ctx);
  if (out.json) {
    return printJson(
      ctx,
      all.map((i) => ({ identity: i.identity, privilege: PRIVILEGE_NAMES[i.privilege], policy: i.policy || undefined, service_account: i.isServiceAccount || undefined, created_at: iso(i.createdAt), created_by: i.createdBy || undefined })),
    );
  }
  if (!out.tty) {
    ctx.io.stdout.write(all.map((i) => i.identity + '\n').join(''));
    return;
  }
  const width = Math.max(8, ...all.map((i) => i.identity.length));
  const row = (identity: string, privilege: string, policy: string) => `${identity.padEnd(width)}  ${privilege.padEnd(9)}  ${policy}`.trimEnd();
  const rows = all.map((i) => row(i.identity, PRIVILEGE_NAMES[i.privilege] ?? '', `${i.policy}${i.isServiceAccount ? ' (service account)' : ''}`));
  ctx.io.stdout.write(rows.length ? `${paint(out.color, row('Identity', 'Privilege', 'Policy'), 'bold')}\n${rows.join('\n')}\n` : '');
}

// Runtime policies.

/**
 * Policy rules from a JSON file (`{"allow": {"KEY:GENERATE": ["minio-*"]}, "deny": {...}}`; a
 * rule set may be an object of patterns, an array or a string) and `--allow`/`--deny
 * COMMAND=PATTERN` flags.
 */
async function rulesOf(ctx: CommandContext, file: string | undefined): Promise<{ allow: Record<string, string[]>; deny: Record<string, string[]> }> {
  const rules = { allow: {} as Record<string, string[]>, deny: {} as Record<string, string[]> };
  const add = (kind: 'allow' | 'deny', command: string, patterns: string[]) => {
    (rules[kind][command.toUpperCase()] ??= []).push(...patterns.filter((p) => p !== ''));
  };
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${file}: ${systemErrorText(err)}`, { cause: err });
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error(`${file} is not JSON: expected {"allow": {"KEY:GENERATE": ["minio-*"]}, "deny": {}}`);
    }
    for (const kind of ['allow', 'deny'] as const) {
      const sets = (doc as Record<string, unknown> | null)?.[kind] ?? {};
      if (typeof sets !== 'object' || sets === null || Array.isArray(sets)) throw new Error(`${file}: "${kind}" must be an object of command names`);
      for (const [command, set] of Object.entries(sets)) add(kind, command, ruleSet(file, command, set));
    }
  }
  for (const kind of ['allow', 'deny'] as const) {
    for (const rule of (ctx.flags[kind] as string[] | undefined) ?? []) {
      const i = rule.indexOf('=');
      if (i <= 0) throw new UsageError(`invalid --${kind} '${rule}': use COMMAND=PATTERN, e.g. KEY:GENERATE=minio-*`);
      add(kind, rule.slice(0, i), [rule.slice(i + 1)]);
    }
  }
  return rules;
}

function ruleSet(file: string, command: string, set: unknown): string[] {
  if (typeof set === 'string') return [set];
  if (Array.isArray(set) && set.every((p) => typeof p === 'string')) return set as string[];
  if (typeof set === 'object' && set !== null) return Object.keys(set);
  throw new Error(`${file}: the patterns of ${command} must be a string, an array or an object`);
}

export const policyCreateCommand: Command = {
  name: 'create',
  summary: 'Create (or replace) a runtime policy of an enclave',
  usage: 'kes policy create [options] NAME [FILE]',
  description: [
    'Stores a policy in the key store: command names (KEY:GENERATE, KEY:DECRYPT, KEY:CREATE, ...)',
    'with patterns of key (or policy, identity) names; a pattern ending in * matches every name',
    'starting with the rest; deny wins. From a JSON FILE {"allow": {...}, "deny": {...}} and/or',
    '--allow/--deny COMMAND=PATTERN. Assign it with "kes policy assign". Config file policies are',
    'edited in the config file.',
  ].join('\n'),
  flags: runtimeFlags(
    { name: 'allow', type: 'list', value: 'COMMAND=PATTERN', description: 'Allow a command on names matching the pattern (repeatable)' },
    { name: 'deny', type: 'list', value: 'COMMAND=PATTERN', description: 'Deny a command on names matching the pattern (repeatable)' },
  ),
  examples: ["kes policy create minio --allow 'KEY:GENERATE=minio-*' --allow 'KEY:DECRYPT=minio-*'", 'kes policy create --enclave tenant-1 app policy.json'],
  async run(ctx) {
    const [name, file] = expectArgs(ctx, 1, 2, 'kes policy create NAME [FILE]');
    nameArg(name!, 'policy');
    const rules = await rulesOf(ctx, file);
    await withKmsClient(ctx, (c) => c.createPolicy(name!, rules as { allow: KmsPolicyRules; deny: KmsPolicyRules }, { signal: ctx.io.signal }));
  },
};

export const policyAssignCommand: Command = {
  name: 'assign',
  summary: 'Assign a runtime policy to runtime identities',
  usage: 'kes policy assign [options] POLICY IDENTITY...',
  flags: runtimeFlags(),
  examples: ['kes policy assign minio h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU'],
  async run(ctx) {
    const [policy, ...rest] = expectArgs(ctx, 2, Infinity, 'kes policy assign POLICY IDENTITY...');
    nameArg(policy!, 'policy');
    const identities = rest.map(identityArg);
    await withKmsClient(ctx, async (c) => {
      for (const id of identities) await c.assignPolicy(id, policy!, { signal: ctx.io.signal });
    });
  },
};

export const policyRmCommand: Command = {
  name: 'rm',
  summary: 'Delete runtime policies',
  usage: 'kes policy rm [options] NAME...',
  flags: runtimeFlags(),
  examples: ['kes policy rm minio'],
  async run(ctx) {
    const names = expectArgs(ctx, 1, Infinity, 'kes policy rm NAME...');
    for (const n of names) nameArg(n, 'policy');
    await withKmsClient(ctx, async (c) => {
      for (const n of names) await c.deletePolicy(n, { signal: ctx.io.signal });
    });
  },
};

/** `kes policy ls --enclave E`: the enclave's runtime policies. */
export async function listRuntimePolicies(ctx: CommandContext, pattern: string | undefined): Promise<void> {
  const prefix = patternToPrefix(pattern);
  const all = await withKmsClient(ctx, (c) => collect(c.iteratePolicies({ prefix, signal: ctx.io.signal })));
  const out = outputOf(ctx);
  if (out.json) return printJson(ctx, all.map((p) => ({ name: p.name, created_at: iso(p.createdAt), created_by: p.createdBy || undefined })));
  ctx.io.stdout.write(formatList('Policy', all.map((p) => p.name), out));
}

/** `kes policy show --enclave E NAME`: a runtime policy's rules. */
export async function showRuntimePolicy(ctx: CommandContext, name: string): Promise<void> {
  const p = await withKmsClient(ctx, (c) => c.getPolicy(name, { signal: ctx.io.signal }));
  const out = outputOf(ctx);
  if (out.json || !out.tty) return printJson(ctx, { allow: p.allow, deny: p.deny, created_at: iso(p.createdAt), created_by: p.createdBy || undefined });
  const lines: string[] = [];
  for (const [title, sets, style] of [['Allow:', p.allow, 'green'], ['Deny:', p.deny, 'red']] as const) {
    const entries = Object.entries(sets);
    if (entries.length === 0) continue;
    lines.push(paint(out.color, title, 'bold'));
    for (const [command, patterns] of entries) lines.push(`  · ${command}: ${patterns.map((x) => paint(out.color, x, style)).join(', ')}`);
  }
  ctx.io.stdout.write((lines.length ? lines.join('\n') + '\n\n' : '') + formatFields([['Created at', date(p.createdAt)], ['Created by', p.createdBy]], out.color));
}
