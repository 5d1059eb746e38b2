#!/usr/bin/env node
/** The `kes` executable. */
import { runMain } from './main.js';

// A reader that went away (`kes metric | head -3`) ends the command quietly, as `yes | head` does.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});
// Nobody reads the errors any more: the command goes on without them.
process.stderr.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const controller = new AbortController();
// Ctrl-C cancels a client command (exit 1); the server command handles it itself (graceful stop).
process.once('SIGINT', () => {
  controller.abort();
  if (process.listenerCount('SIGINT') === 0) process.exit(1);
});
process.exitCode = await runMain(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
