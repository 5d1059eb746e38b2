/**
 * The `kes` command line: finds the command, parses its flags, runs it and maps failures to
 * exit codes (2 for usage errors, 1 for runtime errors). The only place that decides exit codes.
 */
import { formatFlags, parseFlags, UnknownFlagError, UsageError, type FlagSpec } from './flags.js';
import { paint, useColor } from './output.js';
import { isLazy, type CliIo, type Command } from './command.js';
import { buildInfo } from '../util/build-info.js';
import { cliErrorMessage } from './errors.js';
import { COMMANDS } from './commands/index.js';

const HELP: FlagSpec = { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' };

export const ROOT: Command = {
  name: 'kes',
  summary: 'KES-compatible key encryption server and client',
  usage: 'kes [options] <command>',
  description: 'openkes: a KES-compatible key encryption server, with the KES client commands.',
  flags: [{ name: 'version', short: 'v', type: 'boolean', description: 'Print version information' }],
  subcommands: COMMANDS,
};

/** The help text of a command. */
export function helpText(cmd: Command, path: string[]): string {
  const lines = [`Usage:\n  ${cmd.usage}`];
  if (cmd.description) lines.push('', cmd.description);
  if (cmd.subcommands?.length) {
    const width = Math.max(...cmd.subcommands.map((c) => c.name.length)) + 3;
    lines.push('', 'Commands:', ...cmd.subcommands.map((c) => `  ${c.name.padEnd(width)}${c.summary ?? ''}`));
  }
  lines.push('', 'Options:', formatFlags([...(cmd.flags ?? []), HELP]));
  if (cmd.examples?.length) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  if (cmd.subcommands?.length) lines.push('', `Use "${[...path, '<command>'].join(' ')} --help" for more information about a command.`);
  return lines.join('\n') + '\n';
}

function versionText(): string {
  const { version, commit } = buildInfo();
  return [
    `Version    ${version}${commit ? `    commit=${commit}` : ''}`,
    `Runtime    node ${process.version} ${process.platform}/${process.arch}`,
    'License    Apache-2.0    https://www.apache.org/licenses/LICENSE-2.0',
  ].join('\n') + '\n';
}

/** Runs the CLI with argv (without node and script) and returns the exit code. */
export async function runMain(argv: readonly string[], io: CliIo): Promise<number> {
  let cmd = ROOT;
  const path = ['kes'];
  let rest = [...argv];
  while (cmd.subcommands && rest.length > 0 && !rest[0]!.startsWith('-')) {
    const entry = cmd.subcommands.find((c) => c.name === rest[0]);
    if (!entry) {
      if (cmd.run) break;
      return usageError(io, `"${rest[0]}" is not a ${path.join(' ')} command`, path);
    }
    const next = isLazy(entry) ? await entry.load() : entry;
    cmd = next;
    path.push(next.name);
    rest = rest.slice(1);
  }
  try {
    const { flags, positionals } = parseFlags(rest, [...(cmd.flags ?? []), HELP]);
    if (flags.help) {
      io.stdout.write(helpText(cmd, path));
      return 0;
    }
    if (cmd === ROOT && flags.version) {
      io.stdout.write(versionText());
      return 0;
    }
    if (!cmd.run) {
      io.stderr.write(helpText(cmd, path));
      return cmd === ROOT && argv.length === 0 ? 0 : 2;
    }
    return (await cmd.run({ flags, args: positionals, io })) ?? 0;
  } catch (err) {
    if (err instanceof UnknownFlagError && err.mayBeArgument) {
      return usageError(io, `${err.message} (an argument that starts with '-' goes after --: ${path.join(' ')} -- ${err.flag})`, path);
    }
    if (err instanceof UsageError) return usageError(io, err.message, path);
    if (io.signal?.aborted) return 1;
    io.stderr.write(`${paint(useColor(io.stderr), 'Error:', 'red', 'bold')} ${cliErrorMessage(err)}\n`);
    return 1;
  }
}

function usageError(io: CliIo, message: string, path: string[]): number {
  io.stderr.write(`${paint(useColor(io.stderr), 'Error:', 'red', 'bold')} ${message}\nTry '${path.join(' ')} --help' for more information.\n`);
  return 2;
}
