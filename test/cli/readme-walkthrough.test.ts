/**
 * The README's CLI walkthrough runs as written (with `kes` running this checkout's CLI), and
 * stops with a message instead of waiting forever when its port is taken or its server dies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './run-cli.js';
import { freePort } from '../../bench/setup.js';

/** `kes` on the PATH runs this checkout's CLI from source (exec: `$!` is the server itself). */
const KES = `exec node --import ${join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')} ${join(ROOT, 'src/cli/bin.ts')} "$@"\n`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs the README's walkthrough in an empty folder with 7373 replaced by port. kesScript is the
 * body of the `kes` on the PATH. A run that outlives timeoutMs is killed (code null).
 */
async function runWalkthrough(port: number, o: { timeoutMs: number; kesScript?: string }): Promise<Run> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Walkthrough'));
  const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(script, 'README has the walkthrough');
  const dir = mkdtempSync(join(tmpdir(), 'kes-walkthrough-'));
  try {
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'work'));
    writeFileSync(join(dir, 'bin', 'kes'), `#!/bin/sh\n${o.kesScript ?? KES}`, { mode: 0o755 });
    // Whatever happens, the server does not outlive the test.
    const prelude = `trap 'kill $SERVER 2>/dev/null || true' EXIT\n`;
    const started = Date.now();
    return await new Promise<Run>((resolve) => {
      execFile(
        'bash',
        ['-c', prelude + script.replaceAll('7373', String(port))],
        { cwd: join(dir, 'work'), env: { ...process.env, NO_COLOR: '1', PATH: `${join(dir, 'bin')}:${process.env.PATH}` }, timeout: o.timeoutMs, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : err.killed ? null : typeof err.code === 'number' ? err.code : -1;
          resolve({ code, stdout, stderr, ms: Date.now() - started });
        },
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the README walkthrough', () => {
  test('an application gets a policy and generates and decrypts data keys, as the README shows', async () => {
    const r = await runWalkthrough(await freePort(), { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `the walkthrough failed:\n${r.stdout}\n${r.stderr}`);
    const decrypted = /\{"plaintext":"([^"]+)"\}/.exec(r.stdout)?.[1];
    assert.ok(decrypted, `decrypt printed a plaintext:\n${r.stdout}\n${r.stderr}`);
    assert.equal(Buffer.from(decrypted, 'base64').length, 32);
    assert.match(r.stdout, /denied, as it should be/);
    assert.match(r.stderr, /not authorized: insufficient permissions/);
  });

  test('refuses to start when its port is taken (a quick-start server still runs), and says so', async () => {
    const busy: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = busy.address() as import('node:net').AddressInfo;
      const r = await runWalkthrough(port, { timeoutMs: 30_000 });
      assert.notEqual(r.code, null, `the walkthrough still waited after ${r.ms} ms:\n${r.stdout}\n${r.stderr}`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`port ${port} is in use \\(another kes server\\?\\): stop it first`));
      assert.equal(r.stdout, '', 'nothing ran');
    } finally {
      busy.close();
    }
  });

  test('stops waiting when its server died, and says so', async () => {
    // A `kes server` that fails at once (as with a broken config); every other command is real.
    const failingServer = `if [ "$1" = server ]; then echo "kes: the server failed to start" >&2; exit 1; fi\n${KES}`;
    const r = await runWalkthrough(await freePort(), { timeoutMs: 30_000, kesScript: failingServer });
    assert.notEqual(r.code, null, `the walkthrough still waited after ${r.ms} ms:\n${r.stdout}\n${r.stderr}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /kes: the server failed to start\n[\s\S]*the server stopped: see its error above/);
    assert.doesNotMatch(r.stdout, /denied, as it should be/, 'the walkthrough went no further');
  });
});
