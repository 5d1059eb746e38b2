/** In-memory stdout/stderr for driving the CLI with runMain, optionally pretending to be a terminal. */
import { Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/command.js';
import { runMain } from '../../src/cli/main.js';

export class MemoryStream extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kes <argv>` in-process with the given env (merged over nothing: only what is given). */
export async function kes(argv: string[], env: Record<string, string | undefined>, options: { tty?: boolean; signal?: AbortSignal } = {}): Promise<CliResult> {
  const stdout = new MemoryStream(options.tty);
  const stderr = new MemoryStream(options.tty);
  const io: CliIo = { stdout, stderr, env: { NO_COLOR: '1', ...env }, signal: options.signal };
  const code = await runMain(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Starts `kes <argv>` in-process and returns its live output and a way to stop it. */
export function kesLive(argv: string[], env: Record<string, string | undefined>, options: { tty?: boolean } = {}) {
  const stdout = new MemoryStream(options.tty);
  const stderr = new MemoryStream(options.tty);
  const controller = new AbortController();
  const done = runMain(argv, { stdout, stderr, env: { NO_COLOR: '1', ...env }, signal: controller.signal });
  return { stdout, stderr, stop: () => controller.abort(), done };
}
