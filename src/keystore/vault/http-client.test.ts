import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VaultConfig } from './config.js';
import { KeyStoreUnreachableError } from '../keystore.js';
import { createTestPki, type TestPki } from '../../../test/helpers/certs.js';
import { FakeVault } from '../../../test/helpers/fake-vault.js';
import { VaultHttpClient } from './http-client.js';
import { VaultKeyStore } from './vault.js';

const unreachable = (pattern: RegExp) => (err: unknown) => err instanceof KeyStoreUnreachableError && pattern.test((err as Error).message);

function open(fake: FakeVault | string, overrides: Partial<VaultConfig> = {}): Promise<VaultKeyStore> {
  const endpoint = typeof fake === 'string' ? fake : fake.url;
  return VaultKeyStore.connect({ type: 'vault', endpoint, engine: 'kv', version: 'v1', token: 'root', statusPingMs: 60_000, ...overrides }, { retryMs: 50 });
}

describe('Vault HTTP failures', () => {
  let fake: FakeVault;
  before(async () => {
    fake = await FakeVault.start();
  });
  after(() => fake.close());

  test('a request without an answer fails as unreachable after the timeout', async () => {
    const store = await open(fake, { prefix: 'hang', timeoutMs: 300 });
    try {
      fake.hangNext(1, /\/v1\/kv\/hang\//);
      await assert.rejects(store.get('k'), unreachable(/^vault: failed to get 'k': GET \/v1\/kv\/hang\/k: no answer within 300 ms$/));
      fake.hangNext(1, /sys\/health/);
      await assert.rejects(store.status(), unreachable(/^vault: health check failed: GET \/v1\/sys\/health: no answer within 300 ms$/));
      await store.create('k', Buffer.from('v')); // the next requests are answered
    } finally {
      fake.clearFaults();
      await store.close();
    }
  });

  test('a slow Vault within the timeout is fine', async () => {
    const store = await open(fake, { prefix: 'slow', timeoutMs: 5_000 });
    try {
      fake.delayMs = 50;
      await store.create('k', Buffer.from('v'));
    } finally {
      fake.delayMs = 0;
      await store.close();
    }
  });

  test('a dropped connection is unreachable', async () => {
    const store = await open(fake, { prefix: 'drop' });
    try {
      fake.dropNext(1, /\/v1\/kv\/drop\//);
      await assert.rejects(store.get('k'), unreachable(/^vault: failed to get 'k': GET \/v1\/kv\/drop\/k: ECONNRESET socket hang up$/));
    } finally {
      await store.close();
    }
  });

  test('a refused connection is unreachable; connect still succeeds and recovers when Vault is back', async () => {
    const spare = await FakeVault.start();
    const url = spare.url;
    const port = Number(new URL(url).port);
    await spare.close();
    fake.addAppRole({ roleId: 'back', secretId: 'back-secret' });
    const store = await open(url, { token: undefined, approle: { engine: 'approle', id: 'back', secret: 'back-secret' } });
    let revived: FakeVault | undefined;
    try {
      await assert.rejects(store.status(), unreachable(/^vault: health check failed: GET \/v1\/sys\/health: .*ECONNREFUSED/));
      await assert.rejects(store.get('k'), unreachable(/^vault: failed to get 'k': POST \/v1\/auth\/approle\/login: .*ECONNREFUSED/));
      revived = await FakeVault.start({ port });
      revived.addAppRole({ roleId: 'back', secretId: 'back-secret' });
      await store.status();
      await store.create('k', Buffer.from('v'));
      assert.equal(revived.getSecret('kv', 'k')?.k, 'v');
    } finally {
      await store.close();
      await revived?.close();
    }
  });

  const statuses: Array<[number, boolean]> = [
    [429, true],
    [502, true],
    [503, true],
    [504, true],
    [500, false],
    [400, false],
    [404, false],
  ];
  for (const [status, isUnreachable] of statuses) {
    test(`an answer ${status} to a read is ${isUnreachable ? 'unreachable' : 'an error'}`, async () => {
      const store = await open(fake, { prefix: `status-${status}` });
      try {
        fake.failNext(1, status, ['something happened'], /\/v1\/kv\/status-/);
        await assert.rejects(store.get('k'), (err: Error) => {
          assert.equal(err instanceof KeyStoreUnreachableError, isUnreachable, err.message);
          assert.equal(err.message, `vault: failed to get 'k': ${status} something happened`);
          return true;
        });
      } finally {
        fake.clearFaults();
        await store.close();
      }
    });
  }

  test('a proxy error page (not JSON) is unreachable for 5xx', async () => {
    const proxy: Server = createServer((_, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const client = new VaultHttpClient(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, { timeoutMs: 5_000 });
    try {
      await assert.rejects(client.send({ method: 'GET', path: '/v1/sys/health' }), unreachable(/status 502 with a body that is not JSON/));
    } finally {
      client.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  test('secrets never appear in error messages', async () => {
    const value = 'entry-value-do-not-log';
    fake.addAppRole({ roleId: 'quiet', secretId: 'secret-do-not-log' });
    const store = await open(fake, { prefix: 'quiet', token: undefined, approle: { engine: 'approle', id: 'quiet', secret: 'secret-do-not-log' } });
    const messages: string[] = [];
    const collect = (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => void messages.push(e.message, String(e.cause ?? '')));
    try {
      const token = fake.requestsTo(/approle\/login/).length;
      for (const status of [400, 403, 500, 503]) {
        fake.failNext(2, status, ['failed'], /\/v1\/(kv|auth)\//);
        await collect(store.create('k', Buffer.from(value)));
        await collect(store.get('k'));
      }
      fake.failNext(3, 400, ['invalid role or secret ID'], /approle\/login/);
      fake.revoke();
      await collect(store.get('k'));
      assert.ok(fake.requestsTo(/approle\/login/).length > token);
      const issued = fake.requests.map((r) => r.token).filter((t): t is string => t !== undefined);
      for (const m of messages) {
        for (const secret of [value, 'secret-do-not-log', ...issued]) assert.ok(!m.includes(secret), `${m} contains a secret`);
      }
      assert.ok(messages.length > 8);
    } finally {
      fake.clearFaults();
      await store.close();
    }
  });

  test('the endpoint must be an http(s) URL', async () => {
    await assert.rejects(open('vault:8200'), /^Error: vault: endpoint 'vault:8200' must be an http:\/\/ or https:\/\/ URL$/);
    await assert.rejects(open('not a url'), /^Error: vault: endpoint 'not a url' is not a URL$/);
  });
});

describe('Vault over TLS', () => {
  let pki: TestPki;
  let fake: FakeVault;
  let dir: string;
  let files: { caFile: string; caDir: string; certFile: string; keyFile: string };
  before(async () => {
    pki = createTestPki();
    fake = await FakeVault.start({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, clientCaPem: pki.ca.certPem } });
    dir = mkdtempSync(join(tmpdir(), 'kes-vault-tls-'));
    const client = pki.client({ commonName: 'kes' });
    const caDir = join(dir, 'cas');
    mkdirSync(caDir);
    files = { caFile: join(dir, 'ca.pem'), caDir, certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') };
    writeFileSync(files.caFile, pki.ca.certPem);
    writeFileSync(join(caDir, 'ca.pem'), pki.ca.certPem);
    writeFileSync(join(caDir, 'README'), 'not a certificate');
    writeFileSync(files.certFile, client.certPem);
    writeFileSync(files.keyFile, client.keyPem, { mode: 0o600 });
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const ca of ['file', 'directory'] as const) {
    test(`mTLS with the CA from a ${ca}`, async () => {
      const store = await open(fake, { tls: { certFile: files.certFile, keyFile: files.keyFile, caPath: ca === 'file' ? files.caFile : files.caDir } });
      try {
        await store.status();
        await store.create(`k-${ca}`, Buffer.from('v'));
        assert.equal(fake.requests.at(-1)!.clientCert, true);
      } finally {
        await store.close();
      }
    });
  }

  test('without a client certificate the handshake fails: unreachable', async () => {
    const store = await open(fake, { tls: { caPath: files.caFile } });
    try {
      await assert.rejects(store.status(), (err: unknown) => err instanceof KeyStoreUnreachableError);
    } finally {
      await store.close();
    }
  });

  test('an unknown server CA fails: unreachable', async () => {
    const store = await open(fake, { tls: { certFile: files.certFile, keyFile: files.keyFile } });
    try {
      await assert.rejects(store.status(), unreachable(/self-signed certificate in certificate chain|unable to verify|SELF_SIGNED/i));
    } finally {
      await store.close();
    }
  });

  test('unreadable TLS files fail the connect', async () => {
    await assert.rejects(open(fake, { tls: { caPath: join(dir, 'missing.pem') } }), /^TlsFileError: vault: cannot read the CA certificates '.*missing\.pem': no such file or directory$/);
    await assert.rejects(open(fake, { tls: { caPath: join(dir, 'client.key') } }), /^TlsFileError: vault: no CA certificate found in/);
  });
});
