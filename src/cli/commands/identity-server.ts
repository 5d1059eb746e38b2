/** `kes identity info` and `kes identity ls`: identities as the server knows them. */
import type { Command } from '../command.js';
import { clientFlags, OUTPUT_FLAGS } from '../client-env.js';
import { formatDate, formatFields, formatList, paint } from '../output.js';
import { collect, expectArgs, nameArg, outputOf, patternToPrefix, withClient } from './common.js';
import { listRuntimeIdentities, runtimeFlags } from './runtime.js';

export const identityInfoCommand: Command = {
  name: 'info',
  summary: 'Show an identity (default: your own) and its policy',
  usage: 'kes identity info [options] [IDENTITY]',
  flags: clientFlags(...OUTPUT_FLAGS),
  examples: ['kes identity info', 'kes identity info 3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22'],
  async run(ctx) {
    const [identity] = expectArgs(ctx, 0, 1, 'kes identity info [IDENTITY]');
    const out = outputOf(ctx);
    const signal = ctx.io.signal;
    if (identity !== undefined) {
      nameArg(identity, 'identity');
      const i = await withClient(ctx, (c) => c.describeIdentity(identity, { signal }));
      if (out.json) {
        ctx.io.stdout.write(JSON.stringify({ identity, ...(i.isAdmin ? { admin: true } : { policy: i.policy }), created_at: i.createdAt.toISOString(), created_by: i.createdBy }) + '\n');
        return;
      }
      const rows: [string, string][] = [['Identity', identity], ['Role', i.isAdmin ? 'Admin' : 'User']];
      if (!i.isAdmin) rows.push(['Policy', i.policy], ['Created by', i.createdBy]);
      rows.push(['Created at', formatDate(i.createdAt)]);
      ctx.io.stdout.write(formatFields(rows, out.color));
      return;
    }
    const self = await withClient(ctx, (c) => c.describeSelf({ signal }));
    if (out.json) {
      const rules = (list: string[]) => Object.fromEntries(list.map((r) => [r, {}]));
      const obj = self.isAdmin
        ? { identity: self.identity, admin: true, created_at: self.createdAt.toISOString() }
        : self.policy === ''
          ? { identity: self.identity }
          : { identity: self.identity, policy: self.policy, allow: rules(self.allow), deny: rules(self.deny), created_at: self.createdAt.toISOString(), created_by: self.createdBy };
      ctx.io.stdout.write(JSON.stringify(obj) + '\n');
      return;
    }
    const rows: [string, string][] = [['Identity', self.identity], ['Role', self.isAdmin ? 'Admin' : 'User']];
    if (!self.isAdmin && self.policy === '') {
      // Not assigned to a policy: the server answers nothing else.
      rows.push(['Policy', "none in the config file: it may do nothing else until the server admin lists it under a policy's identities, or gives it runtime rights (kes identity create, kes policy assign; see kes identity ls --enclave)"]);
      ctx.io.stdout.write(formatFields(rows, out.color));
      return;
    }
    if (!self.isAdmin) rows.push(['Policy', self.policy], ['Created by', self.createdBy]);
    rows.push(['Created at', formatDate(self.createdAt)]);
    let text = formatFields(rows, out.color);
    if (!self.isAdmin) {
      const list = (title: string, items: string[], style: 'green' | 'red') => (items.length ? `\n${paint(out.color, title, 'bold')}\n${items.map((r) => `  · ${paint(out.color, r, style)}`).join('\n')}\n` : '');
      text += list('Allow:', self.allow, 'green') + list('Deny:', self.deny, 'red');
    }
    ctx.io.stdout.write(text);
  },
};

export const identityLsCommand: Command = {
  name: 'ls',
  summary: 'List identities',
  usage: 'kes identity ls [options] [PATTERN]',
  description: 'Lists the identities of the config file. With --enclave, the runtime (MinKMS) identities of that enclave instead.',
  flags: runtimeFlags(...OUTPUT_FLAGS),
  examples: ['kes identity ls', "kes identity ls '3ecf*'", 'kes identity ls --enclave default'],
  async run(ctx) {
    const [pattern] = expectArgs(ctx, 0, 1, 'kes identity ls [PATTERN]');
    if (ctx.flags.enclave !== undefined) return listRuntimeIdentities(ctx, pattern);
    const names = await withClient(ctx, (c) => collect(c.listIdentities(patternToPrefix(pattern), { signal: ctx.io.signal })));
    ctx.io.stdout.write(formatList('Identity', names, outputOf(ctx)));
  },
};
