/**
 * What the README's install (`npm pack`, `npm install -g`) delivers: the documents that the
 * CLI's help, the code and the README point at, and the CLI under both names, `kes` and
 * `openkes`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './run-cli.js';

const run = promisify(execFile);

/** The files `npm pack` puts in the package (scripts not run: nothing is built). */
async function packedFiles(): Promise<Set<string>> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const { stdout } = await run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 60_000 });
  const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  return new Set(pack!.files.map((f) => f.path));
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (entry.endsWith('.ts')) out.push(path);
  }
  return out;
}

test('the package holds every document that the code, the CLI help and the README point at', async () => {
  const texts = [...sourceFiles(join(ROOT, 'src')), join(ROOT, 'README.md'), join(ROOT, 'SECURITY.md')];
  const cited = new Map<string, string>();
  for (const file of texts) {
    for (const [path] of readFileSync(file, 'utf8').matchAll(/\b(?:docs\/[\w./-]*\w\.(?:md|yml)|SECURITY\.md)\b/g)) {
      if (!cited.has(path)) cited.set(path, relative(ROOT, file));
    }
  }
  assert.ok(cited.has('docs/config.md'), '`kes server --help` points at docs/config.md');
  const packed = await packedFiles();
  const missing = [...cited].filter(([path]) => !packed.has(path)).map(([path, from]) => `${path} (cited in ${from})`);
  assert.deepEqual(missing, [], 'documents cited but not in the package');
});

test('the CLI is installed as kes and as openkes', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
  assert.equal(pkg.bin.kes, 'dist/cli/bin.js');
  assert.equal(pkg.bin.openkes, pkg.bin.kes, 'openkes is the same program');
  assert.ok(pkg.files.includes('dist'));
});
