/**
 * One coherent key cache per server (keystore/cache-keeper.ts), with `--workers 2` and the
 * filesystem store: a deleted key is gone from every worker before the delete is answered, and
 * a re-created name never seals data with the old key. Every request opens a new connection, so
 * requests alternate between the workers.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startClusterServer, type ClusterServer } from '../helpers/cluster-server.js';

describe('kes server --workers 2: one key cache', () => {
  let s: ClusterServer;
  before(async () => {
    // Long expiries: only the cache's coherence can make these tests pass.
    s = await startClusterServer({ sections: 'cache:\n  expiry:\n    any: 5m\n    unused: 5m\n' });
  });
  after(() => s?.close());

  const statuses = async (n: number, method: string, path: string, body?: object) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await s.once(method, path, body)).status);
    return out;
  };

  test('a deleted key is gone from every worker once the delete is answered', async () => {
    assert.equal((await s.once('POST', '/v1/key/create/k1')).status, 200);
    assert.deepEqual(await statuses(6, 'POST', '/v1/key/generate/k1', {}), [200, 200, 200, 200, 200, 200], 'both workers cache k1');
    assert.equal((await s.once('DELETE', '/v1/key/delete/k1')).status, 200);
    assert.deepEqual(await statuses(6, 'POST', '/v1/key/generate/k1', {}), [404, 404, 404, 404, 404, 404]);
  });

  test('a re-created name seals data only with the new key', async () => {
    assert.equal((await s.once('POST', '/v1/key/create/k2')).status, 200);
    await statuses(6, 'POST', '/v1/key/generate/k2', {});
    assert.equal((await s.once('DELETE', '/v1/key/delete/k2')).status, 200);
    assert.equal((await s.once('POST', '/v1/key/create/k2')).status, 200);
    for (let i = 0; i < 6; i++) {
      const dek = await s.once('POST', '/v1/key/generate/k2', {});
      assert.equal(dek.status, 200);
      for (let j = 0; j < 2; j++) {
        const dec = await s.once('POST', '/v1/key/decrypt/k2', { ciphertext: dek.json().ciphertext });
        assert.deepEqual([dec.status, dec.json().plaintext], [200, dek.json().plaintext], `data key ${i}, decryption ${j}`);
      }
    }
  });

  test('a key fetched by one worker is served by the other (a fill reaches every worker)', async () => {
    assert.equal((await s.once('POST', '/v1/key/create/k3')).status, 200);
    assert.equal((await s.once('POST', '/v1/key/generate/k3', {})).status, 200);
    // Take the key file away: only the caches can still serve it, and both must.
    const { rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the fill travels through the primary
    rmSync(join(s.dir, 'keys', 'k3'));
    assert.deepEqual(await statuses(6, 'POST', '/v1/key/generate/k3', {}), [200, 200, 200, 200, 200, 200]);
  });
});
