import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { VaultConfig } from './config.js';
import { KeyStoreUnreachableError } from '../keystore.js';
import { FakeVault } from '../../../test/helpers/fake-vault.js';
import { VaultKeyStore } from './vault.js';

const SEALED = (err: unknown) => err instanceof KeyStoreUnreachableError && err.message === 'vault: key store is sealed';
const UNINITIALIZED = (err: unknown) => err instanceof KeyStoreUnreachableError && err.message === 'vault: key store is not initialized';

function open(fake: FakeVault, overrides: Partial<VaultConfig> = {}): Promise<VaultKeyStore> {
  return VaultKeyStore.connect({ type: 'vault', endpoint: fake.url, engine: 'kv', version: 'v1', token: fake.rootToken, statusPingMs: 60_000, ...overrides }, { retryMs: 50 });
}

/** Retries fn until it resolves (bounded, for background effects; not a speed assertion). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('VaultKeyStore: sealed, uninitialised and standby Vaults', () => {
  let fake: FakeVault;
  before(async () => {
    fake = await FakeVault.start();
  });
  after(() => fake.close());

  test('status reports the health check round trip, without a token or namespace', async () => {
    const store = await open(fake, { namespace: 'ns' });
    try {
      const { latencyMs } = await store.status();
      assert.ok(latencyMs >= 0 && Number.isFinite(latencyMs));
      const check = fake.requestsTo(/^\/v1\/sys\/health$/).at(-1)!;
      assert.equal(check.token, undefined);
      assert.equal(check.namespace, undefined);
    } finally {
      await store.close();
    }
  });

  test('sealed: status and every operation fail as unreachable, operations without a request; unseal recovers', async () => {
    const store = await open(fake, { prefix: 'sealed' });
    try {
      await store.create('k', Buffer.from('v'));
      fake.seal();
      await assert.rejects(store.status(), SEALED);
      const seen = fake.requests.length;
      await assert.rejects(store.get('k'), SEALED);
      await assert.rejects(store.create('k2', Buffer.from('v')), SEALED);
      await assert.rejects(store.delete('k'), SEALED);
      await assert.rejects(async () => {
        for await (const _ of store.list('')) void _;
      }, SEALED);
      assert.equal(fake.requests.length, seen, 'no request while sealed');
      fake.unseal();
      await store.status();
      assert.equal(Buffer.from(await store.get('k')).toString(), 'v');
    } finally {
      fake.unseal();
      await store.close();
    }
  });

  test('the background check every status.ping finds the seal and the unseal', async () => {
    const store = await open(fake, { prefix: 'ping', statusPingMs: 20 });
    try {
      await store.create('k', Buffer.from('v'));
      fake.seal();
      // Once the background check has seen the seal, operations fail without reaching Vault.
      await eventually(async () => {
        const before = fake.requests.filter((r) => r.path.startsWith('/v1/kv/')).length;
        await assert.rejects(store.get('k'), SEALED);
        assert.equal(fake.requests.filter((r) => r.path.startsWith('/v1/kv/')).length, before);
      });
      fake.unseal();
      assert.equal(Buffer.from(await eventually(() => store.get('k'))).toString(), 'v');
    } finally {
      fake.unseal();
      await store.close();
    }
  });

  test('an operation refused with 503 "Vault is sealed" blocks the next ones until a check sees Vault unsealed', async () => {
    const store = await open(fake, { prefix: 'op-sealed' });
    try {
      fake.seal();
      await assert.rejects(store.get('k'), SEALED);
      const seen = fake.requests.length;
      await assert.rejects(store.get('k'), SEALED);
      assert.equal(fake.requests.length, seen);
      fake.unseal();
      await store.status();
      await store.create('k', Buffer.from('v'));
    } finally {
      fake.unseal();
      await store.close();
    }
  });

  test('sealed at start: connect succeeds, the login is retried after the unseal', async () => {
    fake.addAppRole({ roleId: 'late', secretId: 's3cr3t' });
    fake.seal();
    const store = await open(fake, { prefix: 'late', token: undefined, approle: { engine: 'approle', id: 'late', secret: 's3cr3t' } });
    try {
      await assert.rejects(store.status(), SEALED);
      await assert.rejects(store.get('k'), SEALED);
      fake.unseal();
      await store.status();
      await store.create('k', Buffer.from('v'));
      assert.match(fake.requestsTo(/^\/v1\/kv\/late\/k$/).at(-1)!.token ?? '', /^hvs\./);
    } finally {
      fake.unseal();
      await store.close();
    }
  });

  test('not initialised: unreachable', async () => {
    const store = await open(fake, { prefix: 'uninit' });
    try {
      fake.initialized = false;
      await assert.rejects(store.status(), UNINITIALIZED);
      await assert.rejects(store.get('k'), UNINITIALIZED);
    } finally {
      fake.initialized = true;
      await store.close();
    }
  });

  const reachable: Array<[string, Partial<FakeVault>]> = [
    ['a standby (429)', { standby: true }],
    ['a performance standby (473)', { performanceStandby: true }],
    ['a disaster recovery secondary (472)', { drSecondary: true }],
  ];
  for (const [title, state] of reachable) {
    test(`${title} is reachable`, async () => {
      const store = await open(fake);
      try {
        Object.assign(fake, state);
        const before = fake.requestsTo(/sys\/health/).length;
        await store.status();
        assert.equal(fake.requestsTo(/sys\/health/).length, before + 1);
      } finally {
        Object.assign(fake, { standby: false, performanceStandby: false, drSecondary: false });
        await store.close();
      }
    });
  }

  const statuses: Array<[number, (err: unknown) => boolean]> = [
    [474, (err) => err instanceof KeyStoreUnreachableError && /cannot reach the active node/.test((err as Error).message)],
    [530, (err) => err instanceof KeyStoreUnreachableError && /removed from its cluster/.test((err as Error).message)],
    [500, (err) => !(err instanceof KeyStoreUnreachableError) && /^vault: health check failed: unexpected status 500$/.test((err as Error).message)],
  ];
  for (const [status, check] of statuses) {
    test(`a health answer ${status} fails the status check`, async () => {
      const store = await open(fake);
      try {
        fake.failNext(1, status, [], /sys\/health/);
        await assert.rejects(store.status(), check);
        await store.status();
      } finally {
        fake.clearFaults();
        await store.close();
      }
    });
  }

  test('status fails while Vault refuses the credentials', async () => {
    fake.addAppRole({ roleId: 'rotating', secretId: 'first-secret' });
    const store = await open(fake, { token: undefined, prefix: 'refused', approle: { engine: 'approle', id: 'rotating', secret: 'first-secret' } });
    try {
      fake.revoke();
      fake.failNext(5, 400, ['invalid role or secret ID'], /approle\/login/);
      await assert.rejects(store.get('k'), /^Error: vault: failed to get 'k': 400 approle login failed; invalid role or secret ID$/);
      await assert.rejects(store.status(), /^Error: vault: not authenticated: 400 approle login failed; invalid role or secret ID$/);
      fake.clearFaults();
      await eventually(() => store.status());
    } finally {
      fake.clearFaults();
      await store.close();
    }
  });
});
