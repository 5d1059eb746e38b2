/**
 * The Keys page's listing over 100,000 keys in a real filesystem store: the console's API pages
 * through them from any point, and a prefix search finds a few among them.
 * (bench/console-paging.ts times it, and walks every page.)
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KesClient } from '../../src/client/client.js';
import type { KeyPage } from '../../src/console/api-types.js';
import { adminClientOptions, startConsole, type TestConsole } from '../helpers/console.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const KEYS = 100_000;
const name = (i: number) => `key-${String(i).padStart(6, '0')}`;

let dir: string;
let t: TestServer;
let c: TestConsole;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'console-paging-'));
  t = await startTestServer((config) => {
    config.keystore = { type: 'fs', path: dir };
  });
  const kes = new KesClient(adminClientOptions(t));
  try {
    // One real key, copied under 100,000 names: the fs store keeps a file per key, named after it.
    await kes.createKey('seed');
    for (let i = 0; i < KEYS; i++) copyFileSync(join(dir, 'seed'), join(dir, name(i)));
    await kes.deleteKey('seed');
  } finally {
    kes.close();
  }
  c = await startConsole(t);
  await c.login();
});
after(async () => {
  await c.close();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

async function page(query: string): Promise<KeyPage> {
  const answer = await c.fetch('GET', `/api/keys?${query}`);
  assert.equal(answer.status, 200, answer.text);
  return answer.json<KeyPage>();
}

it('pages through 100,000 keys from the start, the middle and the end', async () => {
  const first = await page('limit=50');
  assert.deepEqual(first.keys.map((k) => k.name), Array.from({ length: 50 }, (_, i) => name(i)));
  assert.equal(first.continueAt, name(50));
  assert.equal(first.keys[0]!.version, 1);

  const middle = await page(`limit=50&continue=${name(50_000)}`);
  assert.deepEqual(middle.keys.map((k) => k.name), Array.from({ length: 50 }, (_, i) => name(50_000 + i)));
  const next = await page(`limit=50&continue=${middle.continueAt}`);
  assert.equal(next.keys[0]!.name, name(50_050), 'Next page goes on where the page ended');

  const last = await page(`limit=50&continue=${name(KEYS - 50)}`);
  assert.equal(last.keys.length, 50);
  assert.equal(last.keys.at(-1)!.name, name(KEYS - 1));
  assert.equal(last.continueAt, '', 'the end of the listing');
});

it('finds the keys of a prefix among 100,000', async () => {
  const found = await page('prefix=key-04321&limit=50');
  assert.deepEqual(found.keys.map((k) => k.name), Array.from({ length: 10 }, (_, i) => name(43_210 + i)));
  assert.equal(found.continueAt, '');
  assert.deepEqual((await page('prefix=nothing-')).keys, []);
});
