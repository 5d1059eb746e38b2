/** `kes server --workers N`: one port, every worker's events and metrics, reload, restart, stop. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type RunningCli } from './run-cli.js';
import { serverConfigYaml } from '../helpers/server-config-file.js';
import { createTestPki, type TestCert } from '../helpers/certs.js';
import { httpsClient } from '../helpers/https-client.js';

/** The worker processes of a primary (its direct children). */
function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

describe('kes server --workers 2', () => {
  let dir: string;
  let cli: RunningCli;
  let port: number;
  let admin: TestCert;
  let app: TestCert;
  let pki: ReturnType<typeof createTestPki>;
  let file: string;
  const config = (policy: string) => serverConfigYaml({ admin: admin.identity, dir, sections: `${policy}\n` });
  // A new connection per request, so that requests spread over the workers.
  const fresh = (cert: TestCert = admin) => httpsClient(port, pki.ca.certPem, cert);
  const once = async (method: string, path: string, cert?: TestCert) => {
    const c = fresh(cert);
    try {
      return await c.request(method, path);
    } finally {
      c.close();
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kes-cluster-'));
    pki = createTestPki();
    admin = pki.client({ commonName: 'admin' });
    app = pki.client({ commonName: 'app' });
    pki.writeFiles(dir);
    file = join(dir, 'config.yml');
    writeFileSync(file, config(''));
    cli = startCli(['server', '--config', file, '--workers', '2']);
    const [, p] = await cli.waitFor(/https:\/\/127\.0\.0\.1:(\d+)/);
    await cli.waitFor(/Server is up and running/);
    port = Number(p);
  });
  after(async () => {
    cli.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('the banner names the workers, and two processes serve', async () => {
    assert.match(cli.stdout(), /Workers\s+2 processes/);
    assert.equal(children(cli.child.pid!).length, 2);
    const status = (await once('GET', '/v1/status')).json();
    assert.equal(status.num_cpu_used, 2);
  });

  test('an audit subscriber sees the requests of every worker', async () => {
    const subscriber = fresh();
    const stream = await subscriber.stream('/v1/log/audit');
    const seen = new Set<string>();
    const reading = (async () => {
      for await (const line of stream.lines) {
        seen.add(JSON.parse(line).request.path);
        if (seen.size === 10) return;
      }
    })();
    await new Promise((r) => setTimeout(r, 200)); // let the subscription reach the other worker
    for (let i = 0; i < 10; i++) assert.equal((await once('PUT', `/v1/key/create/audit-${i}`)).status, 200);
    await Promise.race([reading, new Promise((r) => setTimeout(r, 5000))]);
    stream.close();
    subscriber.close();
    assert.equal(seen.size, 10, `events seen: ${[...seen].join(', ')}`);
  });

  test('/v1/metrics counts the requests of every worker', async () => {
    const count = (text: string) => Number(/^kes_http_request_success\{code="200"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    const before = count((await once('GET', '/v1/metrics')).body);
    for (let i = 0; i < 8; i++) await once('GET', '/v1/key/describe/audit-0');
    const after = count((await once('GET', '/v1/metrics')).body);
    assert.equal(after - before, 8);
  });

  test('SIGHUP reloads every worker', async () => {
    assert.equal((await once('GET', '/v1/status', app)).status, 403);
    writeFileSync(file, config(`policy:\n  app:\n    allow: [/v1/status]\n    identities: [${app.identity}]`));
    cli.child.kill('SIGHUP');
    await cli.waitFor(/Reloaded config file/);
    for (let i = 0; i < 6; i++) assert.equal((await once('GET', '/v1/status', app)).status, 200, `request ${i}`);
  });

  test('a worker that dies is replaced', async () => {
    const [victim] = children(cli.child.pid!);
    process.kill(victim!, 'SIGKILL');
    await cli.waitFor(/exited \(SIGKILL\); starting a new one/);
    await cli.waitFor(/Worker \d+ is serving/);
    assert.equal(children(cli.child.pid!).length, 2);
    for (let i = 0; i < 6; i++) assert.equal((await once('GET', '/v1/key/describe/audit-1')).status, 200);
  });

  test('workers that keep dying are replaced with back-off, never given up on', async () => {
    // Six more deaths within a minute (KES-style servers gave up after five): the first three
    // restarts are immediate, then 0.25 s, 0.5 s, 1 s, ...
    for (let i = 1; i <= 6; i++) {
      const [victim] = children(cli.child.pid!);
      process.kill(victim!, 'SIGKILL');
      await cli.waitFor(new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting a new one`));
      await cli.waitFor(new RegExp(`(=> Worker \\d+ is serving[^]*){${i + 1}}`), 30_000);
    }
    assert.match(cli.stderr(), /starting a new one in 0\.25 s \(\d+ restarts within a minute\)/);
    assert.match(cli.stderr(), /starting a new one in 1 s \(\d+ restarts within a minute\)/);
    assert.doesNotMatch(cli.stderr(), /stopping the server/);
    assert.equal(children(cli.child.pid!).length, 2);
    for (let i = 0; i < 6; i++) assert.equal((await once('GET', '/v1/key/describe/audit-1')).status, 200);
  });

  test('no process of the server may write memory to a core dump', () => {
    for (const pid of [cli.child.pid!, ...children(cli.child.pid!)]) {
      assert.equal(readFileSync(`/proc/${pid}/coredump_filter`, 'utf8').trim(), '00000000', `process ${pid}`);
    }
  });

  test('SIGTERM stops every worker', async () => {
    const workers = children(cli.child.pid!);
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
    for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'worker gone');
    await assert.rejects(once('GET', '/version'));
  });
});

test('the in-memory store runs in one process whatever --workers says', async () => {
  const cli = startCli(['server', '--dev', '--addr', '127.0.0.1:0', '--workers', '2']);
  try {
    await cli.waitFor(/Server is up and running/);
    assert.match(cli.stdout(), /Workers\s+1 process\b/);
    assert.match(cli.stderr(), /in-memory key store needs a single worker/);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});
