/**
 * The console in a real browser: headless Chromium (Debian's package) driven by playwright-core,
 * against a real server and the real console with its built page. Sign-in, keys, audit, metrics,
 * a CSRF attempt from another origin, and screenshots of every page (docs/images/ with
 * `npm run screenshots`, a temporary folder otherwise).
 *
 * Without /usr/bin/chromium the tests skip, unless CI is set: then they fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ApiKey } from '../../src/auth/api-key.js';
import { KesClient, type ClientOptions } from '../../src/client/client.js';
import { KmsClient } from '../../src/client/kms-client.js';
import { builtAssets, startConsole, type TestConsole } from '../helpers/console.js';
import { kes as kesCli } from '../helpers/cli-io.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) to run the browser tests` : false;

/** Where the screenshots go: docs/images with `npm run screenshots`. */
const shots = process.env.CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'console-shots-'));

/** Polls fn until it returns a truthy value (or fails after timeoutMs, with what it saw last). */
async function until<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('console in a browser', { skip }, () => {
  let t: TestServer;
  let c: TestConsole;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let kes: KesClient;
  let env: Record<string, string>;
  const admin = ApiKey.generate();
  const app = ApiKey.generate();
  const reader = ApiKey.generate();
  const problems: string[] = [];

  const shot = async (name: string, fullPage = false) => page.screenshot({ path: join(shots, `console-${name}.png`), fullPage });
  const text = async () => (await page.locator('main').innerText()).replace(/\s+/g, ' ');

  before(async () => {
    const assets = builtAssets();
    mkdirSync(shots, { recursive: true });
    t = await startTestServer((config) => {
      config.admin = admin.identity;
      config.policies = {
        minio: { allow: ['/v1/key/generate/minio-*', '/v1/key/decrypt/minio-*'], deny: ['/v1/key/delete/*'], identities: [app.identity] },
        reader: { allow: ['/v1/identity/self/describe', '/v1/key/list/*'], deny: [], identities: [reader.identity] },
      };
    });
    const client: ClientOptions = { endpoints: [`https://127.0.0.1:${t.port}`], apiKey: admin, ca: [t.pki.ca.certPem] };
    kes = new KesClient(client);
    env = { KES_SERVER: `https://127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
    c = await startConsole(t, { assets, client, metricsIntervalMs: 500 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
  });

  after(async () => {
    await browser?.close();
    kes?.close();
    await c?.close();
    await t?.close();
    if (!process.env.CONSOLE_SCREENSHOTS) rmSync(shots, { recursive: true, force: true });
  });

  it('refuses a wrong access token', async () => {
    await page.goto(`http://127.0.0.1:${c.port}/`);
    await page.getByRole('heading', { name: 'Sign in to openkes' }).waitFor();
    await page.getByLabel('Access token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until('the refusal', async () => /invalid access token/.test((await page.getByRole('alert').innerText().catch(() => '')) ?? ''));
    await shot('login');
    assert.equal(c.gate.session(undefined), undefined);
  });

  it('signs in with the token of the URL, which then leaves the address bar; nothing secret is kept in the browser', async () => {
    await page.goto(c.url);
    await page.getByRole('heading', { name: 'Keys', level: 1 }).waitFor();
    assert.doesNotMatch(page.url(), /token/);
    const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
    assert.deepEqual(stored, { local: 0, session: 0, cookie: '' }, 'the session cookie is HttpOnly and nothing is stored');
    const cookies = await context.cookies();
    assert.equal(cookies.length, 1);
    assert.deepEqual([cookies[0]!.httpOnly, cookies[0]!.sameSite], [true, 'Strict']);
    const html = await page.content();
    assert.doesNotMatch(html, new RegExp(c.gate.token));
    assert.doesNotMatch(html, /kes:v1:/);
  });

  it('creates a key with the keyboard, searches, describes, rotates and deletes with the typed name', async () => {
    // Keyboard only: focus "Create key", Enter opens the form, type the name, Enter submits.
    await page.getByRole('button', { name: 'Create key' }).focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Key name').waitFor();
    await page.getByLabel('Key name').focus();
    await page.keyboard.type('browser-key');
    await page.keyboard.press('Enter');
    await until('the created message', async () => /Created key browser-key/.test(await text()));
    assert.equal((await kes.describeKey('browser-key')).name, 'browser-key');
    await page.getByText('browser-key', { exact: true }).first().waitFor();

    await Promise.all(['search-a1', 'search-a2', 'search-b1'].map((n) => kes.createKey(n)));
    await page.getByLabel('Search keys').fill('search-a');
    const table = async () => (await page.getByRole('table', { name: 'Keys' }).innerText()).replace(/\s+/g, ' ');
    await until('the search results', async () => {
      const shown = await table();
      return shown.includes('search-a1') && shown.includes('search-a2') && !shown.includes('search-b1') && !shown.includes('browser-key');
    });
    // 55 keys of a prefix: two pages of 50, and back.
    await Promise.all(Array.from({ length: 55 }, (_, i) => kes.createKey(`paged-${String(i).padStart(2, '0')}`)));
    await page.getByLabel('Search keys').fill('paged-');
    await until('the first page', async () => (await table()).includes('paged-49') && !(await table()).includes('paged-50'));
    await page.getByRole('button', { name: 'Next page' }).click();
    await until('the second page', async () => (await table()).includes('paged-50') && (await table()).includes('paged-54') && !(await table()).includes('paged-49'));
    assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true, 'the last page');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await until('the first page again', async () => (await table()).includes('paged-00'));
    await Promise.all(Array.from({ length: 55 }, (_, i) => kes.deleteKey(`paged-${String(i).padStart(2, '0')}`)));

    await page.getByLabel('Search keys').fill('');
    await until('all keys again', async () => (await table()).includes('search-b1'));
    await shot('keys');

    await page.getByText('search-a1', { exact: true }).first().click();
    await page.getByRole('heading', { name: 'search-a1' }).waitFor();
    await page.getByRole('button', { name: 'Rotate key' }).click();
    await until('the rotation', async () => /Rotated search-a1 to version 2/.test(await text()));
    assert.deepEqual((await kes.describeKey('search-a1')).versions.map((v) => v.version), [1, 2]);
    await shot('key');

    await page.getByRole('button', { name: 'Delete key' }).click();
    const confirm = page.getByLabel('Type search-a1 to confirm');
    const del = page.getByRole('button', { name: 'Delete', exact: true });
    await confirm.fill('search-a');
    assert.equal(await del.isDisabled(), true, 'Delete stays disabled until the name is typed');
    await confirm.fill('search-a1');
    await del.click();
    await until('the deletion', async () => /Deleted key search-a1/.test(await text()));
    await assert.rejects(kes.describeKey('search-a1'), { code: 'KES_ERR_KEY_NOT_FOUND' });
  });

  it('shows the audit event of a request made with the CLI, and filters by path', async () => {
    await page.goto(`http://127.0.0.1:${c.port}/#/audit`);
    await page.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    await until('the live stream', async () => /Live/.test(await text()));
    const r = await kesCli(['key', 'create', 'cli-audited'], env);
    assert.equal(r.code, 0, r.stderr);
    await until('the audit row', async () => (await text()).includes('/v1/key/create/cli-audited'));
    await kesCli(['key', 'info', 'cli-audited'], env);
    await until('the second row', async () => (await text()).includes('/v1/key/describe/cli-audited'));
    await page.getByLabel('Path').fill('create/cli-audited');
    await until('the filtered rows', async () => {
      const shown = await text();
      return shown.includes('/v1/key/create/cli-audited') && !shown.includes('/v1/key/describe/cli-audited');
    });
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download NDJSON' }).click();
    const file = await (await download).path();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; status: number });
    assert.deepEqual(lines.map((l) => [l.path, l.status]), [['/v1/key/create/cli-audited', 200]], 'the filtered events, as NDJSON');
    await page.getByLabel('Path').fill('');

    // Paused, new events are counted, not shown; Resume shows them.
    await page.getByRole('button', { name: 'Pause' }).click();
    await kesCli(['key', 'rm', 'cli-audited'], env);
    await until('the held-back event', async () => /1 new event/.test(await text()));
    assert.ok(!(await text()).includes('/v1/key/delete/cli-audited'));
    await page.getByRole('button', { name: 'Resume' }).click();
    await until('the resumed event', async () => (await text()).includes('/v1/key/delete/cli-audited'));
    await shot('audit');
  });

  it('updates the metrics charts as requests come in', async () => {
    await page.goto(`http://127.0.0.1:${c.port}/#/metrics`);
    await page.getByRole('heading', { name: 'Metrics', level: 1 }).waitFor();
    const points = async () => Number(await page.locator('svg[data-points]').first().getAttribute('data-points'));
    const first = await until('a first point', async () => ((await points()) >= 1 ? points() : 0));
    // Requests keep coming while the charts are watched (and photographed).
    let loading = true;
    const load = (async () => {
      while (loading) await kes.generateKey('browser-key');
    })();
    try {
      const later = await until('more points', async () => ((await points()) > first + 1 ? points() : 0));
      assert.ok(later > first);
      const label = async () => (await page.locator('svg[data-points]').first().getAttribute('aria-label')) ?? '';
      await until('a rate above zero in the chart', async () => /^Requests per second, latest: [1-9][\d.]* success/.test(await label()));
      await until('latency percentiles in the chart', async () => /p50 [\d.]+, p90/.test(await page.locator('svg[data-points]').nth(1).getAttribute('aria-label') ?? ''));
      await shot('metrics');
    } finally {
      loading = false;
      await load;
    }
  });

  it('shows the status of the server and who may do what', async () => {
    await page.goto(`http://127.0.0.1:${c.port}/#/status`);
    await page.getByRole('heading', { name: 'Status', level: 1 }).waitFor();
    await until('the server card', async () => /Online/i.test(await text()) && (await text()).includes(`127.0.0.1:${t.port}`));
    await shot('status');
    await page.goto(`http://127.0.0.1:${c.port}/#/access`);
    await page.getByRole('heading', { name: 'Access', level: 1 }).waitFor();
    await until('the admin identity and the config policy', async () => (await text()).includes(admin.identity) && (await text()).includes('/v1/key/generate/minio-*'));

    // A runtime policy and identity of the default enclave, made through the page.
    await page.getByLabel('Policy name').fill('tenant-app');
    await page.getByLabel('Allow rules').fill('KEY:GENERATE=app-*\nKEY:DECRYPT=app-*');
    await page.getByLabel('Deny rules').fill('KEY:DELETE=*');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await until('the saved policy', async () => /Saved policy tenant-app/.test(await text()));
    const kms = new KmsClient({ endpoints: [`https://127.0.0.1:${t.port}`], apiKey: admin, ca: [t.pki.ca.certPem], enclave: '' });
    try {
      const policy = await kms.getPolicy('tenant-app');
      assert.deepEqual([policy.allow, policy.deny], [{ 'KEY:GENERATE': ['app-*'], 'KEY:DECRYPT': ['app-*'] }, { 'KEY:DELETE': ['*'] }]);
      const runtime = ApiKey.generate();
      await page.getByLabel('Identity', { exact: true }).fill(runtime.identity);
      await page.getByLabel('Privilege').selectOption('User');
      await page.getByLabel('Policy', { exact: true }).fill('tenant-app');
      await page.getByRole('button', { name: 'Save identity' }).click();
      await until('the saved identity', async () => /Saved identity/.test(await text()));
      const identity = await kms.identityStatus(runtime.identity);
      assert.equal(identity.policy, 'tenant-app');
    } finally {
      kms.close();
    }
    await shot('access', true);
  });

  it('works in a narrow window', async () => {
    const narrow = await context.newPage();
    await narrow.setViewportSize({ width: 360, height: 740 });
    await narrow.goto(`http://127.0.0.1:${c.port}/#/keys`);
    await narrow.getByRole('heading', { name: 'Keys', level: 1 }).waitFor();
    await narrow.getByText('browser-key', { exact: true }).first().waitFor();
    const width = await narrow.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the page is ${width} px wide`);
    for (const link of ['Keys', 'Access', 'Status', 'Metrics', 'Audit']) assert.equal(await narrow.getByRole('link', { name: link, exact: true }).isVisible(), true, link);
    await narrow.screenshot({ path: join(shots, 'console-narrow.png') });
    await narrow.close();
  });

  it('tells an operator whose identity may not read the audit log why no events come', async () => {
    const other = await startConsole(t, { assets: builtAssets(), client: { endpoints: [`https://127.0.0.1:${t.port}`], apiKey: reader, ca: [t.pki.ca.certPem] } });
    const ctx = await browser.newContext();
    try {
      const p = await ctx.newPage();
      await p.goto(other.url);
      await p.getByRole('heading', { name: 'Keys', level: 1 }).waitFor();
      await p.getByRole('link', { name: 'Audit', exact: true }).click();
      const list = p.getByRole('list', { name: 'Audit streams not followed' });
      await until('the explanation', async () =>
        (await list.innerText().catch(() => '')).includes(`No audit events from https://127.0.0.1:${t.port}: not authorized: insufficient permissions`),
      );
    } finally {
      await ctx.close();
      await other.close();
    }
  });

  it('every page passes axe-core\'s WCAG 2.1 A and AA checks, wide and narrow', async () => {
    // axe is injected as a script, which the console's CSP forbids: this context alone bypasses it.
    const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    const found: string[] = [];
    for (const width of [1280, 360]) {
      const checking = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
      await checking.addCookies(await context.cookies());
      const p = await checking.newPage();
      for (const [route, ready] of [
        ['#/keys', 'Keys'],
        ['#/keys/browser-key', 'browser-key'],
        ['#/access', 'Access'],
        ['#/status', 'Status'],
        ['#/metrics', 'Metrics'],
        ['#/audit', 'Audit'],
      ] as const) {
        await p.goto(`http://127.0.0.1:${c.port}/${route}`);
        await p.getByRole('heading', { name: ready, exact: true }).waitFor();
        await p.waitForTimeout(300);
        await p.addScriptTag({ content: axe });
        const violations = await p.evaluate(async () => {
          const result = await (window as unknown as { axe: { run(o: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe.run({
            runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
          });
          return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
        });
        found.push(...violations.map((v) => `${route} at ${width} px: ${v}`));
      }
      await checking.close();
    }
    assert.deepEqual(found, []);
  });

  it('refuses a CSRF attempt from another origin, with the session cookie sent', async () => {
    // The attacker's page is on the same host (so the same site: the SameSite cookie goes along),
    // another port: only the console's own checks stand in the way.
    const consoleApi = `http://127.0.0.1:${c.port}/api/keys`;
    const attacker: Server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><body>
        <form id="f" method="POST" action="${consoleApi}" enctype="text/plain" target="sink"><input name='{"name":"csrf-form","x":"' value='"}'></form>
        <iframe name="sink"></iframe>
        <script>
          fetch(${JSON.stringify(consoleApi)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"name":"csrf-fetch"}' });
          fetch(${JSON.stringify(consoleApi)}, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{"name":"csrf-json"}' }).catch(() => {});
          document.getElementById('f').submit();
        </script></body>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const evil = await context.newPage();
    // Each attempt ends in an answer or a failure the browser reports (an answer it blocks, a
    // refused preflight): the console refused all of them.
    const answers: number[] = [];
    let settled = 0;
    evil.on('response', (res) => {
      if (res.url() === consoleApi) answers.push(res.status());
    });
    evil.on('requestfinished', (req) => req.url() === consoleApi && settled++);
    evil.on('requestfailed', (req) => req.url() === consoleApi && settled++);
    try {
      await evil.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      await until('the three attempts to end', () => settled >= 3);
      assert.ok(answers.length >= 1 && answers.every((s) => s === 403 || s === 415), `answers: ${answers}`);
      const names: string[] = [];
      for await (const name of kes.listKeys('')) names.push(name);
      assert.deepEqual(names.filter((n) => n.startsWith('csrf')), [], 'no key was created');
    } finally {
      await evil.close();
      attacker.close();
    }
  });

  it('ran without a Content-Security-Policy violation or a script error', () => {
    assert.deepEqual(problems.filter((p) => !/status of 40[13]/.test(p)), []);
  });
});
