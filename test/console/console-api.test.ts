/**
 * The console's HTTP API against a real server over real mTLS: sign-in, sessions, CSRF, the
 * security headers, and every page's calls (keys, access, status, metrics, audit stream).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ApiKey } from '../../src/auth/api-key.js';
import { KesClient } from '../../src/client/client.js';
import { KmsClient } from '../../src/client/kms-client.js';
import { CONTENT_SECURITY_POLICY } from '../../src/console/http.js';
import type { AccessOverview, AuditEntry, AuditProblem, KeyDetails, KeyPage, MetricsFeed, RuntimeAccess, StatusOverview } from '../../src/console/api-types.js';
import { adminClientOptions, startConsole, type TestConsole } from '../helpers/console.js';
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

/** The console's audit stream, read as it comes: its entries and problems. */
async function openAuditStream(c: TestConsole) {
  const events: AuditEntry[] = [];
  const problems: AuditProblem[] = [];
  let buffer = '';
  const req = request({ host: '127.0.0.1', port: c.port, path: '/api/audit', headers: { cookie: c.session.cookie! } });
  const headers = await new Promise<Record<string, unknown>>((resolve) =>
    req.on('response', (res) => {
      resolve(res.headers);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const m = /^event: (\w+)\ndata: (.*)$/.exec(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (m?.[1] === 'audit') events.push(JSON.parse(m[2]!) as AuditEntry);
          if (m?.[1] === 'problem') problems.push(JSON.parse(m[2]!) as AuditProblem);
        }
      });
    }).end(),
  );
  return { headers, events, problems, close: () => req.destroy() };
}

/** A console for one test, closed after it. */
async function withConsole(fn: (c: TestConsole) => Promise<void>, o: Parameters<typeof startConsole>[1] = {}): Promise<void> {
  const c = await startConsole(t, o);
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

describe('console: signing in', () => {
  it('serves the page with a strict Content-Security-Policy and no-frame, no-sniff headers', () =>
    withConsole(async (c) => {
      for (const path of ['/', '/keys', '/api/session']) {
        const answer = await c.fetch('GET', path);
        assert.equal(answer.headers['content-security-policy'], CONTENT_SECURITY_POLICY, path);
        assert.equal(answer.headers['x-frame-options'], 'DENY');
        assert.equal(answer.headers['x-content-type-options'], 'nosniff');
        assert.equal(answer.headers['referrer-policy'], 'no-referrer');
      }
      assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
      assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
      assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-(inline|eval)/);
      const page = await c.fetch('GET', '/');
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.equal(page.headers['cache-control'], 'no-store');
    }));

  it('answers only for its own host (no DNS rebinding)', () =>
    withConsole(async (c) => {
      const answer = await c.fetch('GET', '/', { headers: { host: `attacker.example:${c.port}` } });
      assert.equal(answer.status, 421);
      assert.equal((await c.fetch('GET', '/', { headers: { host: `localhost:${c.port}` } })).status, 200);
    }));

  it('refuses the API without a session, and a wrong token', () =>
    withConsole(async (c) => {
      assert.equal((await c.fetch('GET', '/api/keys')).status, 401);
      assert.equal((await c.fetch('GET', '/api/session')).status, 401);
      const wrong = await c.fetch('POST', '/api/login', { body: { token: 'not-the-token' } });
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.json(), { message: 'invalid access token' });
      assert.equal(wrong.headers['set-cookie'], undefined);
    }));

  it('exchanges the token once for an HttpOnly SameSite=Strict session cookie and a CSRF token', () =>
    withConsole(async (c) => {
      const answer = await c.login();
      assert.equal(answer.status, 200);
      const cookie = ([] as string[]).concat(answer.headers['set-cookie'] ?? [])[0] ?? '';
      assert.match(cookie, new RegExp(`^openkes_console_${c.port}=[\\w-]{43}; HttpOnly; SameSite=Strict; Path=/$`));
      assert.doesNotMatch(cookie, new RegExp(c.gate.token));
      const info = answer.json<{ csrf: string; identity: string; isAdmin: boolean; servers: string[] }>();
      assert.match(info.csrf, /^[\w-]{43}$/);
      assert.equal(info.identity, t.admin.identity);
      assert.equal(info.isAdmin, true);
      assert.deepEqual(info.servers, [`https://127.0.0.1:${t.port}`]);
      // The page reloads: the session answers the same CSRF token, and the API works.
      assert.equal((await c.fetch('GET', '/api/session')).json<{ csrf: string }>().csrf, info.csrf);
      assert.equal((await c.fetch('GET', '/api/keys')).status, 200);
      // The token is spent: a second sign-in with it fails, and says why.
      const again = await c.fetch('POST', '/api/login', { body: { token: c.gate.token }, headers: { cookie: '' } });
      assert.equal(again.status, 401);
      assert.match(again.json<{ message: string }>().message, /already been used: restart kes console/);
      // Sign-out ends the session.
      assert.equal((await c.fetch('POST', '/api/logout')).status, 204);
      assert.equal((await c.fetch('GET', '/api/keys')).status, 401);
    }));

  it('locks the sign-in after 5 wrong tokens, the right token included', () =>
    withConsole(async (c) => {
      for (let i = 0; i < 4; i++) assert.equal((await c.fetch('POST', '/api/login', { body: { token: `guess-${i}` } })).status, 401);
      assert.equal((await c.fetch('POST', '/api/login', { body: { token: 'guess-4' } })).status, 401);
      const locked = await c.login();
      assert.equal(locked.status, 429);
      assert.match(locked.json<{ message: string }>().message, /too many wrong access tokens: sign-in is locked for \d+ s/);
      assert.ok(Number(locked.headers['retry-after']) > 0);
      assert.equal(c.session.cookie, undefined);
    }));

  it('refuses a sign-in from another origin', () =>
    withConsole(async (c) => {
      const answer = await c.fetch('POST', '/api/login', { body: { token: c.gate.token }, headers: { origin: 'http://attacker.example' } });
      assert.equal(answer.status, 403);
      assert.equal((await c.login()).status, 200, 'the refused attempt did not spend the token');
    }));
});

