/**
 * The AWS SDK is loaded only when an AWS store connects: a child process in which every
 * `@aws-sdk/*` and `@smithy/*` import fails loads the server and connects other stores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (/^@(aws-sdk|smithy)\\//.test(specifier)) throw new Error('blocked import of ' + specifier);
  return next(specifier, context);
}
`;

const SCRIPT = (dir: string) => `
const { KesServer } = await import(${JSON.stringify(pathToFileURL(join(root, 'src/server/server.ts')).href)});
const { connectKeyStore } = await import(${JSON.stringify(pathToFileURL(join(root, 'src/keystore/connect.ts')).href)});
const results = [typeof KesServer];
for (const config of [{ type: 'mem' }, { type: 'fs', path: ${JSON.stringify(join(dir, 'keys'))} }, { type: 'aws', endpoint: 'http://127.0.0.1:9', region: 'us-east-1' }]) {
  try {
    const store = await connectKeyStore(config);
    await store.create('k', Buffer.from('v'));
    results.push(config.type + ': ' + Buffer.from(await store.get('k')).toString());
    await store.close();
  } catch (err) {
    results.push(config.type + ': ' + err.message);
  }
}
console.log(JSON.stringify(results));
`;

test('the server and the stores other than aws run without the AWS SDK', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kes-aws-sdk-'));
  try {
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(join(dir, 'register.mjs')).href, '--input-type=module', '-e', SCRIPT(dir)], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const results = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '') as string[];
    // The last line proves the hook works: connecting the aws store needs the SDK.
    assert.deepEqual(results, ['function', 'mem: v', 'fs: v', 'aws: blocked import of @aws-sdk/client-secrets-manager']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
