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
  /** One line for the parent's command list. */
  summary: string;
  /** The usage line(s), e.g. `kes server [options]`. */
  usage: string;
  /** Longer description shown in --help. */
  description?: string;
  flags?: FlagSpec[];
  examples?: string[];
  /** Runs the command; returns the exit code (default 0). */
  run?: (ctx: CommandContext) => Promise<number | void>;
  subcommands?: Command[];
}
