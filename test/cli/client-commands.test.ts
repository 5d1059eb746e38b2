/** The client commands of the `kes` CLI against a real server over mTLS, in pipe and TTY modes. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { kes, kesLive } from '../helpers/cli-io.js';

describe('kes client commands', () => {
  let t: TestServer;
  let env: Record<string, string>;
  const admin = ApiKey.generate();
  const app = ApiKey.generate();

  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
      config.policies = {
        app: { allow: ['/v1/key/generate/app-*', '/v1/key/decrypt/app-*'], deny: ['/v1/key/decrypt/app-secret*'], identities: [app.identity] },
        reader: { allow: ['/v1/status'], deny: [], identities: [] },
      };
    });
    env = { KES_SERVER: `https://127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
  });
  after(() => t.close());

  test('key create / ls / info / rm', async () => {
    let r = await kes(['key', 'create', 'cli-a', 'cli-b'], env);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await kes(['key', 'create', 'cli-a'], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: failed to create key "cli-a": key already exists\n');

    r = await kes(['key', 'ls', 'cli-*'], env);
    assert.equal(r.stdout, 'cli-a\ncli-b\n', 'piped: one name per line');
    r = await kes(['key', 'ls', 'cli-*'], env, { tty: true });
    assert.equal(r.stdout, 'Key\ncli-a\ncli-b\n', 'terminal: with a header');
    r = await kes(['key', 'ls', '--json', 'cli-*'], env);
    assert.deepEqual(JSON.parse(r.stdout), ['cli-a', 'cli-b']);
    r = await kes(['ls', 'cli-'], env);
    assert.equal(r.stdout, 'cli-a\ncli-b\n');

    r = await kes(['key', 'info', 'cli-a'], env, { tty: true });
    assert.match(r.stdout, /^Name\s+cli-a\nAlgorithm\s+AES256\nDate\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nOwner\s+[0-9a-f]{64}\n$/);
    r = await kes(['key', 'info', '--json', 'cli-a'], env);
    const info = JSON.parse(r.stdout);
    assert.deepEqual([info.name, info.algorithm, info.created_by], ['cli-a', 'AES256', admin.identity]);

    r = await kes(['key', 'rm', 'cli-a', 'cli-b'], env);
    assert.equal(r.code, 0);
    r = await kes(['key', 'info', 'cli-a'], env);
    assert.deepEqual([r.code, r.stderr], [1, 'Error: key does not exist\n']);
  });

  test('key import, encrypt, decrypt, dek: a line of JSON when piped, labelled lines on a terminal', async () => {
    let r = await kes(['key', 'import', 'cli-imported', Buffer.alloc(32, 1).toString('base64')], env);
    assert.equal(r.code, 0);
    r = await kes(['key', 'encrypt', 'cli-imported', 'hello world'], env);
    const { ciphertext } = JSON.parse(r.stdout);
    assert.match(r.stdout, /^\{"ciphertext":"[^"]+"\}\n$/, 'one line of JSON');
    r = await kes(['key', 'decrypt', 'cli-imported', ciphertext], env);
    assert.equal(Buffer.from(JSON.parse(r.stdout).plaintext, 'base64').toString(), 'hello world');
    assert.match(r.stdout, /^\{"plaintext":"[^"]+"\}\n$/, 'one line of JSON');
    r = await kes(['key', 'decrypt', 'cli-imported', ciphertext], env, { tty: true });
    assert.equal(r.stdout, `\nplaintext: ${Buffer.from('hello world').toString('base64')}\n`);

    const context = Buffer.from('bucket/object').toString('base64');
    r = await kes(['key', 'dek', 'cli-imported', context], env);
    assert.match(r.stdout, /^\{"plaintext":"[^"]+","ciphertext":"[^"]+"\}\n$/, 'one line of JSON');
    r = await kes(['key', 'dek', 'cli-imported', context], env, { tty: true });
    const m = /^\nplaintext:  (\S+)\nciphertext: (\S+)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    r = await kes(['key', 'decrypt', 'cli-imported', m[2]!, context], env);
    assert.equal(JSON.parse(r.stdout).plaintext, m[1]);
    r = await kes(['key', 'decrypt', 'cli-imported', m[2]!], env);
    assert.deepEqual([r.code, r.stderr], [1, 'Error: decryption failed: ciphertext is not authentic\n']);
    r = await kes(['key', 'decrypt', 'cli-imported', 'not base64!'], env);
    assert.equal(r.code, 2);
  });

  test('an application with a policy generates and decrypts data keys', async () => {
    await kes(['key', 'create', 'app-key'], env);
    const appEnv = { ...env, KES_API_KEY: app.toString() };
    let r = await kes(['key', 'dek', 'app-key'], appEnv);
    assert.equal(r.code, 0, r.stderr);
    const { plaintext, ciphertext } = JSON.parse(r.stdout);
    r = await kes(['key', 'decrypt', 'app-key', ciphertext], appEnv);
    assert.equal(JSON.parse(r.stdout).plaintext, plaintext);
    r = await kes(['key', 'create', 'app-other'], appEnv);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: failed to create key "app-other": not authorized: insufficient permissions: this identity is not allowed to do that\. The server admin must assign it to a policy that allows the request/);
    r = await kes(['key', 'ls'], appEnv);
    assert.match(r.stderr, /not authorized: insufficient permissions: this identity is not allowed to do that/);
  });

  test('policy info / ls / show', async () => {
    let r = await kes(['policy', 'ls'], env);
    assert.equal(r.stdout, 'app\nreader\n');
    r = await kes(['ls', '-p'], env, { tty: true });
    assert.equal(r.stdout, 'Policy\napp\nreader\n');
    r = await kes(['policy', 'show', 'app'], env);
    const p = JSON.parse(r.stdout);
    assert.deepEqual(p.allow, { '/v1/key/generate/app-*': {}, '/v1/key/decrypt/app-*': {} });
    assert.deepEqual(p.deny, { '/v1/key/decrypt/app-secret*': {} });
    r = await kes(['policy', 'show', 'app'], env, { tty: true });
    assert.match(r.stdout, /^Allow:\n  · \/v1\/key\/generate\/app-\*\n  · \/v1\/key\/decrypt\/app-\*\nDeny:\n  · \/v1\/key\/decrypt\/app-secret\*\n\nCreated at: .+\nCreated by: [0-9a-f]{64}\n$/);
    r = await kes(['policy', 'info', 'app'], env, { tty: true });
    assert.match(r.stdout, /^Name\s+app\nDate\s+.+\nCreated by\s+[0-9a-f]{64}\n$/);
    r = await kes(['policy', 'info', 'nope'], env);
    assert.deepEqual([r.code, r.stderr], [1, 'Error: policy does not exist\n']);
  });

  test('identity info (self and other) and identity ls', async () => {
    let r = await kes(['identity', 'info'], { ...env, KES_API_KEY: app.toString() }, { tty: true });
    assert.match(r.stdout, new RegExp(`^Identity\\s+${app.identity}\\nRole\\s+User\\nPolicy\\s+app\\n`));
    assert.match(r.stdout, /Allow:\n  · \/v1\/key\/generate\/app-\*/);
    r = await kes(['identity', 'info', '--json'], env);
    assert.deepEqual([JSON.parse(r.stdout).identity, JSON.parse(r.stdout).admin], [admin.identity, true]);
    r = await kes(['identity', 'info', app.identity], env);
    assert.match(r.stdout, /Role\s+User\nPolicy\s+app/);
    r = await kes(['identity', 'ls'], env);
    assert.equal(r.stdout, [admin.identity, app.identity].sort().join('\n') + '\n');
    r = await kes(['ls', '-i', '--json'], env);
    assert.deepEqual(JSON.parse(r.stdout), [admin.identity, app.identity].sort());
  });

  test('identity info of an identity without a policy: its identity, and how it gets one', async () => {
    const stranger = ApiKey.generate();
    let r = await kes(['identity', 'info'], { ...env, KES_API_KEY: stranger.toString() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Identity\\s+${stranger.identity}\\nRole\\s+User\\nPolicy\\s+none in the config file: it may do nothing else until the server admin lists it under a policy's identities, or gives it runtime rights \\(kes identity create, kes policy assign; see kes identity ls --enclave\\)\\n$`));
    r = await kes(['identity', 'info', '--json'], { ...env, KES_API_KEY: stranger.toString() });
    assert.deepEqual(JSON.parse(r.stdout), { identity: stranger.identity });
  });

  test('status: full, short, --api, --json', async () => {
    let r = await kes(['status'], env, { tty: true });
    assert.match(r.stdout, new RegExp(`^● https://127\\.0\\.0\\.1:${t.port}\\n  Version\\s+\\d+\\.\\d+\\.\\d+\\n  Uptime\\s+\\d+s\\n  Latency\\s+[\\d.]+ms\\n  OS\\s+\\w+/\\w+\\n  CPUs\\s+1 used of \\d+\\n  Memory\\s+heap .+\\n  Key store\\s+reachable`));
    r = await kes(['status', '-s'], env);
    assert.equal(r.stdout, `● https://127.0.0.1:${t.port}\n`);
    r = await kes(['status', '--api'], env, { tty: true });
    assert.match(r.stdout, /Method\s+API\s+Timeout\nGET\s+\/version\s+10s\n/);
    assert.match(r.stdout, /GET\s+\/v1\/log\/audit\s+Inf\n/);
    r = await kes(['status', '--json'], env);
    const s = JSON.parse(r.stdout);
    assert.equal(s.endpoint, `https://127.0.0.1:${t.port}`);
    assert.ok(s.keystore_latency > 0);
  });

  test('log --json follows the audit log until stopped', async () => {
    const live = kesLive(['log', '--json'], env);
    await new Promise((r) => setTimeout(r, 300));
    await kes(['key', 'create', 'logged-key'], env);
    for (let i = 0; i < 50 && !live.stdout.text.includes('logged-key'); i++) await new Promise((r) => setTimeout(r, 20));
    live.stop();
    await live.done;
    const event = live.stdout.text.split('\n').map((l) => (l ? JSON.parse(l) : undefined)).find((e) => e?.request.path === '/v1/key/create/logged-key');
    assert.ok(event, live.stdout.text);
    assert.deepEqual([event.request.identity, event.response.code], [admin.identity, 200]);
  });

  test('metric prints one JSON object per tick when piped', async () => {
    const live = kesLive(['metric', '--rate', '50ms'], env);
    for (let i = 0; i < 100 && live.stdout.text.split('\n').length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    live.stop();
    await live.done;
    const ticks = live.stdout.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(ticks.length >= 2);
    for (const k of ['ok', 'err', 'fail', 'rate', 'avgLatencyMs', 'uptime', 'heap']) assert.equal(typeof ticks[1][k], 'number', k);
    assert.ok(ticks[1].ok > 0);
  });

  test('metric draws a dashboard on a terminal', async () => {
    const live = kesLive(['metric', '--rate', '50ms'], env, { tty: true });
    for (let i = 0; i < 100 && !live.stdout.text.includes('Latency'); i++) await new Promise((r) => setTimeout(r, 20));
    live.stop();
    await live.done;
    assert.match(live.stdout.text, /\x1b\[H\x1b\[2J/);
    assert.match(live.stdout.text, /Requests\s+\d+ total/);
    assert.match(live.stdout.text, /OK\s+\d+\s+[\d.]+%/);
    assert.match(live.stdout.text, /Latency\s+avg/);
  });
});

describe('kes client errors a person can act on', () => {
  let t: TestServer;
  const admin = ApiKey.generate();
  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
    });
  });
  after(() => t.close());

  test('missing credentials', async () => {
    const r = await kes(['key', 'ls'], { KES_SERVER: `127.0.0.1:${t.port}` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no API key specified: set KES_API_KEY/);
  });

  test('refused connection', async () => {
    const r = await kes(['key', 'ls'], { KES_SERVER: '127.0.0.1:1', KES_API_KEY: admin.toString() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: cannot connect to https:\/\/127\.0\.0\.1:1: connection refused\. Is the server running there\? Set KES_SERVER \(or --server\) to its address\.\n$/);
  });

  test('untrusted server certificate, then --ca and -k', async () => {
    const env = { KES_SERVER: `127.0.0.1:${t.port}`, KES_API_KEY: admin.toString() };
    let r = await kes(['key', 'ls'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the certificate of https:\/\/127\.0\.0\.1:\d+ is not issued by a CA this client trusts\. Trust its CA with --ca FILE \(or KES_CAPATH=FILE\), or use -k/);
    r = await kes(['key', 'ls', '--ca', join(t.dir, 'ca.crt')], env);
    assert.equal(r.code, 0, r.stderr);
    r = await kes(['key', 'ls', '-k'], env);
    assert.equal(r.code, 0, r.stderr);
  });

  test('an endpoint that does not speak KES', async () => {
    const env = { KES_SERVER: `127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
    // An endpoint URL with a path (e.g. a reverse proxy route) that does not lead to the KES API.
    const r = await kes(['status'], { ...env, KES_SERVER: `https://127.0.0.1:${t.port}/nope` });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /does not know this API \(404 page not found\): check that KES_SERVER points at a KES server/);
  });

  test('usage errors exit 2 and --help works everywhere', async () => {
    assert.equal((await kes(['key'], {})).code, 2);
    assert.equal((await kes(['key', 'create'], {})).code, 2);
    assert.equal((await kes(['ls', '-i', '-p'], {})).code, 2);
    assert.equal((await kes(['metric', '--rate', 'fast'], { KES_API_KEY: admin.toString() })).code, 2);
    for (const cmd of [['ls'], ['key', 'dek'], ['policy', 'show'], ['identity', 'info'], ['status'], ['log'], ['metric']]) {
      const r = await kes([...cmd, '--help'], {});
      assert.equal(r.code, 0, cmd.join(' '));
      assert.match(r.stdout, /^Usage:\n  kes /, cmd.join(' '));
    }
  });
});
