/** The README's CLI walkthrough runs as written (with `kes` running this checkout's CLI). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './run-cli.js';
import { freePort } from '../../bench/setup.js';

test('an application gets a policy and generates and decrypts data keys, as the README shows', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Walkthrough'));
  const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(script, 'README has the walkthrough');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kes-walkthrough-'));
  try {
    // `kes` on the PATH runs this checkout's CLI from source (exec: `$!` is the server itself).
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'kes'), `#!/bin/sh\nexec node --import ${join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')} ${join(ROOT, 'src/cli/bin.ts')} "$@"\n`, { mode: 0o755 });
    const prelude = `set -e\ntrap 'kill $SERVER 2>/dev/null || true' EXIT\n`;
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', prelude + script.replaceAll('7373', String(port))], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', PATH: `${join(dir, 'bin')}:${process.env.PATH}` },
      timeout: 120_000,
    });
    const decrypted = /\{"plaintext":"([^"]+)"\}/.exec(stdout)?.[1];
    assert.ok(decrypted, `decrypt printed a plaintext:\n${stdout}\n${stderr}`);
    assert.equal(Buffer.from(decrypted, 'base64').length, 32);
    assert.match(stdout, /denied, as it should be/);
    assert.match(stderr, /not authorized: insufficient permissions/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
