/**
 * The console in front of `kes server --workers 2`, as servers run by default on a multi-core
 * machine: its one audit stream (served by one worker) carries the events of every worker, and
 * the Status page's cache figures are the sum of the workers' caches.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AuditEntry, StatusOverview } from '../../src/console/api-types.js';
import { startConsole, type TestConsole } from '../helpers/console.js';
import { startClusterServer, type ClusterServer } from '../helpers/cluster-server.js';

let cluster: ClusterServer;
let c: TestConsole;

before(async () => {
  cluster = await startClusterServer({ workers: 2 });
  c = await startConsole(cluster);
  await c.login();
});
after(async () => {
  await c?.close();
  await cluster?.close();
});

it('streams the audit events of both workers, and sums their key caches', async () => {
  const events: AuditEntry[] = [];
  let buffer = '';
  const req = request({ host: '127.0.0.1', port: c.port, path: '/api/audit', headers: { cookie: c.session.cookie! } });
  await new Promise<void>((resolve) =>
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (const m of buffer.matchAll(/event: audit\ndata: (.*)\n\n/g)) events.push(JSON.parse(m[1]!) as AuditEntry);
        buffer = buffer.replace(/event: audit\ndata: (.*)\n\n/g, '');
      });
      resolve();
    }).end(),
  );
  try {
    assert.equal((await cluster.once('POST', '/v1/key/create/cluster-key')).status, 200);
    // Each request on a new connection: node:cluster hands them to the workers in turn.
    const paths = Array.from({ length: 8 }, (_, i) => `/v1/key/describe/cluster-missing-${i}`);
    for (const path of paths) assert.equal((await cluster.once('GET', path)).status, 404);
    for (let i = 0; i < 4; i++) assert.equal((await cluster.once('POST', '/v1/key/generate/cluster-key', {})).status, 200);
    const deadline = Date.now() + 10_000;
    while (!paths.every((p) => events.some((e) => e.path === p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(paths.filter((p) => !events.some((e) => e.path === p)), [], 'every worker\'s events reach the one stream');
  } finally {
    req.destroy();
  }
  const { servers } = (await c.fetch('GET', '/api/status')).json<StatusOverview>();
  const cache = servers[0]!.cache!;
  // 12 key look-ups spread over both workers (8 describes of missing keys, 4 generates): the sum
  // has them all; and both workers hold a copy of the key.
  assert.equal(cache.hits + cache.misses, 12, JSON.stringify(cache));
  assert.ok(cache.misses >= 8, JSON.stringify(cache));
  assert.equal(cache.entries, 2, JSON.stringify(cache));
});
