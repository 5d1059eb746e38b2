/** The shape of a CLI command and the I/O it runs with (injectable for tests). */
import type { Writable } from 'node:stream';
import type { FlagSpec, FlagValues } from './flags.js';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Resolves when the user interrupts (SIGINT) — long-running commands stop on it. */
  signal?: AbortSignal;
}

export interface CommandContext {
  flags: FlagValues;
  args: string[];
  io: CliIo;
}

export interface Command {
  name: string;
  /** One line for the parent's command list (a top-level command's is in commands/index.ts). */
  summary?: string;
  /** The usage line(s), e.g. `kes server [options]`. */
  usage: string;
  /** Longer description shown in --help. */
  description?: string;
  flags?: FlagSpec[];
  examples?: string[];
  /** Runs the command; returns the exit code (default 0). */
  run?: (ctx: CommandContext) => Promise<number | void>;
  subcommands?: CommandEntry[];
}

/**
 * A command whose module is loaded only when it is used (run, or its help shown), so that a
 * command does not load the code of the others (`kes key ls` never loads the server).
 */
export interface LazyCommand {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export type CommandEntry = Command | LazyCommand;

export function isLazy(entry: CommandEntry): entry is LazyCommand {
  return 'load' in entry;
}
