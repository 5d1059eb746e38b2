/** Several endpoints: failover while one server is stopped, retries on 503 (protocol.md §7.3). */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import { join } from 'node:path';
import { KesClient, ConnectionError, ApiKey } from '../../src/client/index.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { createTestPki } from '../helpers/certs.js';

describe('failover', () => {
  const admin = ApiKey.generate();
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
  });

  test('requests go to the server that is up; both down is a ConnectionError', async () => {
    const a = await startTestServer((c, _p, dir) => {
      c.admin = admin.identity;
      c.keystore = { type: 'fs', path: join(dir, 'keys') };
    });
    servers.push(a);
    // B shares A's key directory and PKI-independent trust: use insecure mode for the test client.
    const b = await startTestServer((c) => {
      c.admin = admin.identity;
      c.keystore = { type: 'fs', path: join(a.dir, 'keys') };
    });
    servers.push(b);
    const kes = new KesClient({ endpoints: [`https://127.0.0.1:${a.port}`, `https://127.0.0.1:${b.port}`], apiKey: admin, insecureSkipVerify: true });
    await kes.createKey('shared');
    const dek = await kes.generateKey('shared');

    await a.server.close(10);
    for (let i = 0; i < 5; i++) assert.deepEqual(await kes.decrypt('shared', dek.ciphertext), dek.plaintext);

    await b.server.close(10);
    await assert.rejects(kes.version(), ConnectionError);
    kes.close();
  });

  test('a 503 is retried, and a failing endpoint is skipped for the next requests', async () => {
    const pki = createTestPki();
    let calls = 0;
    const flaky = https.createServer({ key: pki.server.keyPem, cert: pki.server.certPem }, (req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end('{"message":"request timeout exceeded"\n}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"version":"9.9.9","commit":""}\n');
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    const port = (flaky.address() as { port: number }).port;
    const kes = new KesClient({ endpoints: `https://localhost:${port}`, apiKey: ApiKey.generate(), ca: pki.ca.certPem });
    assert.equal(await kes.version(), '9.9.9');
    assert.equal(calls, 2, 'one retry after the 503');
    kes.close();
    flaky.close();
  });
});
