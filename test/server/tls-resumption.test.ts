/**
 * Resumption never extends trust (session-tickets.ts, connection.ts): a resumed TLS session is
 * served only while its client certificate is still valid and, with `tls.auth: on`, still
 * issued by a configured CA; ticket keys rotate every ticket lifetime and on every reload, and
 * the workers of a server share them. Also: client-initiated renegotiation is refused.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, verifyClients, type TestServer } from '../helpers/test-server.js';
import { requestOnSession } from '../helpers/tls-session.js';
import { createTestPki, type TestCert } from '../helpers/certs.js';
import { serverConfigYaml } from '../helpers/server-config-file.js';
import { startCli } from '../cli/run-cli.js';
import { newTicketKeys } from '../../src/server/session-tickets.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const refused = (message: string) => `{"message":"tls: client certificate ${message}"\n}`;

describe('tls.auth: on, a session resumed after its certificate expired', () => {
  let t: TestServer;
  let shortLived: TestCert;
  let notAfter: number;
  before(async () => {
    t = await startTestServer((config, pki, dir) => {
      verifyClients(config, pki, dir);
      // X.509 times have whole seconds: valid for 2 to 3 more seconds.
      notAfter = (Math.floor(Date.now() / 1000) + 3) * 1000;
      shortLived = pki.client({ commonName: 'short-lived', notAfter: new Date(notAfter) });
      config.policies = { app: { allow: ['/v1/status'], deny: [], identities: [shortLived.identity] } };
    });
  });
  after(() => t.close());

  test('is refused with the reason, and a new handshake fails', async () => {
    const first = await requestOnSession(t.port, t.pki.ca.certPem, shortLived, '/v1/status');
    assert.deepEqual([first.status, first.reused], [200, false]);
    const again = await requestOnSession(t.port, t.pki.ca.certPem, shortLived, '/v1/status', first.session);
    assert.deepEqual([again.status, again.reused], [200, true], 'resumption works while the certificate is valid');

    await sleep(notAfter - Date.now() + 1200);
    const late = await requestOnSession(t.port, t.pki.ca.certPem, shortLived, '/v1/status', again.session);
    assert.equal(late.reused, true, 'the TLS layer still resumes the session');
    assert.deepEqual([late.status, late.body], [400, refused('has expired')]);
    // Every route, /version included, is refused on such a connection.
    const version = await requestOnSession(t.port, t.pki.ca.certPem, shortLived, '/version', late.session);
    assert.deepEqual([version.status, version.body], [400, refused('has expired')]);
    const full = await requestOnSession(t.port, t.pki.ca.certPem, shortLived, '/v1/status');
    assert.deepEqual([full.status, full.reused, full.body], [400, false, refused('has expired')], 'a full handshake is refused too');
    assert.match(t.stderr(), new RegExp(`refusing requests from 127\\.0\\.0\\.1:\\d+ \\(identity ${shortLived.identity}\\): tls: client certificate has expired`));
  });
});

describe('tls.auth: on, a session resumed after the CAs changed (shared ticket keys, as in a cluster)', () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startTestServer((config, pki, d) => {
      verifyClients(config, pki, d);
      dir = d;
    }, { ticketKeys: newTicketKeys() });
  });
  after(() => t.close());

  test('the resumed certificate is verified against the current CAs', async () => {
    const first = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status');
    assert.equal(first.status, 200);
    // A cluster worker re-reads its certificates every 15 minutes and keeps the primary's keys.
    const other = createTestPki();
    writeFileSync(join(dir, 'other-ca.crt'), other.ca.certPem);
    await t.server.reloadTls({ ...t.config, tls: { ...t.config.tls, caPath: join(dir, 'other-ca.crt') } });
    const resumed = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status', first.session);
    assert.equal(resumed.reused, true);
    assert.deepEqual([resumed.status, resumed.body], [400, refused('is not issued by a trusted CA')]);
    const full = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status');
    assert.deepEqual([full.status, full.reused, full.body], [400, false, refused('is not issued by a trusted CA')], 'a full handshake is refused too');
  });
});

describe('tls.ticket_lifetime', () => {
  test('sessions resume within the lifetime and not after it (the keys rotate)', async () => {
    const t = await startTestServer((config) => void (config.tls.ticketLifetimeMs = 1500));
    try {
      const first = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status');
      const soon = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status', first.session);
      assert.deepEqual([soon.status, soon.reused], [200, true]);
      await sleep(3200);
      const late = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status', soon.session);
      assert.deepEqual([late.status, late.reused], [200, false]);
    } finally {
      await t.close();
    }
  });

  test('0 turns resumption off', async () => {
    const t = await startTestServer((config) => void (config.tls.ticketLifetimeMs = 0));
    try {
      for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
        const first = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status', undefined, version);
        const next = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status', first.session, version);
        assert.deepEqual([next.status, next.reused], [200, false], version);
      }
    } finally {
      await t.close();
    }
  });

  test('a reload rotates the ticket keys', async () => {
    const t = await startTestServer();
    try {
      const first = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status');
      await t.server.reload(t.config);
      const next = await requestOnSession(t.port, t.pki.ca.certPem, t.admin, '/v1/status', first.session);
      assert.deepEqual([next.status, next.reused], [200, false]);
    } finally {
      await t.close();
    }
  });
});

describe('kes server --workers 2, tls.auth: on', () => {
  let dir: string;
  let pki: ReturnType<typeof createTestPki>;
  let admin: TestCert;
  let file: string;
  let cli: ReturnType<typeof startCli>;
  let port: number;
  const yaml = (ca: string) => serverConfigYaml({ admin: admin.identity, dir, tls: `  auth: on\n  ca: ${join(dir, ca)}\n` });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kes-resume-'));
    pki = createTestPki();
    admin = pki.client({ commonName: 'admin' });
    pki.writeFiles(dir);
    writeFileSync(join(dir, 'other-ca.crt'), createTestPki().ca.certPem);
    file = join(dir, 'config.yml');
    writeFileSync(file, yaml('ca.crt'));
    cli = startCli(['server', '--config', file, '--workers', '2']);
    port = Number((await cli.waitFor(/https:\/\/127\.0\.0\.1:(\d+)/))[1]);
    await cli.waitFor(/Server is up and running/);
  });
  after(() => {
    cli.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('sessions resume on either worker (shared ticket keys)', async () => {
    let answer = await requestOnSession(port, pki.ca.certPem, admin, '/v1/status');
    let reused = 0;
    for (let i = 0; i < 10; i++) {
      answer = await requestOnSession(port, pki.ca.certPem, admin, '/v1/status', answer.session);
      assert.equal(answer.status, 200);
      if (answer.reused) reused++;
    }
    assert.equal(reused, 10);
  });

  test('after a SIGHUP that replaced tls.ca, an old session serves nothing', async () => {
    const before = await requestOnSession(port, pki.ca.certPem, admin, '/v1/status');
    writeFileSync(file, yaml('other-ca.crt'));
    cli.child.kill('SIGHUP');
    await cli.waitFor(/Reloaded config file/);
    for (let i = 0; i < 4; i++) {
      const after = await requestOnSession(port, pki.ca.certPem, admin, '/v1/status', before.session).catch((err: Error) => err);
      if (after instanceof Error) continue; // the session was not resumed and the full handshake failed
      assert.notEqual(after.status, 200, `resumed: ${after.reused}`);
    }
  });
});

test('client-initiated TLS 1.2 renegotiation is refused', async () => {
  const t = await startTestServer();
  const socket = tls.connect({ host: '127.0.0.1', port: t.port, servername: 'localhost', ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] });
  try {
    await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const outcome = await new Promise<string>((resolve) => {
      socket.once('error', (err) => resolve(err.message));
      if (!socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ? err.message : 'renegotiated'))) resolve('not sent');
    });
    assert.match(outcome, /no renegotiation/);
  } finally {
    socket.destroy();
    await t.close();
  }
});
