/**
 * The MinKMS runtime commands of the `kes` CLI against a real server (docs/minkms.md): enclaves,
 * runtime identities and policies, and `--enclave` for `identity ls` and `policy ls|show`. The
 * commands' effect is checked through the server (what the identity may then do), not only
 * through their own output; the KES meaning and output of `policy ls` and `identity ls` stay.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { kmsIdentityOf } from '../../src/auth/kms-credentials.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { kes } from '../helpers/cli-io.js';

describe('kes enclave, kes identity create|rm, kes policy create|assign|rm', () => {
  let t: TestServer;
  let env: Record<string, string>;
  let userEnv: Record<string, string>;
  const admin = ApiKey.generate();
  const user = ApiKey.generate();
  const userH1 = kmsIdentityOf(user.identity);

  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
      config.policies = { reader: { allow: ['/v1/key/describe/*'], deny: [], identities: [] } };
    });
    env = { KES_SERVER: `https://127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
    userEnv = { ...env, KES_API_KEY: user.toString() };
  });
  after(() => t.close());

  const ok = async (args: string[], e = env) => {
    const r = await kes(args, e);
    assert.equal(r.code, 0, `kes ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  test('enclaves: create, ls (piped and --json), rm; the default enclave is listed and cannot be removed', async () => {
    await ok(['enclave', 'create', 'tenant-a', 'tenant-b']);
    assert.equal(await ok(['enclave', 'ls']), 'default\ntenant-a\ntenant-b\n');
    assert.equal(await ok(['enclave', 'ls', 'tenant-*']), 'tenant-a\ntenant-b\n');
    const json = JSON.parse(await ok(['enclave', 'ls', '--json', 'tenant-a']));
    assert.equal(json.length, 1);
    assert.equal(json[0].name, 'tenant-a');
    assert.equal(json[0].created_by, kmsIdentityOf(admin.identity));
    await ok(['enclave', 'rm', 'tenant-b']);
    assert.equal(await ok(['enclave', 'ls']), 'default\ntenant-a\n');
    const again = await kes(['enclave', 'create', 'tenant-a'], env);
    assert.deepEqual([again.code, again.stderr], [1, 'Error: enclave already exists\n']);
    const rmDefault = await kes(['enclave', 'rm', 'default'], env);
    assert.deepEqual([rmDefault.code, rmDefault.stderr], [1, 'Error: invalid request: the default enclave cannot be created or deleted\n']);
    const bad = await kes(['enclave', 'create', 'no.dots'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid enclave name "no\.dots"/);
  });

  test('a runtime policy from flags and a file, assigned to a runtime identity, decides what it may do through the KES API', async () => {
    await ok(['key', 'create', 'minio-a']);
    await ok(['key', 'create', 'minio-secret']);
    await ok(['key', 'create', 'other']);
    // Before: the identity has no rights.
    assert.equal((await kes(['key', 'dek', 'minio-a'], userEnv)).code, 1);

    await ok(['identity', 'create', userH1, '--tag', 'team=storage']);
    await ok(['policy', 'create', 'minio', '--allow', 'KEY:GENERATE=minio-*', '--deny', 'key:generate=minio-secret']);
    await ok(['policy', 'assign', 'minio', user.identity]); // hex works as well as h1:
    assert.match(await ok(['key', 'dek', 'minio-a'], userEnv), /"plaintext"/);
    for (const name of ['minio-secret', 'other']) {
      const r = await kes(['key', 'dek', name], userEnv);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /not authorized: insufficient permissions/);
    }
    // A User may not create identities or policies.
    const denied = await kes(['policy', 'create', 'mine', '--allow', 'KEY:CREATE=*'], userEnv);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^Error: access denied: insufficient permissions: /);

    // Replaced from a file: the array, string and object forms of a rule set.
    const file = join(t.dir, 'policy.json');
    writeFileSync(file, JSON.stringify({ allow: { 'KEY:GENERATE': ['other'], 'KEY:DECRYPT': 'other', 'KEY:STATUS': { 'minio-*': {} } }, deny: {} }));
    await ok(['policy', 'create', 'minio', file]);
    assert.equal((await kes(['key', 'dek', 'minio-a'], userEnv)).code, 1);
    assert.match(await ok(['key', 'dek', 'other'], userEnv), /"plaintext"/);
    assert.deepEqual(JSON.parse(await ok(['policy', 'show', '--enclave', 'default', 'minio'])).allow, { 'KEY:DECRYPT': ['other'], 'KEY:GENERATE': ['other'], 'KEY:STATUS': ['minio-*'] });
  });

  test('--enclave lists runtime entries; without it, ls keeps its KES meaning and output', async () => {
    assert.equal(await ok(['policy', 'ls']), 'reader\n');
    assert.equal(await ok(['policy', 'ls', '--enclave', 'default']), 'minio\n');
    assert.equal(await ok(['identity', 'ls']), `${admin.identity}\n`);
    assert.equal(await ok(['identity', 'ls', '--enclave', 'default']), `${userH1}\n`);
    // On a terminal: a header over the identity, its privilege and its policy.
    const tty = await kes(['identity', 'ls', '--enclave', 'default', '--color', 'never'], env, { tty: true });
    assert.equal(tty.stdout, `${'Identity'.padEnd(userH1.length)}  Privilege  Policy\n${userH1}  User       minio\n`);
    const [entry] = JSON.parse(await ok(['identity', 'ls', '--enclave', 'default', '--json']));
    assert.deepEqual({ ...entry, created_at: undefined }, { identity: userH1, privilege: 'User', policy: 'minio', created_by: kmsIdentityOf(admin.identity), created_at: undefined });
    // KES_ENCLAVE works like --enclave; an unknown enclave is named as such.
    await ok(['identity', 'create', '--privilege', 'Admin', userH1], { ...env, KES_ENCLAVE: 'tenant-a' });
    assert.equal(await ok(['identity', 'ls', '--enclave', 'tenant-a']), `${userH1}\n`);
    const unknown = await kes(['policy', 'ls', '--enclave', 'nowhere'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^Error: enclave does not exist: "kes enclave ls" lists the enclaves/);
  });

  test('identity rm takes the rights away at once; bad arguments are usage errors', async () => {
    await ok(['identity', 'rm', userH1]);
    assert.equal((await kes(['key', 'dek', 'other'], userEnv)).code, 1);
    assert.equal(await ok(['identity', 'ls', '--enclave', 'default']), '');
    await ok(['policy', 'rm', 'minio']);
    assert.equal(await ok(['policy', 'ls', '--enclave', 'default']), '');
    const gone = await kes(['policy', 'rm', 'minio'], env);
    assert.deepEqual([gone.code, gone.stderr], [1, 'Error: policy does not exist\n']);

    for (const args of [
      ['identity', 'create', 'not-an-identity'],
      ['identity', 'create', '--privilege', 'root', userH1],
      ['identity', 'create', '--tag', 'novalue', userH1],
      ['policy', 'create', 'p', '--allow', 'KEY:GENERATE'],
    ]) {
      const r = await kes(args, env);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^Error: invalid /, args.join(' '));
    }
    // The config file's identities stay the config file's.
    const config = await kes(['identity', 'create', admin.identity], env);
    assert.deepEqual([config.code, config.stderr], [1, 'Error: invalid request: the identity is configured in the config file\n']);
  });
});
