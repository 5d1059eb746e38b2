/** A credential or CA file that cannot be read: the error names the variable (or flag) and the path. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { kes } from '../helpers/cli-io.js';

describe('unreadable credential files', () => {
  let t: TestServer;
  let server: string;
  let certFile: string;
  let keyFile: string;
  before(async () => {
    t = await startTestServer();
    server = `127.0.0.1:${t.port}`;
    certFile = join(t.dir, 'admin.crt');
    keyFile = join(t.dir, 'admin.key');
    writeFileSync(certFile, t.admin.certPem);
    writeFileSync(keyFile, t.admin.keyPem, { mode: 0o600 });
  });
  after(() => t.close());

  test('the client certificate and key variables', async () => {
    const missing = join(t.dir, 'missing.crt');
    const cases: [Record<string, string>, string][] = [
      [{ KES_CLIENT_CERT: missing, KES_CLIENT_KEY: keyFile }, `KES_CLIENT_CERT: cannot read ${missing}: no such file or directory`],
      [{ KES_CLIENT_CERT: certFile, KES_CLIENT_KEY: missing }, `KES_CLIENT_KEY: cannot read ${missing}: no such file or directory`],
      [{ MINIO_KES_CERT_FILE: missing, KES_CLIENT_KEY: keyFile }, `MINIO_KES_CERT_FILE: cannot read ${missing}: no such file or directory`],
      [{ KES_CLIENT_CERT: t.dir, KES_CLIENT_KEY: keyFile }, `KES_CLIENT_CERT: cannot read ${t.dir}: illegal operation on a directory`],
    ];
    for (const [env, message] of cases) {
      const r = await kes(['key', 'ls', '-k'], { KES_SERVER: server, ...env });
      assert.deepEqual([r.code, r.stderr], [1, `Error: ${message}\n`]);
    }
    const r = await kes(['key', 'ls', '--ca', join(t.dir, 'ca.crt')], { KES_SERVER: server, KES_CLIENT_CERT: certFile, KES_CLIENT_KEY: keyFile });
    assert.deepEqual([r.code, r.stderr], [0, ''], 'readable files work');
  });

  test('KES_CAPATH and --ca', async () => {
    const missing = join(t.dir, 'missing-ca.crt');
    const env = { KES_SERVER: server, KES_CLIENT_CERT: certFile, KES_CLIENT_KEY: keyFile };
    let r = await kes(['key', 'ls'], { ...env, KES_CAPATH: missing });
    assert.deepEqual([r.code, r.stderr], [1, `Error: KES_CAPATH: cannot read ${missing}: no such file or directory\n`]);
    r = await kes(['key', 'ls', '--ca', missing], { ...env, KES_CAPATH: join(t.dir, 'ca.crt') });
    assert.deepEqual([r.code, r.stderr], [1, `Error: --ca: cannot read ${missing}: no such file or directory\n`]);
    r = await kes(['key', 'ls', '--ca', keyFile], env);
    assert.deepEqual([r.code, r.stderr], [1, `Error: --ca: no CA certificate found in '${keyFile}'\n`]);
  });
});
