import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createTestPki, type TestPki } from '../../../test/helpers/certs.js';
import { readEtcdTls } from './tls-files.js';

describe('etcd TLS files', () => {
  let dir: string;
  let pki: TestPki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kes-etcd-tls-files-'));
    pki = createTestPki();
    writeFileSync(join(dir, 'ca.pem'), pki.ca.certPem);
    writeFileSync(join(dir, 'client.key'), pki.server.keyPem);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

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
    await assert.rejects(readEtcdTls({ certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'nope.key') }), /^TlsFileError: etcd: cannot read the client key '.*nope\.key': no such file or directory$/);
  });
});
