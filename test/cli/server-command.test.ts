/** `kes server`: dev mode, config files, SIGHUP reload, graceful stop, start-up errors (protocol.md §14). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, runCli } from './run-cli.js';
import { createTestPki, type TestCert } from '../helpers/certs.js';
import { httpsClient } from '../helpers/https-client.js';
import { kes } from '../helpers/cli-io.js';
import { serverConfigYaml } from '../helpers/server-config-file.js';

const sh = promisify(execFile);

describe('kes server --dev', () => {
  test('prints a curl example that works, then stops on SIGTERM', async () => {
    const cli = startCli(['server', '--dev', '--addr', '127.0.0.1:0']);
    try {
      const [line] = await cli.waitFor(/curl --cacert \S+ --cert \S+ --key \S+ https:\/\/127\.0\.0\.1:\d+\/v1\/status/);
      assert.match(cli.stdout(), /API key\s+kes:v1:[A-Za-z0-9+/]{44}/);
      assert.match(cli.stdout(), /In-memory/);
      const { stdout } = await sh('sh', ['-c', `${line} --silent --show-error --fail`]);
      const status = JSON.parse(stdout);
      assert.equal(status.keystore_latency > 0, true);
      assert.equal(typeof status.version, 'string');
      // The printed exports make the kes CLI work as the admin.
      const env = Object.fromEntries([...cli.stdout().matchAll(/export (KES_\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
      assert.deepEqual(Object.keys(env).sort(), ['KES_API_KEY', 'KES_CAPATH', 'KES_SERVER']);
      assert.equal((await kes(['key', 'create', 'my-key'], env)).code, 0);
      assert.equal((await kes(['key', 'ls'], env)).stdout, 'my-key\n');
    } finally {
      cli.child.kill('SIGTERM');
    }
    assert.equal(await cli.exited, 0);
    assert.match(cli.stdout(), /Stopping server\.\.\. Goodbye\./);
    const dir = /Files\s+(\S+)/.exec(cli.stdout())![1]!;
    assert.equal(existsSync(dir), false, 'the dev credential folder is removed on stop');
  });
});

describe('kes server --dev leaves no credentials behind', () => {
  const devFolders = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith('kes-dev-'));
  let tmp: string;
  before(() => void (tmp = mkdtempSync(join(tmpdir(), 'kes-tmpdir-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('a failed start (port in use) removes its folder', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = busy.address() as import('node:net').AddressInfo;
      const r = await runCli(['server', '--dev', '--addr', `127.0.0.1:${port}`], { TMPDIR: tmp });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /address already in use/);
      assert.deepEqual(devFolders(tmp), []);
    } finally {
      busy.close();
    }
  });

  test('a killed server\'s folder is removed by the next --dev start; a running server\'s is kept', async () => {
    const start = async () => {
      const cli = startCli(['server', '--dev', '--addr', '127.0.0.1:0'], { TMPDIR: tmp });
      await cli.waitFor(/Server is up and running/);
      return { cli, dir: /Files\s+(\S+)/.exec(cli.stdout())![1]! };
    };
    const killed = await start();
    const running = await start();
    try {
      assert.equal(readFileSync(join(running.dir, 'owner'), 'utf8').split(' ')[0], String(running.cli.child.pid));
      assert.equal(statSync(running.dir).mode & 0o777, 0o700, 'only its owner may read the folder');
      assert.equal(statSync(join(running.dir, 'admin.key')).mode & 0o777, 0o600);
      killed.cli.child.kill('SIGKILL');
      await killed.cli.exited;
      assert.equal(existsSync(killed.dir), true, 'nothing runs to remove it');
      const next = await start();
      assert.equal(existsSync(killed.dir), false, 'the next --dev start removed it');
      assert.equal(existsSync(running.dir), true, 'a running server keeps its folder');
      for (const [s, signal] of [[next, 'SIGINT'], [running, 'SIGTERM']] as const) {
        s.cli.child.kill(signal);
        assert.equal(await s.cli.exited, 0);
        assert.equal(existsSync(s.dir), false, `${signal} removes the folder`);
      }
    } finally {
      running.cli.child.kill('SIGKILL');
    }
    assert.deepEqual(devFolders(tmp), []);
  });
});

describe('kes server --config', () => {
  let dir: string;
  let admin: TestCert;
  let app: TestCert;
  let pki: ReturnType<typeof createTestPki>;
  let config: (policies: string) => string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kes-cli-'));
    pki = createTestPki();
    admin = pki.client({ commonName: 'admin' });
    app = pki.client({ commonName: 'app' });
    pki.writeFiles(dir);
    config = (policies) => serverConfigYaml({ admin: admin.identity, dir, sections: `${policies}\nkeys:\n  - name: declared-key\n` });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serves, reloads on SIGHUP (keeping the old config when the new one is bad), stops on SIGINT', async () => {
    const file = join(dir, 'config.yml');
    writeFileSync(file, config(''));
    const cli = startCli(['server', '--config', file]);
    try {
      const [, port] = await cli.waitFor(/https:\/\/127\.0\.0\.1:(\d+)/);
      await cli.waitFor(/Server is up and running/);
      const c = httpsClient(Number(port), pki.ca.certPem, admin);
      const a = httpsClient(Number(port), pki.ca.certPem, app);
      assert.equal((await c.request('GET', '/v1/key/describe/declared-key')).status, 200, 'declarative key created');
      assert.equal((await a.request('GET', '/v1/status')).status, 403);

      writeFileSync(file, config(`policy:\n  app:\n    allow: [/v1/status]\n    identities: [${app.identity}]`));
      cli.child.kill('SIGHUP');
      await cli.waitFor(/Reloaded config file/);
      assert.equal((await a.request('GET', '/v1/status')).status, 200);

      writeFileSync(file, 'version: v1\nadmin: [not valid\n');
      cli.child.kill('SIGHUP');
      await cli.waitFor(/failed to reload config file/);
      assert.equal((await a.request('GET', '/v1/status')).status, 200, 'old config stays');
      c.close();
      a.close();
    } finally {
      cli.child.kill('SIGINT');
    }
    assert.equal(await cli.exited, 0);
  });

  test('a bad config exits 1 with one line naming the file and line', async () => {
    const file = join(dir, 'bad.yml');
    writeFileSync(file, config('').replace('identity:', 'identity: \n  x:'));
    const r = await runCli(['server', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: .*bad\.yml:\d+/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('a taken port exits 1 saying so', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    const file = join(dir, 'taken.yml');
    writeFileSync(file, config(''));
    const r = await runCli(['server', '--config', file, '--addr', `127.0.0.1:${port}`]);
    blocker.close();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /address already in use/);
  });

  test('an unreadable certificate exits 1 naming the file', async () => {
    const file = join(dir, 'nocert.yml');
    writeFileSync(file, config('').replace(/cert: .*/, `cert: ${join(dir, 'missing.crt')}`));
    const r = await runCli(['server', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing\.crt/);
  });

  test('usage errors exit 2', async () => {
    assert.equal((await runCli(['server'])).code, 2);
    assert.equal((await runCli(['server', '--dev', '--config', 'x.yml'])).code, 2);
    assert.equal((await runCli(['server', '--nope'])).code, 2);
    const r = await runCli(['nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"nope" is not a kes command/);
  });

  test('--help explains the command', async () => {
    const r = await runCli(['server', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--config FILE/);
    assert.match(r.stdout, /--dev/);
    assert.match(r.stdout, /Examples:/);
  });
});

describe('kes server: a signal right after the banner', () => {
  test('stops gracefully: the handlers are in place before the banner is printed', async () => {
    // A supervisor (or a test) that waits for the banner may stop the server at once.
    for (let i = 0; i < 5; i++) {
      const cli = startCli(['server', '--dev', '--addr', '127.0.0.1:0']);
      await cli.waitFor(/Server is up and running/);
      cli.child.kill('SIGTERM');
      assert.equal(await cli.exited, 0, `run ${i}: signal ${cli.child.signalCode}`);
      assert.match(cli.stdout(), /Goodbye/);
    }
  });
});
