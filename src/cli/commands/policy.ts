/** `kes policy`: inspect the server's policies. */
import type { Command } from '../command.js';
import { clientFlags, OUTPUT_FLAGS } from '../client-env.js';
import { formatDate, formatFields, formatList, paint } from '../output.js';
import { collect, expectArgs, nameArg, outputOf, patternToPrefix, withClient } from './common.js';
import { listRuntimePolicies, policyAssignCommand, policyCreateCommand, policyRmCommand, runtimeFlags, showRuntimePolicy } from './runtime.js';

const info: Command = {
  name: 'info',
  summary: 'Show information about a policy',
  usage: 'kes policy info [options] NAME',
  flags: clientFlags(...OUTPUT_FLAGS),
  examples: ['kes policy info minio'],
  async run(ctx) {
    const [name] = expectArgs(ctx, 1, 1, 'kes policy info NAME');
    nameArg(name!, 'policy');
    const out = outputOf(ctx);
    const p = await withClient(ctx, (c) => c.describePolicy(name!, { signal: ctx.io.signal }));
    if (out.json) {
      const obj = { name: p.name, created_at: p.createdAt.toISOString(), created_by: p.createdBy };
      ctx.io.stdout.write(JSON.stringify(obj, null, out.tty ? 2 : undefined) + '\n');
    } else {
      ctx.io.stdout.write(formatFields([['Name', p.name], ['Date', formatDate(p.createdAt)], ['Created by', p.createdBy]], out.color));
    }
  },
};

const ls: Command = {
  name: 'ls',
  summary: 'List policies',
  usage: 'kes policy ls [options] [PATTERN]',
  description: 'Lists the policies of the config file. With --enclave, the runtime (MinKMS) policies of that enclave instead.',
  flags: runtimeFlags(...OUTPUT_FLAGS),
  examples: ['kes policy ls', "kes policy ls 'minio*'", 'kes policy ls --enclave default'],
  async run(ctx) {
    const [pattern] = expectArgs(ctx, 0, 1, 'kes policy ls [PATTERN]');
    if (ctx.flags.enclave !== undefined) return listRuntimePolicies(ctx, pattern);
    const names = await withClient(ctx, (c) => collect(c.listPolicies(patternToPrefix(pattern), { signal: ctx.io.signal })));
    ctx.io.stdout.write(formatList('Policy', names, outputOf(ctx)));
  },
};

const show: Command = {
  name: 'show',
  summary: 'Show the rules of a policy',
  usage: 'kes policy show [options] NAME',
  description: 'Prints the allow and deny patterns of a policy (JSON when --json is set or stdout is not a terminal). With --enclave, of a runtime (MinKMS) policy of that enclave.',
  flags: runtimeFlags(...OUTPUT_FLAGS),
  examples: ['kes policy show minio', 'kes policy show minio --json', 'kes policy show --enclave default minio'],
  async run(ctx) {
    const [name] = expectArgs(ctx, 1, 1, 'kes policy show NAME');
    nameArg(name!, 'policy');
    if (ctx.flags.enclave !== undefined) return showRuntimePolicy(ctx, name!);
    const out = outputOf(ctx);
    const p = await withClient(ctx, (c) => c.getPolicy(name!, { signal: ctx.io.signal }));
    if (out.json || !out.tty) {
      const rules = (list: string[]) => Object.fromEntries(list.map((r) => [r, {}]));
      const obj = { allow: rules(p.allow), deny: rules(p.deny), created_at: p.createdAt.toISOString(), created_by: p.createdBy };
      ctx.io.stdout.write(JSON.stringify(obj, null, out.tty ? 2 : undefined) + '\n');
      return;
    }
    const bullets = (list: string[], style: 'green' | 'red') => list.map((r) => `  · ${paint(out.color, r, style)}`).join('\n');
    const lines = [];
    if (p.allow.length) lines.push(paint(out.color, 'Allow:', 'bold'), bullets(p.allow, 'green'));
    if (p.deny.length) lines.push(paint(out.color, 'Deny:', 'bold'), bullets(p.deny, 'red'));
    if (lines.length) lines.push('');
    lines.push(`${paint(out.color, 'Created at:', 'bold')} ${formatDate(p.createdAt)}`, `${paint(out.color, 'Created by:', 'bold')} ${p.createdBy}`);
    ctx.io.stdout.write(lines.join('\n') + '\n');
  },
};

export const policyCommand: Command = {
  name: 'policy',
  usage: 'kes policy <command>',
  description: [
    'Policies of the server config file are shown by info, ls and show. Runtime (MinKMS) policies',
    'live in the key store, per enclave: create, assign and rm change them, and ls and show show',
    'them with --enclave. The commands talk to the server in KES_SERVER (or --server) and',
    'authenticate with KES_API_KEY (or --api-key), or with the client certificate and key files in',
    'KES_CLIENT_CERT and KES_CLIENT_KEY.',
  ].join('\n'),
  subcommands: [info, ls, show, policyCreateCommand, policyAssignCommand, policyRmCommand],
};
