/** `kes ls`: list keys, identities (-i) or policies (-p). */
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { clientFlags, OUTPUT_FLAGS } from '../client-env.js';
import { formatList } from '../output.js';
import { collect, expectArgs, outputOf, patternToPrefix, withClient } from './common.js';

export const lsCommand: Command = {
  name: 'ls',
  usage: 'kes ls [-i | -p] [options] [PREFIX]',
  description: 'Lists the names of keys (default), identities (-i) or policies (-p) that start with PREFIX, sorted.',
  flags: clientFlags(
    { name: 'identity', short: 'i', type: 'boolean', description: 'List identities' },
    { name: 'policy', short: 'p', type: 'boolean', description: 'List policies' },
    ...OUTPUT_FLAGS,
  ),
  examples: ['kes ls', 'kes ls minio-', 'kes ls -p', 'kes ls -i --json'],
  async run(ctx) {
    const [pattern] = expectArgs(ctx, 0, 1, 'kes ls [PREFIX]');
    if (ctx.flags.identity && ctx.flags.policy) throw new UsageError('-i and -p cannot be used together');
    const out = outputOf(ctx);
    const prefix = patternToPrefix(pattern);
    const signal = ctx.io.signal;
    const header = ctx.flags.identity ? 'Identity' : ctx.flags.policy ? 'Policy' : 'Key';
    const names = await withClient(ctx, (c) =>
      collect(ctx.flags.identity ? c.listIdentities(prefix, { signal }) : ctx.flags.policy ? c.listPolicies(prefix, { signal }) : c.listKeys(prefix, { signal })),
    );
    ctx.io.stdout.write(formatList(header, names, out));
  },
};
