/**
 * The dev banner's "Or with the kes CLI" command works where the user is: pasted in another
 * folder, with the printed exports, it creates a key on the dev server. It is `kes` only when the
 * `kes` the shell finds on PATH is this very CLI; never `npx kes`, which outside this repository
 * runs an unrelated npm package.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startCli, type RunningCli } from './run-cli.js';

const sh = promisify(execFile);
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** The banner's CLI line (without the `key create my-key` it ends with) and its exports. */
async function bannerCommand(cli: RunningCli) {
  const [, command] = await cli.waitFor(/\n {2}(.+) key create my-key\n/);
  const env = Object.fromEntries([...cli.stdout().matchAll(/export (KES_\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  return { command: command!, env };
}

/** Runs `command key create my-key`, then `command key ls`, in `cwd` with the banner's exports. */
async function pasteInto(cwd: string, command: string, env: Record<string, string>) {
  return sh('sh', ['-c', `${command} key create my-key && ${command} key ls`], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 30_000 });
}

/** Starts `kes server --dev` through `file` (a `kes` on PATH), from `cwd`. */
function startThrough(file: string, cwd: string, env: Record<string, string>): RunningCli {
  const child = spawn(file, ['server', '--dev', '--addr', '127.0.0.1:0'], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return {
    child,
    stdout: () => out,
    stderr: () => '',
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
        const m = out.match(pattern);
        if (m) return m;
        if (child.exitCode !== null) break;
      }
      throw new Error(`no ${pattern} in:\n${out}`);
    },
  };
}

describe('the kes server --dev banner', () => {
  let dir: string;
  before(() => void (dir = mkdtempSync(join(tmpdir(), 'kes-banner-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('prints a command that works from another folder when no kes on PATH is this CLI', async () => {
    // What a user's PATH may hold: npx's link to this package (valid only under npx) and an
    // unrelated program called kes, both ahead of everything else.
    const npxBin = join(dir, 'npx-cache', 'node_modules', '.bin');
    const other = join(dir, 'other');
    mkdirSync(npxBin, { recursive: true });
    mkdirSync(other);
    symlinkSync(join(ROOT, 'src/cli/bin.ts'), join(npxBin, 'kes'));
    writeFileSync(join(other, 'kes'), '#!/bin/sh\necho "an unrelated kes" >&2\nexit 3\n', { mode: 0o755 });
    const elsewhere = mkdtempSync(join(dir, 'elsewhere-'));
    const PATH = [npxBin, other, process.env.PATH].join(':');

    const cli = startCli(['server', '--dev', '--addr', '127.0.0.1:0'], { PATH });
    try {
      const { command, env } = await bannerCommand(cli);
      assert.doesNotMatch(command, /npx/);
      assert.doesNotMatch(command, /^kes\b/, 'the first kes on PATH is another program');
      assert.match(command, /^node /);
      const { stdout } = await pasteInto(elsewhere, command, { ...env, PATH });
      assert.equal(stdout, 'my-key\n');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  test('prints plain kes when the kes on PATH is this CLI (as after npm install -g)', async () => {
    // As npm links a bin: bin/kes -> the package's entry script, here one that runs the sources.
    const pkg = join(dir, 'pkg');
    const bin = join(dir, 'bin');
    mkdirSync(pkg);
    mkdirSync(bin);
    writeFileSync(join(pkg, 'kes.mjs'), `#!/usr/bin/env node\nimport ${JSON.stringify(new URL('../../src/cli/bin.ts', import.meta.url).href)};\n`, { mode: 0o755 });
    symlinkSync(join(pkg, 'kes.mjs'), join(bin, 'kes'));
    const env = { PATH: `${bin}:${process.env.PATH}`, NODE_OPTIONS: `--import=${TSX}` };
    const elsewhere = mkdtempSync(join(dir, 'elsewhere-'));

    const cli = startThrough(join(bin, 'kes'), mkdtempSync(join(dir, 'start-')), env);
    try {
      const banner = await bannerCommand(cli);
      assert.equal(banner.command, 'kes');
      const { stdout } = await pasteInto(elsewhere, banner.command, { ...banner.env, ...env });
      assert.equal(stdout, 'my-key\n');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });
});