describe('console: CSRF protection', () => {
  it('refuses state changes without the CSRF token, with a wrong one, cross-origin or not as JSON, and changes nothing', () =>
    withConsole(async (c) => {
      await c.login();
      const attempts: [string, { headers?: Record<string, string>; raw?: string }][] = [
        ['no token', { headers: { 'x-csrf-token': '' } }],
        ['wrong token', { headers: { 'x-csrf-token': 'x'.repeat(43) } }],
        ['cross-origin', { headers: { origin: 'http://attacker.example' } }],
        ['cross-site fetch', { headers: { 'sec-fetch-site': 'cross-site' } }],
        ['a form post', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, raw: 'name=csrf-key' }],
        ['a text/plain post', { headers: { 'content-type': 'text/plain' }, raw: '{"name":"csrf-key"}' }],
      ];
      for (const [what, o] of attempts) {
        const answer = await c.fetch('POST', '/api/keys', { body: { name: 'csrf-key' }, ...o });
        assert.ok(answer.status === 403 || answer.status === 415, `${what}: ${answer.status} ${answer.text}`);
      }
      await assert.rejects(kes.describeKey('csrf-key'), { code: 'KES_ERR_KEY_NOT_FOUND' });
      assert.equal((await c.fetch('POST', '/api/keys', { body: { name: 'csrf-key' } })).status, 201);
      await kes.deleteKey('csrf-key');
    }));
});

