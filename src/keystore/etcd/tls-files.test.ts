import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createTestPki, type TestPki } from '../../../test/helpers/certs.js';
import { readCaCertificates, readEtcdTls } from './tls-files.js';

describe('etcd TLS files', () => {
  let dir: string;
  let pki: TestPki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kes-etcd-tls-files-'));
    pki = createTestPki();
    writeFileSync(join(dir, 'ca.pem'), pki.ca.certPem);
    writeFileSync(join(dir, 'client.key'), pki.server.keyPem);
    mkdirSync(join(dir, 'cas'));
    writeFileSync(join(dir, 'cas', 'a.crt'), pki.ca.certPem);
    writeFileSync(join(dir, 'cas', 'b.crt'), `some text\n${pki.server.certPem}`);
    mkdirSync(join(dir, 'cas', 'sub'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a CA file or a directory of them', async () => {
    assert.deepEqual(await readCaCertificates(join(dir, 'ca.pem')), [pki.ca.certPem.trim()]);
    assert.deepEqual(await readCaCertificates(join(dir, 'cas')), [pki.ca.certPem.trim(), pki.server.certPem.trim()]);
  });

  test('a missing path, or one without certificates, is an error naming it', async () => {
    await assert.rejects(readCaCertificates(join(dir, 'missing.pem')), /^Error: etcd: cannot read the TLS CA certificates '.*missing\.pem': ENOENT$/);
    await assert.rejects(readCaCertificates(join(dir, 'client.key')), /^Error: etcd: no CA certificate found in '.*client\.key'$/);
  });

  test('credentials: the system CAs plus the extra ones, the client certificate and key as read', async () => {
    const files = { caPath: join(dir, 'ca.pem'), certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'client.key') };
    const creds = await readEtcdTls(files);
    const roots = creds.rootCertificate.toString();
    assert.ok(roots.startsWith(rootCertificates[0] as string) && roots.endsWith(pki.ca.certPem.trim()));
    assert.equal(creds.certChain?.toString(), pki.ca.certPem);
    assert.equal(creds.privateKey?.toString(), pki.server.keyPem);
    assert.equal((await readEtcdTls({})).rootCertificate.toString(), rootCertificates.join('\n'));
  });

  test('an unreadable key file is named, its content never shown', async () => {
    await assert.rejects(readEtcdTls({ certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'nope.key') }), /^Error: etcd: cannot read the TLS client key '.*nope\.key': ENOENT$/);
  });
});
