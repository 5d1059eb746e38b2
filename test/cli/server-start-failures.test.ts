/**
 * `kes server` with several workers refuses a config it cannot serve before it starts any
 * worker or touches the key store: one line saying what and where, exit 1, no stack trace.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli } from './run-cli.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { serverConfigYaml } from '../helpers/server-config-file.js';
import { createCertificate } from '../../src/pki/x509.js';
import { certificateWarning } from '../../src/server/preflight.js';

let dir: string;
let pki: TestPki;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kes-start-'));
  pki = createTestPki();
  pki.writeFiles(dir);
  // A server certificate like ours (SANs and all) for another key.
  writeFileSync(join(dir, 'other.crt'), createTestPki().server.certPem);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('kes server --workers 2: start-up problems are reported once, before any worker starts', () => {

  /** Runs the server on a config with edit applied; returns stderr after asserting one clean line. */
  async function refused(name: string, edit: (yaml: string) => string, extra: string[] = []): Promise<string> {
    const keys = join(dir, `keys-${name}`);
    const file = join(dir, `${name}.yml`);
    writeFileSync(file, edit(serverConfigYaml({ admin: pki.client().identity, dir, keysDir: keys })));
    const r = await runCli(['server', '--config', file, '--workers', '2', ...extra]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line:\n${r.stderr}`);
    assert.match(lines[0]!, /^Error: /);
    assert.doesNotMatch(r.stderr, /\n\s+at |EPIPE/);
    assert.equal(existsSync(keys), false, 'the key store was not opened');
    return lines[0]!;
  }

  test('a taken port', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = busy.address() as AddressInfo;
      const line = await refused('port', (y) => y, ['--addr', `127.0.0.1:${port}`]);
      assert.equal(line, `Error: failed to listen on 127.0.0.1:${port}: address already in use: another process listens there (stop it, or choose another port with --addr or the config's address)`);
    } finally {
      busy.close();
    }
  });

  test('a missing certificate file', async () => {
    const line = await refused('missing', (y) => y.replace(/cert: .*/, `cert: ${join(dir, 'missing.crt')}`));
    assert.equal(line, `Error: tls: cannot read the certificate '${join(dir, 'missing.crt')}': no such file or directory`);
  });

  test('the certificate setting pointing at the private key', async () => {
    const line = await refused('cert-is-key', (y) => y.replace(/cert: .*/, `cert: ${join(dir, 'server.key')}`));
    assert.match(line, /^Error: tls: '.*server\.key' must contain only certificates, found 'PRIVATE KEY'/);
  });

  test('a private key that does not belong to the certificate', async () => {
    const line = await refused('mismatch', (y) => y.replace(/cert: .*/, `cert: ${join(dir, 'other.crt')}`));
    assert.match(line, /^Error: tls: the private key in '.*server\.key' does not match the certificate in '.*other\.crt'$/);
  });
});

describe('kes server warns about a server certificate clients refuse, or will soon', () => {
  const DAY = 86_400_000;

  /** A certificate for the test server's key, valid as given. */
  function serverCert(name: string, notBefore: Date, notAfter: Date): string {
    const key = createPrivateKey(pki.server.keyPem);
    const file = join(dir, `${name}.crt`);
    const { pem } = createCertificate({ commonName: 'localhost', publicKey: createPublicKey(key), signingKey: key, ipAddresses: ['127.0.0.1'], notBefore, notAfter });
    writeFileSync(file, pem);
    return file;
  }

  for (const [what, from, to, warning] of [
    ['expires in 3 days', -DAY, 3 * DAY + 3_600_000, /^Warning: the server certificate '.*soon\.crt' expires in 3 days, on \d{4}-\d\d-\d\d: renew it \(the server re-reads it on SIGHUP and every 15 minutes\)\.$/m],
    ['has expired', -10 * DAY, -DAY, /^Warning: the server certificate '.*expired\.crt' expired on \d{4}-\d\d-\d\d: clients refuse it\./m],
  ] as const) {
    test(`a certificate that ${what}: the server starts, with a warning`, async () => {
      const name = what === 'has expired' ? 'expired' : 'soon';
      const cert = serverCert(name, new Date(Date.now() + from), new Date(Date.now() + to));
      const file = join(dir, `${name}.yml`);
      writeFileSync(file, serverConfigYaml({ admin: pki.client().identity, dir }).replace(/cert: .*/, `cert: ${cert}`));
      const cli = startCli(['server', '--config', file, '--workers', '2']);
      try {
        await cli.waitFor(/Server is up and running/);
        assert.match(cli.stderr(), warning);
        assert.equal(cli.stderr().match(/Warning: the server certificate/g)?.length, 1, 'once, not once per worker');
      } finally {
        cli.child.kill('SIGTERM');
      }
      assert.equal(await cli.exited, 0);
    });
  }

  test('a certificate valid for long: no warning', () => {
    assert.equal(certificateWarning('x.crt', new X509Certificate(pki.server.certPem)), undefined);
  });
});
