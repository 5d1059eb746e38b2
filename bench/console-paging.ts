/**
 * The console's Keys page over a large key store (docs/console.md "Keys"): a server on the
 * filesystem store holding N keys (100,000 by default), the console in front of it, and the time
 * of the page's requests — the first page, a prefix search, a page from the middle and the end,
 * and a walk through every page as `Next page` does it. Each request goes through the console's
 * HTTP API, the MinKMS listing and mTLS, as the page's do.
 *
 *   node --import tsx bench/console-paging.ts [--keys 100000] [--page 50]
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KesClient } from '../src/client/client.js';
import type { KeyPage } from '../src/console/api-types.js';
import { adminClientOptions, startConsole } from '../test/helpers/console.js';
import { startTestServer } from '../test/helpers/test-server.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const KEYS = flag('keys', 100_000);
const PAGE = flag('page', 50);

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const name = (i: number) => `key-${String(i).padStart(6, '0')}`;

const dir = mkdtempSync(join(tmpdir(), 'console-paging-'));
const t = await startTestServer((config) => {
  config.keystore = { type: 'fs', path: dir };
});
const kes = new KesClient(adminClientOptions(t));
try {
  // One real key, copied under N names: the fs store keeps one file per key, named after it.
  await kes.createKey('seed');
  let start = performance.now();
  for (let i = 0; i < KEYS; i++) copyFileSync(join(dir, 'seed'), join(dir, name(i)));
  await kes.deleteKey('seed');
  process.stdout.write(`${KEYS} keys written in ${ms(performance.now() - start)}\n`);

  const c = await startConsole(t);
  await c.login();
  const get = async (query: string): Promise<{ page: KeyPage; took: number }> => {
    const begin = performance.now();
    const answer = await c.fetch('GET', `/api/keys?limit=${PAGE}&${query}`);
    if (answer.status !== 200) throw new Error(`${query}: ${answer.status} ${answer.text}`);
    return { page: answer.json<KeyPage>(), took: performance.now() - begin };
  };
  const timed = async (what: string, query: string, expect: (p: KeyPage) => boolean) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { page, took } = await get(query);
      if (!expect(page)) throw new Error(`${what}: unexpected page ${JSON.stringify(page).slice(0, 200)}`);
      times.push(took);
    }
    process.stdout.write(`${what.padEnd(34)} median ${ms(percentile(times, 50))}  max ${ms(Math.max(...times))}\n`);
  };
  await timed('first page', 'prefix=', (p) => p.keys.length === PAGE && p.keys[0]!.name === name(0));
  await timed(`search '${name(KEYS / 2).slice(0, 9)}' (prefix)`, `prefix=${name(KEYS / 2).slice(0, 9)}`, (p) => p.keys.length > 0);
  await timed('page from the middle', `continue=${name(KEYS / 2)}`, (p) => p.keys[0]!.name === name(KEYS / 2));
  await timed('last page', `continue=${name(KEYS - PAGE)}`, (p) => p.keys.length === PAGE && p.continueAt === '');

  const times: number[] = [];
  let continueAt = '';
  let seen = 0;
  start = performance.now();
  do {
    const { page, took } = await get(`continue=${encodeURIComponent(continueAt)}`);
    times.push(took);
    seen += page.keys.length;
    continueAt = page.continueAt;
  } while (continueAt !== '');
  const total = performance.now() - start;
  if (seen !== KEYS) throw new Error(`walked ${seen} keys, not ${KEYS}`);
  process.stdout.write(
    `walk of all ${times.length} pages: ${(total / 1000).toFixed(1)} s; per page median ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))}, max ${ms(Math.max(...times))}\n`,
  );
  await c.close();
} finally {
  kes.close();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
}
