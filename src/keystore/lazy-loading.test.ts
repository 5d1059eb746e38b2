/**
 * Store client libraries (the AWS SDK, etcd3 and its gRPC, pg) are loaded only when their store
 * connects: a child process in which every import of them fails loads the package root (every
 * export, the stores' classes included) and the server, and connects the other stores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (/^(@(aws-sdk|smithy|grpc)\\/|etcd3$|pg$)/.test(specifier)) throw new Error('blocked import of ' + specifier);
  return next(specifier, context);
}
`;

const SCRIPT = (dir: string) => `
const pkg = await import(${JSON.stringify(pathToFileURL(join(root, 'src/index.ts')).href)});
const { KesServer, connectKeyStore } = pkg;
const results = [typeof KesServer, [pkg.EtcdKeyStore, pkg.PostgresKeyStore, pkg.VaultKeyStore, pkg.AwsSecretsManagerKeyStore].map((c) => typeof c).join()];
const stores = [
  { type: 'mem' },
  { type: 'fs', path: ${JSON.stringify(join(dir, 'keys'))} },
  { type: 'aws', endpoint: 'http://127.0.0.1:9', region: 'us-east-1' },
  { type: 'etcd', endpoints: ['http://127.0.0.1:9'], prefix: 'k/' },
  { type: 'postgres', url: 'postgres://127.0.0.1:9/x', table: 'kes_keys' },
];
for (const config of stores) {
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

test('the package root and the server load no store client library until its store connects', () => {
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
    // The last lines prove the hook works: connecting these stores needs their libraries.
    assert.deepEqual(results, [
      'function',
      'function,function,function,function',
      'mem: v',
      'fs: v',
      'aws: blocked import of @aws-sdk/client-secrets-manager',
      'etcd: blocked import of etcd3',
      'postgres: blocked import of pg',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
