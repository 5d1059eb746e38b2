/** Responses of older KES servers: NDJSON listings, legacy policy and self-describe shapes. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import { KesClient, ApiKey, isKesError } from '../../src/client/index.js';
import { createTestPki } from '../helpers/certs.js';

const pki = createTestPki();
const routes: Record<string, [string, string]> = {
  '/v1/key/list/': ['application/x-ndjson', '{"name":"a"}\n{"name":"b"}\n'],
  '/v1/key/list/x': ['application/x-ndjson', '{"name":"x1"}\n{"error":"failed to list keys"}\n'],
  '/v1/policy/read/p': ['application/json', '{"allow":["/v1/status"],"deny":["/v1/key/*"],"created_at":"2022-01-01T00:00:00Z","created_by":"admin"}'],
  '/v1/identity/self/describe': [
    'application/json',
    '{"identity":"abc","policy_name":"p","created_at":"2022-01-01T00:00:00Z","policy":{"allow":["/v1/key/bulk/decrypt/*"],"deny":[]}}',
  ],
  '/v1/key/describe/k': ['application/json', '{"name":"k","id":"x","algorithm":"XCHACHA20-POLY1305","created_at":"2022-01-01T00:00:00Z"}'],
};
const server = https.createServer({ key: pki.server.keyPem, cert: pki.server.certPem }, (req, res) => {
  const r = routes[req.url ?? ''];
  res.writeHead(r ? 200 : 404, { 'content-type': r?.[0] ?? 'text/plain' });
  res.end(r?.[1] ?? '404 page not found\n');
});
after(() => server.close());

test('the SDK reads legacy servers\' NDJSON listings and v0.22 shapes', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kes = new KesClient({ endpoints: `localhost:${(server.address() as { port: number }).port}`, apiKey: ApiKey.generate(), ca: pki.ca.certPem });
  const names: string[] = [];
  for await (const n of kes.listKeys()) names.push(n);
  assert.deepEqual(names, ['a', 'b']);
  const partial: string[] = [];
  await assert.rejects(async () => {
    for await (const n of kes.listKeys('x')) partial.push(n);
  }, /failed to list keys/);
  assert.deepEqual(partial, ['x1']);
  const p = await kes.getPolicy('p');
  assert.deepEqual([p.allow, p.deny, p.name], [['/v1/status'], ['/v1/key/*'], 'p']);
  const self = await kes.describeSelf();
  assert.deepEqual([self.policy, self.allow], ['p', ['/v1/key/bulk/decrypt/*']]);
  assert.equal((await kes.describeKey('k')).algorithm, 'ChaCha20');
  kes.close();
});

test('a KES key is version 1; the key ring calls, which KES lacks, fail with its 404', async () => {
  if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kes = new KesClient({ endpoints: `localhost:${(server.address() as { port: number }).port}`, apiKey: ApiKey.generate(), ca: pki.ca.certPem });
  const k = await kes.describeKey('k');
  assert.equal(k.version, 1);
  assert.deepEqual(k.versions, [{ version: 1, algorithm: 'ChaCha20', createdAt: new Date('2022-01-01T00:00:00Z') }], 'no created_by: none in the version');
  const notKes = (e: unknown) => isKesError(e, 'KES_ERR_HTTP') && e.status === 404 && e.message === '404 page not found';
  await assert.rejects(kes.rotateKey('k'), notKes);
  await assert.rejects(kes.rewrap('k', Buffer.alloc(60)), notKes);
  await assert.rejects(kes.deleteKey('k', { version: 1 }), notKes);
  kes.close();
});