describe('console: keys', () => {
  it('creates, describes, rotates, retires a version and deletes only with the typed name', () =>
    withConsole(async (c) => {
      await c.login();
      const created = await c.fetch('POST', '/api/keys', { body: { name: 'console-a' } });
      assert.equal(created.status, 201);
      assert.equal(created.json<KeyDetails>().version, 1);
      const exists = await c.fetch('POST', '/api/keys', { body: { name: 'console-a' } });
      assert.deepEqual([exists.status, exists.json()], [400, { message: 'key already exists' }]);

      assert.deepEqual((await c.fetch('POST', '/api/keys/console-a/rotate')).json(), { version: 2 });
      const details = (await c.fetch('GET', '/api/keys/console-a')).json<KeyDetails>();
      assert.deepEqual(details.versions.map((v) => v.version), [1, 2]);
      assert.equal(details.createdBy, t.admin.identity);
      const retired = await c.fetch('DELETE', '/api/keys/console-a/versions/1');
      assert.equal(retired.status, 204, retired.text);
      assert.deepEqual((await kes.describeKey('console-a')).versions.map((v) => v.version), [2]);
      assert.equal((await c.fetch('DELETE', '/api/keys/console-a/versions/2')).status, 400, 'the only version cannot be retired');

      const wrong = await c.fetch('DELETE', '/api/keys/console-a', { body: { confirm: 'console-' } });
      assert.equal(wrong.status, 400);
      assert.equal((await kes.describeKey('console-a')).name, 'console-a', 'a wrong confirmation deletes nothing');
      assert.equal((await c.fetch('DELETE', '/api/keys/console-a', { body: { confirm: 'console-a' } })).status, 204);
      assert.equal((await c.fetch('GET', '/api/keys/console-a')).status, 404);
    }));

  it('imports key material without ever echoing it', () =>
    withConsole(async (c) => {
      await c.login();
      const material = Buffer.alloc(32, 7).toString('base64');
      const short = Buffer.alloc(16, 7).toString('base64');
      const bad = await c.fetch('POST', '/api/keys', { body: { name: 'console-imported', key: short } });
      assert.equal(bad.status, 400);
      assert.doesNotMatch(bad.text, new RegExp(short.slice(0, 8)));
      const ok = await c.fetch('POST', '/api/keys', { body: { name: 'console-imported', key: material, algorithm: 'ChaCha20' } });
      assert.equal(ok.status, 201);
      assert.doesNotMatch(ok.text, new RegExp(material.slice(0, 8)));
      assert.equal(ok.json<KeyDetails>().algorithm, 'ChaCha20');
      // The server holds exactly those bytes: a ciphertext made with them decrypts the same.
      const { plaintext, ciphertext } = await kes.generateKey('console-imported');
      assert.deepEqual(await kes.decrypt('console-imported', ciphertext), plaintext);
      await kes.deleteKey('console-imported');
    }));

  it('searches by prefix and pages through the keys in order', () =>
    withConsole(async (c) => {
      await c.login();
      const names = Array.from({ length: 125 }, (_, i) => `page-${String(i).padStart(3, '0')}`);
      await Promise.all(names.map((n) => kes.createKey(n)));
      await kes.createKey('other-key');
      const seen: string[] = [];
      let continueAt = '';
      let pages = 0;
      do {
        const page = (await c.fetch('GET', `/api/keys?prefix=page-&limit=50&continue=${encodeURIComponent(continueAt)}`)).json<KeyPage>();
        assert.ok(page.keys.length <= 50);
        seen.push(...page.keys.map((k) => k.name));
        continueAt = page.continueAt;
        pages++;
      } while (continueAt !== '');
      assert.equal(pages, 3);
      assert.deepEqual(seen, names);
      const one = (await c.fetch('GET', '/api/keys?prefix=page-12')).json<KeyPage>();
      assert.deepEqual(one.keys.map((k) => k.name), ['page-120', 'page-121', 'page-122', 'page-123', 'page-124']);
      assert.equal((await c.fetch('GET', '/api/keys?limit=0')).status, 400);
      for (const n of [...names, 'other-key']) await kes.deleteKey(n);
    }));

  it('passes the server\'s refusals through with its message', () =>
    withConsole(async (c) => {
      await c.login();
      const invalid = await c.fetch('POST', '/api/keys', { body: { name: 'bad/name' } });
      assert.equal(invalid.status, 400);
      assert.equal((await c.fetch('GET', '/api/keys/no-such-key')).status, 404);
      assert.deepEqual((await c.fetch('GET', '/api/keys/no-such-key')).json(), { message: 'key does not exist' });
      assert.equal((await c.fetch('POST', '/api/keys', { raw: '{"name":' })).status, 400);
      assert.equal((await c.fetch('POST', '/api/keys', { body: { name: 5 } })).status, 400);
    }));
});

