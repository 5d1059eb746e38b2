/** openkes's key cache metrics: entries, hits and misses, in /v1/metrics and through the SDK. */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { KesClient } from '../../src/client/client.js';
import { adminClientOptions } from '../helpers/console.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

let t: TestServer;
let kes: KesClient;
before(async () => {
  t = await startTestServer();
  kes = new KesClient(adminClientOptions(t));
});
after(async () => {
  kes.close();
  await t.close();
});

it('counts look-ups answered by the key cache and those that went to the store', async () => {
  const before = await kes.metrics();
  assert.deepEqual([before.cacheEntries, before.cacheHits, before.cacheMisses], [0, 0, 0]);
  await kes.createKey('cached');
  await kes.generateKey('cached'); // not cached yet: a miss, then cached
  await kes.generateKey('cached'); // a hit
  await kes.generateKey('cached'); // a hit
  await assert.rejects(kes.generateKey('not-there')); // a miss
  const after = await kes.metrics();
  assert.equal(after.cacheEntries, 1);
  assert.equal(after.cacheHits, 2);
  assert.equal(after.cacheMisses, 2);
  const { body: text } = await t.client().request('GET', '/v1/metrics');
  assert.match(text, /^# TYPE openkes_key_cache_hits_total counter\nopenkes_key_cache_hits_total 2$/m);
  assert.match(text, /^# TYPE openkes_key_cache_entries gauge\nopenkes_key_cache_entries 1$/m);
});
