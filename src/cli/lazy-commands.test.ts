/**
 * A `kes` command loads its own code only: `kes key --help` must not load the server (its
 * cluster, TLS listener and key store code), nor any other command's module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The src/ modules a CLI run loads, in a child process, via a resolve hook that records them. */
function loadedModules(args: string[]): string[] {
  const hooks = `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes('/src/')) process.stderr.write('LOADED ' + result.url.slice(result.url.indexOf('/src/') + 1) + '\\n');
  return result;
}`)}`;
  const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(hooks)});`)}`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--import', register, 'src/cli/bin.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return [...child.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!);
}

test('kes key --help loads the key command, not the server or other commands', () => {
  const loaded = loadedModules(['key', '--help']);
  assert.ok(loaded.includes('src/cli/commands/key.ts'), loaded.join('\n'));
  const unwanted = loaded.filter((m) => /^src\/(server|keystore)\//.test(m) || (/^src\/cli\/commands\//.test(m) && !/\/(index|key|key-[a-z-]+|common)\.ts$/.test(m)));
  assert.deepEqual(unwanted, []);
});
