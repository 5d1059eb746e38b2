/**
 * `--server`, `--api-key`, `--ca` and `--insecure` on every client command: they work without
 * the environment, override it, and the help names the variables they replace.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { isLazy, type Command } from '../../src/cli/command.js';
import { ROOT } from '../../src/cli/main.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { kes, kesLive } from '../helpers/cli-io.js';

/** The commands that never talk to a server. */
const LOCAL = ['kes server', 'kes identity', 'kes identity new', 'kes identity of', 'kes log verify', 'kes migrate'];

/** Every runnable command below cmd, with its path. */
async function runnable(cmd: Command, path: string[] = ['kes']): Promise<[string, Command][]> {
  const found: [string, Command][] = cmd.run ? [[path.join(' '), cmd]] : [];
  for (const entry of cmd.subcommands ?? []) {
    const sub = isLazy(entry) ? await entry.load() : entry;
    found.push(...(await runnable(sub, [...path, sub.name])));
  }
  return found;
}

describe('client flags', () => {
  let t: TestServer;
  let flags: string[];
  const admin = ApiKey.generate();
  const other = ApiKey.generate();
  const key = Buffer.alloc(32, 7).toString('base64');

  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
      config.policies = { p: { allow: ['/v1/status'], deny: [], identities: [] } };
    });
    flags = ['--server', `127.0.0.1:${t.port}`, '--api-key', admin.toString(), '--ca', join(t.dir, 'ca.crt')];
  });
  after(() => t.close());

  test('the help of every client command lists the flags and names KES_SERVER and KES_API_KEY', async () => {
    const client = (await runnable(ROOT)).filter(([path]) => path !== 'kes' && !LOCAL.includes(path));
    assert.ok(client.length >= 16, client.map(([p]) => p).join(', '));
    for (const [path] of client) {
      const r = await kes([...path.split(' ').slice(1), '--help'], {});
      for (const want of [/--server HOST\[:PORT\] .*\[KES_SERVER\]/, /--api-key KEY .*\[KES_API_KEY\]/, /--ca PATH .*\[KES_CAPATH\]/, /-k, --insecure /]) {
        assert.match(r.stdout, want, path);
      }
    }
    for (const parent of ['key', 'policy']) {
      const r = await kes([parent, '--help'], {});
      assert.match(r.stdout, /KES_SERVER[\s\S]*KES_API_KEY/, parent);
    }
  });

  test('every client command works with the flags alone (no KES_SERVER, KES_API_KEY, KES_CAPATH)', async () => {
    const none = {};
    let r = await kes(['key', 'create', 'f-a', ...flags], none);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await kes(['key', 'import', 'f-b', key, ...flags], none);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await kes(['key', 'encrypt', 'f-b', 'hi', ...flags], none);
    const { ciphertext } = JSON.parse(r.stdout);
    r = await kes(['key', 'decrypt', 'f-b', ciphertext, ...flags], none);
    assert.equal(Buffer.from(JSON.parse(r.stdout).plaintext, 'base64').toString(), 'hi');
    r = await kes(['key', 'dek', 'f-b', ...flags], none);
    assert.ok(JSON.parse(r.stdout).ciphertext);
    r = await kes(['key', 'info', 'f-a', '--json', ...flags], none);
    assert.equal(JSON.parse(r.stdout).name, 'f-a');
    r = await kes(['key', 'ls', 'f-*', ...flags], none);
    assert.equal(r.stdout, 'f-a\nf-b\n');
    r = await kes(['ls', 'f-', ...flags], none);
    assert.equal(r.stdout, 'f-a\nf-b\n');
    r = await kes(['key', 'rm', 'f-a', 'f-b', ...flags], none);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await kes(['policy', 'ls', ...flags], none);
    assert.equal(r.stdout, 'p\n');
    r = await kes(['policy', 'info', 'p', '--json', ...flags], none);
    assert.equal(JSON.parse(r.stdout).name, 'p');
    r = await kes(['policy', 'show', 'p', ...flags], none);
    assert.deepEqual(JSON.parse(r.stdout).allow, { '/v1/status': {} });
    r = await kes(['identity', 'info', '--json', ...flags], none);
    assert.equal(JSON.parse(r.stdout).identity, admin.identity);
    r = await kes(['identity', 'info', admin.identity, '--json', ...flags], none);
    assert.equal(JSON.parse(r.stdout).admin, true);
    r = await kes(['identity', 'ls', ...flags], none);
    assert.equal(r.stdout, `${admin.identity}\n`);
    r = await kes(['status', '--json', ...flags], none);
    assert.equal(JSON.parse(r.stdout).endpoint, `https://127.0.0.1:${t.port}`);

    for (const cmd of [['log', '--json'], ['log', '--error'], ['metric', '--rate', '50ms']]) {
      const live = kesLive([...cmd, ...flags], none);
      await new Promise((resolve) => setTimeout(resolve, 300));
      live.stop();
      await live.done;
      assert.equal(live.stderr.text, '', cmd.join(' '));
    }
  });

  test('--server and --api-key override KES_SERVER and KES_API_KEY; --insecure and -k', async () => {
    const env = { KES_SERVER: '127.0.0.1:1', KES_API_KEY: other.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
    let r = await kes(['key', 'ls'], env);
    assert.match(r.stderr, /connection refused/);
    r = await kes(['key', 'ls', '--server', `https://127.0.0.1:${t.port}`], env);
    assert.match(r.stderr, /not allowed/, 'the server of the flag, the key of the environment');
    r = await kes(['key', 'ls', '--server', `127.0.0.1:${t.port}`, '--api-key', admin.toString()], env);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await kes(['key', 'ls', `--server=127.0.0.1:${t.port}`, `--api-key=${admin.toString()}`], { KES_SERVER: '127.0.0.1:1' });
    assert.equal(r.code, 1, 'without a CA the certificate is not trusted');
    r = await kes(['key', 'ls', '--insecure', `--server=127.0.0.1:${t.port}`, `--api-key=${admin.toString()}`], {});
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await kes(['policy', 'ls', '-k', '-s', `127.0.0.1:${t.port}`, '-a', admin.toString()], {});
    assert.deepEqual([r.code, r.stdout], [0, 'p\n']);
    r = await kes(['key', 'create', 'x', '--api-key', 'kes:v1:nope', '--server', `127.0.0.1:${t.port}`], {});
    assert.match(r.stderr, /^Error: --api-key: invalid API key/);
    r = await kes(['key', 'ls', '--server', ' , ', '--api-key', admin.toString()], {});
    assert.deepEqual([r.code, r.stderr.split('\n')[0]], [2, 'Error: no server in --server: give HOST[:PORT] or a URL']);
  });

  test('kes status -s stays --short; its server is --server', async () => {
    const r = await kes(['status', '-s', '--server', `127.0.0.1:${t.port}`, '--api-key', admin.toString(), '-k'], {});
    assert.deepEqual([r.code, r.stdout], [0, `● https://127.0.0.1:${t.port}\n`]);
  });

  test('an --api-key flag wins over the client certificate variables', async () => {
    const certEnv = { KES_CLIENT_CERT: join(t.dir, 'nope.crt'), KES_CLIENT_KEY: join(t.dir, 'nope.key') };
    let r = await kes(['key', 'ls', '-k', '--server', `127.0.0.1:${t.port}`], { ...certEnv, KES_API_KEY: admin.toString() });
    assert.match(r.stderr, /both an API key and a client certificate are set/);
    r = await kes(['key', 'ls', '-k', '--server', `127.0.0.1:${t.port}`, '--api-key', admin.toString()], certEnv);
    assert.deepEqual([r.code, r.stderr], [0, '']);
  });
});
