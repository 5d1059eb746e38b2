/** `kes console`: its address rules, its two output lines, the token's sign-in, and Ctrl-C. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { builtAssets } from '../helpers/console.js';
import { kes, kesLive } from '../helpers/cli-io.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { startCli } from './run-cli.js';

const URL_LINE = /^http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]{43})$/;

describe('kes console', () => {
  let t: TestServer;
  let env: Record<string, string>;
  const admin = ApiKey.generate();

  before(async () => {
    builtAssets();
    t = await startTestServer((config) => {
      config.admin = admin.identity;
    });
    env = { KES_SERVER: `https://127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
  });
  after(() => t.close());

  it('explains itself in --help', async () => {
    const r = await kes(['console', '--help'], env);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /one-time access token/);
    assert.match(r.stdout, /--addr HOST:PORT/);
    assert.match(r.stdout, /SSH tunnel/);
    assert.match((await kes(['--help'], env)).stdout, /console\s+Serve the web console/);
  });

  it('listens on loopback addresses only', async () => {
    for (const addr of ['0.0.0.0:7380', '192.0.2.1:7380', '[::]:7380']) {
      const r = await kes(['console', '--addr', addr], env);
      assert.equal(r.code, 2, addr);
      assert.match(r.stderr, /the console serves plain HTTP, so it listens on a loopback address only/);
    }
    const r = await kes(['console', '--addr', 'nonsense'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --addr 'nonsense': expected host:port/);
  });

  it('says when it has no credentials, or its port is taken', async () => {
    const r = await kes(['console', '--addr', '127.0.0.1:0'], { KES_SERVER: env.KES_SERVER });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no API key specified/);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const busy = await kes(['console', '--addr', `127.0.0.1:${port}`], env);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, new RegExp(`failed to listen on 127\\.0\\.0\\.1:${port}: address already in use`));
    } finally {
      taken.close();
    }
  });

  it('prints the URL with the token, then the token alone; the token signs in once; credentials are never printed', async () => {
    const run = kesLive(['console', '--addr', '127.0.0.1:0'], env);
    try {
      const deadline = Date.now() + 10_000;
      while (!run.stdout.text.includes('\n', run.stdout.text.indexOf('\n') + 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const lines = run.stdout.text.split('\n');
      assert.equal(lines.length, 3, run.stdout.text);
      const [, port, token = ''] = URL_LINE.exec(lines[0]!) ?? assert.fail(`no URL line: ${lines[0]}`);
      assert.equal(lines[1], token);
      assert.match(run.stderr.text, new RegExp(`serving https://127\\.0\\.0\\.1:${t.port} on http://127\\.0\\.0\\.1:${port}`));
      const login = (body: object) =>
        fetch(`http://127.0.0.1:${port}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal((await login({ token })).status, 200);
      assert.equal((await login({ token })).status, 401);
      const page = await fetch(`http://127.0.0.1:${port}/?token=${token}`);
      assert.equal(page.status, 200);
      assert.doesNotMatch(await page.text(), new RegExp(token), 'the page does not carry the token');
      for (const text of [run.stdout.text, run.stderr.text]) {
        assert.doesNotMatch(text, /kes:v1:/);
        assert.doesNotMatch(text, new RegExp(admin.toString().slice(7, 20).replace(/[+/]/g, '\\$&')));
      }
    } finally {
      run.stop();
    }
    assert.equal(await run.done, 0);
  });

  it('stops on Ctrl-C, as the other client commands do (exit code 1, no error)', async () => {
    const cli = startCli(['console', '--addr', '127.0.0.1:0'], env);
    await cli.waitFor(/\n[\w-]{43}\n/);
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 1);
    assert.doesNotMatch(cli.stderr(), /Error/);
  });
});
