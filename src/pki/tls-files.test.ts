import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createTestPki, type TestPki } from '../../test/helpers/certs.js';
import { readCaBundle, readTlsFile, TlsFileError, withSystemRoots } from './tls-files.js';

describe('TLS files', () => {
  let dir: string;
  let pki: TestPki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kes-tls-files-'));
    pki = createTestPki();
    writeFileSync(join(dir, 'ca.pem'), pki.ca.certPem);
    writeFileSync(join(dir, 'client.key'), pki.server.keyPem);
    writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n');
    mkdirSync(join(dir, 'cas'));
    writeFileSync(join(dir, 'cas', 'b.crt'), `some text\n${pki.server.certPem}`);
    writeFileSync(join(dir, 'cas', 'a.crt'), pki.ca.certPem);
    mkdirSync(join(dir, 'cas', 'sub'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a CA bundle is a PEM file, or the regular files of a directory in name order', () => {
    assert.deepEqual(readCaBundle(join(dir, 'ca.pem')), [pki.ca.certPem.trim()]);
    assert.deepEqual(readCaBundle(join(dir, 'cas'), 'etcd'), [pki.ca.certPem.trim(), pki.server.certPem.trim()]);
  });

  test('errors name the component, the file and the reason, in one wording', () => {
    const fails = (fn: () => unknown, message: RegExp) => assert.throws(fn, (err: unknown) => err instanceof TlsFileError && message.test(err.message));
    fails(() => readCaBundle(join(dir, 'missing.pem'), 'postgres'), /^postgres: cannot read the CA certificates '.*missing\.pem': no such file or directory$/);
    fails(() => readCaBundle(join(dir, 'client.key'), 'vault'), /^vault: no CA certificate found in '.*client\.key'$/);
    fails(() => readCaBundle(join(dir, 'broken.pem'), 'tls'), /^tls: '.*broken\.pem' is not valid PEM: /);
    fails(() => readCaBundle(join(dir, 'missing.pem')), /^cannot read the CA certificates/);
    fails(() => readTlsFile(join(dir, 'nope.key'), 'client key', 'etcd'), /^etcd: cannot read the client key '.*nope\.key': no such file or directory$/);
  });

  test('a key file\'s content is returned, never put into an error', () => {
    assert.equal(readTlsFile(join(dir, 'client.key'), 'private key'), pki.server.keyPem);
    assert.throws(() => readCaBundle(join(dir, 'client.key'), 'x'), (err: Error) => !err.message.includes('PRIVATE KEY'));
  });

  test('the trust list is the system roots, then the bundle', () => {
    const list = withSystemRoots(['x']);
    assert.deepEqual(list, [...rootCertificates, 'x']);
  });
});
