/**
 * MinKMS across the workers of one server (`kes server --workers 2`, as on any multi-core
 * machine): every request opens a new connection, so requests alternate between the workers.
 * The backup key reaches every worker, and a runtime identity created through one worker acts
 * at once on the other — also where that worker had already found it missing.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KmsClient } from '../../src/client/kms-client.js';
import { KesError } from '../../src/api/errors.js';
import type { TestCert } from '../helpers/certs.js';
import { startClusterServer, type ClusterServer } from '../helpers/cluster-server.js';

describe('kes server --workers 2: MinKMS', () => {
  let s: ClusterServer;
  before(async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    // Long expiries: only the cache's coherence can make the identity test pass.
    s = await startClusterServer({ sections: `cache:\n  expiry:\n    any: 5m\n    unused: 5m\nbackup:\n  key: ${key}\n` });
  });
  after(() => s?.close());

  /** One call on a new connection (a new client), so calls spread over the workers. */
  async function once<T>(cert: TestCert, call: (c: KmsClient) => Promise<T>): Promise<T> {
    const c = new KmsClient({ endpoints: `https://127.0.0.1:${s.port}`, ca: s.pki.ca.certPem, cert: cert.certPem, key: cert.keyPem });
    try {
      return await call(c);
    } finally {
      c.close();
    }
  }

  const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: KesError) => e.code);

  test('every worker has the backup key', async () => {
    for (let i = 0; i < 4; i++) assert.ok((await once(s.admin, (c) => c.readDb())).length > 0, `backup ${i}`);
  });

  test('a runtime identity created through one worker acts on every worker at once', async () => {
    const user = s.pki.client({ commonName: 'worker-user' });
    await once(s.admin, (c) => c.createKey('w-key'));
    // Both workers find the identity missing first (and remember that).
    for (let i = 0; i < 4; i++) assert.equal(await code(once(user, (c) => c.generateKey('w-key'))), 'KMS_ERR_PERMISSION');
    await once(s.admin, (c) => c.createPolicy('w-policy', { allow: { 'KEY:GENERATE': 'w-*' } }));
    await once(s.admin, (c) => c.createIdentity(user.identity));
    await once(s.admin, (c) => c.assignPolicy(user.identity, 'w-policy'));
    for (let i = 0; i < 4; i++) assert.equal(await code(once(user, (c) => c.generateKey('w-key'))), 'ok', `call ${i}`);
    await once(s.admin, (c) => c.deleteIdentity(user.identity));
    for (let i = 0; i < 4; i++) assert.equal(await code(once(user, (c) => c.generateKey('w-key'))), 'KMS_ERR_PERMISSION', `after the delete, call ${i}`);
  });
});
