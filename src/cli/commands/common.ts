/** Helpers shared by the client commands. */
import type { CommandContext } from '../command.js';
import type { KesClient } from '../../client/client.js';
import { clientFromEnv } from '../client-env.js';
import { UsageError } from '../flags.js';
import { colorMode, isTTY, useColor } from '../output.js';
import { isValidName, isValidPattern } from '../../policy/names.js';

/** The naming rule of keys, policies and identities (policy/names.ts), as the CLI states it. */
export const NAME_RULE = "use 1 to 80 characters of A-Z a-z 0-9 _ -, not starting or ending with '-' (and not '_' alone)";

/** A key, policy, identity or enclave name argument. @throws UsageError stating the naming rule */
export function nameArg(name: string, kind: 'key' | 'policy' | 'identity' | 'enclave'): string {
  if (!isValidName(name)) throw new UsageError(`invalid ${kind} name ${JSON.stringify(name)}: ${NAME_RULE}`);
  return name;
}

/** Output settings of a command: --json, --color and whether stdout is a terminal. */
export function outputOf(ctx: CommandContext): { json: boolean; tty: boolean; color: boolean } {
  const tty = isTTY(ctx.io.stdout);
  return { json: ctx.flags.json === true, tty, color: useColor(ctx.io.stdout, colorMode(ctx.flags.color), ctx.io.env) };
}

/** Requires between min and max positional arguments. */
export function expectArgs(ctx: CommandContext, min: number, max: number, usage: string): string[] {
  if (ctx.args.length < min || ctx.args.length > max) {
    throw new UsageError(ctx.args.length < min ? `missing argument: ${usage}` : `too many arguments: ${usage}`);
  }
  return ctx.args;
}

/** Collects an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * A listing pattern (`*`, `my-*`, `my-key`, or a bare prefix such as `my-`) as the prefix the
 * SDK takes. @throws UsageError stating the rule when no name can start with the prefix
 */
export function patternToPrefix(pattern: string | undefined): string {
  if (pattern === undefined || pattern === '*') return '';
  const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  // The SDK sends a prefix that is not a name (`my-`) as the pattern `my-*`.
  if (prefix !== '' && !isValidName(prefix) && !isValidPattern(`${prefix}*`)) {
    throw new UsageError(`invalid pattern ${JSON.stringify(pattern)}: use the start of a name (A-Z a-z 0-9 _ -, not starting with '-'), optionally followed by *`);
  }
  return prefix;
}

/** Decodes a base64 argument. @throws UsageError naming the argument */
export function base64Arg(value: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) throw new UsageError(`${what} is not valid base64`);
  return Buffer.from(value, 'base64');
}

/** Runs fn with a client from the environment and flags, and closes it afterwards. */
export async function withClient<T>(ctx: CommandContext, fn: (c: KesClient) => Promise<T>): Promise<T> {
  const client = await clientFromEnv(ctx.flags, ctx.io.env);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/**
 * The arguments `NAME CIPHERTEXT [CONTEXT]` of decrypt and rewrap: a key name, then base64.
 * @throws UsageError naming the bad argument
 */
export function ciphertextArgs(ctx: CommandContext, usage: string): { name: string; ciphertext: Buffer; context: Buffer | undefined } {
  const [name, ciphertext, context] = expectArgs(ctx, 2, 3, usage);
  nameArg(name!, 'key');
  return { name: name!, ciphertext: base64Arg(ciphertext!, 'CIPHERTEXT'), context: context === undefined ? undefined : base64Arg(context, 'CONTEXT') };
}

/** KES's result printing: `\n<label>: <value>` lines on a terminal, a line of compact JSON in a pipe. */
export function printResult(ctx: CommandContext, fields: Record<string, string>): void {
  if (ctx.io.stdout.isTTY) {
    const width = Math.max(...Object.keys(fields).map((k) => k.length)) + 2;
    ctx.io.stdout.write('\n' + Object.entries(fields).map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n') + '\n');
  } else {
    ctx.io.stdout.write(JSON.stringify(fields) + '\n');
  }
}
