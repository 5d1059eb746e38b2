/** Helpers shared by the client commands. */
import type { CommandContext } from '../command.js';
import type { KesClient } from '../../client/client.js';
import { clientFromEnv, type ClientSetup } from '../client-env.js';
import { UsageError } from '../flags.js';
import { colorMode, isTTY, useColor } from '../output.js';

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

/** A listing pattern (`*`, `my-*`, `my-key`) as the prefix the SDK takes. */
export function patternToPrefix(pattern: string | undefined): string {
  if (pattern === undefined || pattern === '*') return '';
  return pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
}

/** Decodes a base64 argument. @throws UsageError naming the argument */
export function base64Arg(value: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) throw new UsageError(`${what} is not valid base64`);
  return Buffer.from(value, 'base64');
}

/** Runs fn with a client from the environment and flags, and closes it afterwards. */
export async function withClient<T>(ctx: CommandContext, fn: (c: KesClient) => Promise<T>, setup?: ClientSetup): Promise<T> {
  const client = await clientFromEnv(ctx.flags, ctx.io.env, setup);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