describe('console: access, status, metrics, audit', () => {
  it('shows the admin and edits the runtime policies and identities of an enclave', () =>
    withConsole(async (c) => {
      await c.login();
      const overview = (await c.fetch('GET', '/api/access')).json<AccessOverview>();
      assert.equal(overview.admin, t.admin.identity);
      assert.equal(overview.self.isAdmin, true);
      assert.ok(overview.enclaves.includes('default'));
      const kms = new KmsClient({ ...adminClientOptions(t), enclave: '' });
      await kms.createEnclave('console-tenant');
      try {
        assert.ok((await c.fetch('GET', '/api/access')).json<AccessOverview>().enclaves.includes('console-tenant'));
        const policy = await c.fetch('PUT', '/api/enclaves/console-tenant/policies/minio', { body: { allow: { 'KEY:GENERATE': ['minio-*'] }, deny: {} } });
        assert.equal(policy.status, 204);
        const identity = 'a'.repeat(64);
        const put = await c.fetch('PUT', `/api/enclaves/console-tenant/identities/${identity}`, { body: { privilege: 'User', policy: 'minio' } });
        assert.equal(put.status, 204, put.text);
        const runtime = (await c.fetch('GET', '/api/enclaves/console-tenant/access')).json<RuntimeAccess>();
        assert.deepEqual(runtime.policies.map((p) => [p.name, p.allow]), [['minio', { 'KEY:GENERATE': ['minio-*'] }]]);
        assert.equal(runtime.identities.length, 1);
        assert.equal(runtime.identities[0]!.privilege, 'User');
        assert.equal(runtime.identities[0]!.policy, 'minio');
        assert.equal((await c.fetch('PUT', `/api/enclaves/console-tenant/identities/${identity}`, { body: { privilege: 'Root' } })).status, 400);
        const deleted = await c.fetch('DELETE', `/api/enclaves/console-tenant/identities/${identity}`);
        assert.equal(deleted.status, 204, deleted.text);
        assert.equal((await c.fetch('DELETE', '/api/enclaves/console-tenant/policies/minio')).status, 204);
        assert.deepEqual((await c.fetch('GET', '/api/enclaves/console-tenant/access')).json<RuntimeAccess>(), { enclave: 'console-tenant', policies: [], identities: [] });
      } finally {
        await kms.deleteEnclave('console-tenant');
        kms.close();
      }
    }));

  it('reports each server: online with key store and cache, or offline with the reason', async () => {
    const closed = await startTestServer();
    const port = closed.port;
    await closed.close();
    await withConsole(
      async (c) => {
        await c.login();
        await kes.createKey('status-key');
        await kes.generateKey('status-key');
        const { servers } = (await c.fetch('GET', '/api/status')).json<StatusOverview>();
        assert.equal(servers.length, 2);
        const [up, down] = servers as [StatusOverview['servers'][0], StatusOverview['servers'][0]];
        assert.equal(up.online, true);
        assert.equal(up.keyStore?.state, 'online');
        assert.ok((up.keyStore?.latencyMs ?? -1) >= 0);
        assert.ok(up.cache !== undefined && up.cache.hits + up.cache.misses > 0);
        assert.ok((up.uptime ?? -1) >= 0);
        assert.equal(down.online, false);
        assert.match(down.error ?? '', /connection refused/);
        await kes.deleteKey('status-key');
      },
      { extraEndpoints: [`https://127.0.0.1:${port}`] },
    );
  });

  it('samples request rates by outcome and latency percentiles', () =>
    withConsole(async (c) => {
      await c.login();
      // Scraped by hand: the page's first request starts the feed's own timer.
      await c.backend.metrics.scrape();
      await kes.createKey('metrics-key');
      for (let i = 0; i < 20; i++) await kes.generateKey('metrics-key');
      await assert.rejects(kes.describeKey('metrics-missing'));
      await c.backend.metrics.scrape();
      const [sample] = (await c.fetch('GET', '/api/metrics?since=0')).json<MetricsFeed>().servers[0]!.samples;
      assert.ok(sample);
      assert.ok(sample.success > 0 && sample.error > 0 && sample.failure === 0, JSON.stringify(sample));
      assert.ok(sample.p50 !== null && sample.p99 !== null && sample.p50 > 0 && sample.p50 <= sample.p99, JSON.stringify(sample));
      assert.deepEqual((await c.fetch('GET', `/api/metrics?since=${sample.time}`)).json<MetricsFeed>().servers[0]!.samples, []);
      await kes.deleteKey('metrics-key');
    }));

  it('streams audit events as Server-Sent Events, to signed-in pages only', () =>
    withConsole(async (c) => {
      const refused = await c.fetch('GET', '/api/audit');
      assert.equal(refused.status, 401);
      await c.login();
      const stream = await openAuditStream(c);
      try {
        assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
        const deadline = Date.now() + 10_000;
        let found: AuditEntry | undefined;
        while (!found && Date.now() < deadline) {
          await assert.rejects(kes.describeKey('audited-key'));
          await new Promise((r) => setTimeout(r, 100));
          found = stream.events.find((e) => e.path === '/v1/key/describe/audited-key');
        }
        assert.ok(found, `no audit event: ${JSON.stringify(stream.events)}`);
        assert.equal(found.status, 404);
        assert.equal(found.identity, t.admin.identity);
        assert.equal(found.server, `https://127.0.0.1:${t.port}`);
        assert.deepEqual(stream.problems, []);
      } finally {
        stream.close();
      }
    }));

  it('tells the page when a server refuses the audit stream to the operator', async () => {
    const reader = ApiKey.generate();
    const other = await startTestServer((config) => {
      config.policies = { reader: { allow: ['/v1/identity/self/describe', '/v1/key/list/*'], deny: [], identities: [reader.identity] } };
    });
    const c = await startConsole(other, { client: { endpoints: [`https://127.0.0.1:${other.port}`], apiKey: reader, ca: [other.pki.ca.certPem] } });
    try {
      await c.login();
      const stream = await openAuditStream(c);
      try {
        const deadline = Date.now() + 10_000;
        while (stream.problems.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(stream.problems, [{ server: `https://127.0.0.1:${other.port}`, message: 'not authorized: insufficient permissions' }]);
      } finally {
        stream.close();
      }
    } finally {
      await c.close();
      await other.close();
    }
  });

  it('serves only the built files by name', () =>
    withConsole(async (c) => {
      assert.equal((await c.fetch('GET', '/app.js')).status, 200);
      assert.match(String((await c.fetch('GET', '/app.js')).headers['content-type']), /^text\/javascript/);
      for (const path of ['/../package.json', '/%2e%2e/package.json', '/nothing.js']) assert.equal((await c.fetch('GET', path)).status, 404, path);
      assert.equal((await c.fetch('POST', '/', { body: {} })).status, 405);
    }));
});
