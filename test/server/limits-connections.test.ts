/**
 * The connection limit (`api.max_connections`, an openkes extension; issue 7): beyond it new
 * connections are closed at once, established ones keep working, and the error log says so at
 * most once per interval. Also `kes server --max-connections`, which wins over the config, also
 * across reloads.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { createTestPki, type TestCert } from '../helpers/certs.js';
import { writeServerConfig } from '../helpers/server-config-file.js';
import { HERE, assertConfigError, parse, yml } from '../helpers/config-testing.js';
import { startCli, runCli } from '../cli/run-cli.js';

/** Opens a TLS connection: 'open' once the handshake is done, 'closed' if the server closed it first. */
async function connect(port: number, ca: string, cert: TestCert): Promise<{ outcome: 'open' | 'closed'; socket: tls.TLSSocket }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca, cert: cert.certPem, key: cert.keyPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  socket.on('error', () => undefined);
  const outcome = await new Promise<'open' | 'closed'>((resolve) => {
    socket.once('secureConnect', () => resolve('open'));
    socket.once('close', () => resolve('closed'));
  });
  return { outcome, socket };
}

/** GET /v1/status on an open connection; its status line. */
async function status(socket: tls.TLSSocket): Promise<string> {
  let text = '';
  const onData = (d: Buffer) => (text += d);
  socket.on('data', onData);
  socket.write('GET /v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n');
  while (!/\r\n\r\n\{.*\}\n$/s.test(text)) await Promise.race([once(socket, 'data'), once(socket, 'close').then(() => assert.fail('closed'))]);
  socket.off('data', onData);
  return text.slice(0, text.indexOf('\r\n'));
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(10);
  assert.ok(condition(), 'condition not met within 2 s');
}

describe('api.max_connections in the config', () => {
  test('an integer from 1 to 1000000 next to the route paths; absent by default', () => {
    assert.equal(parse(yml('api:\n  max_connections: 7\n  /v1/status:\n    timeout: 5s\n')).maxConnections, 7);
    assert.deepEqual(parse(yml('api:\n  max_connections: 7\n  /v1/status:\n    timeout: 5s\n')).api, { '/v1/status': { skipAuth: false, timeoutMs: 5000 } });
    assert.equal(parse(yml('api:\n  max_connections: ${N}\n'), { env: { N: '1000000' } }).maxConnections, 1_000_000);
    assert.equal('maxConnections' in parse(yml('')), false);
    for (const bad of ['0', '-1', 'many', '1.5', '1e3', '1000001']) {
      assertConfigError(yml(`api:\n  max_connections: ${bad} ${HERE}\n`), 'api.max_connections', /^must be an integer from 1 to 1000000/);
    }
  });
});

describe('the connection limit', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer((config) => {
      config.maxConnections = 100;
    });
  });
  after(() => t.close());

  test('100 concurrent connections are served; beyond them new ones are closed at once, the others keep working; one log line', async () => {
    const open = await Promise.all(Array.from({ length: 100 }, () => connect(t.port, t.pki.ca.certPem, t.admin)));
    assert.deepEqual(open.map((c) => c.outcome), Array(100).fill('open'));
    assert.deepEqual(await Promise.all(open.map((c) => status(c.socket))), Array(100).fill('HTTP/1.1 200 OK'));
    const extra = await Promise.all(Array.from({ length: 6 }, () => connect(t.port, t.pki.ca.certPem, t.admin)));
    assert.deepEqual(extra.map((c) => c.outcome), Array(6).fill('closed'));
    assert.deepEqual(await Promise.all(open.map((c) => status(c.socket))), Array(100).fill('HTTP/1.1 200 OK'));

    const lines = t.stderr().split('\n').filter((l) => l.includes('connection limit'));
    assert.equal(lines.length, 1, `one line per minute at most:\n${lines.join('\n')}`);
    assert.match(lines[0]!, /level=ERROR msg="http: connection limit of 100 reached: new connections are closed"/);

    // A closed connection makes room for a new one.
    open[0]!.socket.destroy();
    await until(() => t.server.connections < 100);
    const again = await connect(t.port, t.pki.ca.certPem, t.admin);
    assert.equal(again.outcome, 'open');
    assert.equal(await status(again.socket), 'HTTP/1.1 200 OK');
    for (const c of [...open, again]) c.socket.destroy();
    await until(() => t.server.connections === 0);
  });

  test('a reload applies a new limit', async () => {
    await t.server.reload({ ...t.config, maxConnections: 6 });
    const conns = await Promise.all(Array.from({ length: 7 }, () => connect(t.port, t.pki.ca.certPem, t.admin)));
    assert.equal(conns.filter((c) => c.outcome === 'open').length, 6);
    for (const c of conns) c.socket.destroy();
    await until(() => t.server.connections === 0);
  });
});

describe('kes server --max-connections', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kes-maxconn-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an invalid value is a usage error', async () => {
    const r = await runCli(['server', '--dev', '--max-connections', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --max-connections '0': a number from 1 to 1000000/);
  });

  test('overrides api.max_connections, also after a SIGHUP reload', async () => {
    const pki = createTestPki();
    const admin = pki.client({ commonName: 'admin' });
    pki.writeFiles(dir);
    const file = writeServerConfig({ admin: admin.identity, dir, sections: 'api:\n  max_connections: 50\n' });
    const cli = startCli(['server', '--config', file, '--workers', '1', '--max-connections', '2']);
    try {
      const [, port] = (await cli.waitFor(/https:\/\/127\.0\.0\.1:(\d+)/)) as RegExpMatchArray & [string, string];
      await cli.waitFor(/Server is up and running/);
      const outcomes = async () => {
        const first = await Promise.all([connect(Number(port), pki.ca.certPem, admin), connect(Number(port), pki.ca.certPem, admin)]);
        const third = await connect(Number(port), pki.ca.certPem, admin);
        const all = [...first, third];
        for (const c of all) c.socket.destroy();
        return all.map((c) => c.outcome);
      };
      assert.deepEqual(await outcomes(), ['open', 'open', 'closed']);
      cli.child.kill('SIGHUP');
      await cli.waitFor(/Reloaded config file/);
      // The server counts a connection until it sees it closed: retry until the last ones are gone.
      let seen: string[] = [];
      for (let i = 0; i < 20 && seen.join() !== 'open,open,closed'; i++) {
        await sleep(100);
        seen = await outcomes();
      }
      assert.deepEqual(seen, ['open', 'open', 'closed']);
      assert.match(cli.stderr(), /connection limit of 2 reached/);
    } finally {
      cli.child.kill('SIGTERM');
    }
    assert.equal(await cli.exited, 0);
  });
});
