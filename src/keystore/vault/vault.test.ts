import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isKesError } from '../../api/errors.js';
import type { VaultConfig } from './config.js';
import { parseKeyVersion } from '../../crypto/key-version.js';
import { KeyStoreConflictError, listAll } from '../keystore.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { FakeVault } from '../../../test/helpers/fake-vault.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../../../test/helpers/vectors.js';
import { VaultKeyStore, type VaultKeyStoreOptions } from './vault.js';
import { BASE64_MARKER } from './entry-encoding.js';

/** A store on the fake with the root token; overrides change the config. */
export function storeOn(fake: FakeVault, overrides: Partial<VaultConfig> = {}, options: VaultKeyStoreOptions = {}): Promise<VaultKeyStore> {
  const config: VaultConfig = { type: 'vault', endpoint: fake.url, engine: 'kv', version: 'v1', token: fake.rootToken, statusPingMs: 60_000, ...overrides };
  return VaultKeyStore.connect(config, { retryMs: 50, ...options });
}

const isNotFound = (err: unknown) => isKesError(err, 'KES_ERR_KEY_NOT_FOUND');
const isExists = (err: unknown) => isKesError(err, 'KES_ERR_KEY_EXISTS');
const isConflict = (err: unknown) => err instanceof KeyStoreConflictError;

/** Only KV v2 replaces entries (with check-and-set); a store on KV v1 has no replace. */
const KV_V1_NO_REPLACE = 'KV v1 has no compare-and-swap';

function conformance(name: string, manyKeys: number, overrides: Partial<VaultConfig>, fakeOptions: Parameters<typeof FakeVault.start>[0] = {}, options: VaultKeyStoreOptions = {}) {
  describeKeyStore(name, async () => {
    const fake = await FakeVault.start(fakeOptions);
    try {
      return { store: await storeOn(fake, overrides, options), cleanup: () => fake.close() };
    } catch (err) {
      await fake.close();
      throw err;
    }
  }, { manyKeys, noReplace: overrides.version === 'v1' ? KV_V1_NO_REPLACE : undefined });
}

conformance('vault KV v1', 500, { version: 'v1' });
// OpenBao pages its listings: a small page makes the large listing take many requests.
conformance('vault KV v2 (paginated lists)', 1500, { version: 'v2', engine: 'kv2', prefix: 'tenant-1' }, { paginate: true }, { listPageSize: 97 });
conformance(
  'vault KV v2 with transit, in a namespace',
  300,
  { version: 'v2', engine: 'secrets', namespace: 'ns1', transit: { engine: 'transit', key: 'kes' } },
  { mounts: [{ path: 'secrets', type: 'kv-v2', namespace: 'ns1' }, { path: 'transit', type: 'transit', namespace: 'ns1' }] },
);

describe('VaultKeyStore: KES storage layout', () => {
  let fake: FakeVault;
  before(async () => {
    fake = await FakeVault.start({ mounts: [{ path: 'secret', type: 'kv-v2', namespace: 'team' }] });
  });
  after(() => fake.close());

  test('KV v1: PUT <engine>/<prefix>/<name> with {"<name>": "<entry>"}', async () => {
    const store = await storeOn(fake, { prefix: '/tenant-1/' });
    try {
      await store.create('my-key', Buffer.from(PROTOBUF_ENTRY));
      const put = fake.requests.filter((r) => r.method === 'PUT').at(-1)!;
      assert.equal(put.path, '/v1/kv/tenant-1/my-key');
      assert.deepEqual(put.body, { 'my-key': PROTOBUF_ENTRY });
      assert.deepEqual(fake.getSecret('kv', 'tenant-1/my-key'), { 'my-key': PROTOBUF_ENTRY });
      const list = fake.requests.length;
      assert.deepEqual(await listAll(store), ['my-key']);
      assert.equal(fake.requests[list]!.path, '/v1/kv/tenant-1/');
      assert.equal(fake.requests[list]!.query.list, 'true');
    } finally {
      await store.close();
    }
  });

  test('KV v2: PUT <engine>/data/<prefix>/<name> with cas 0, DELETE <engine>/metadata/…, LIST metadata', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'secret', namespace: 'team', prefix: 'tenant-2' });
    try {
      await store.create('my-key', Buffer.from(PROTOBUF_ENTRY));
      const put = fake.requests.filter((r) => r.method === 'PUT').at(-1)!;
      assert.equal(put.path, '/v1/secret/data/tenant-2/my-key');
      assert.equal(put.namespace, 'team');
      assert.deepEqual(put.body, { options: { cas: 0 }, data: { 'my-key': PROTOBUF_ENTRY } });
      assert.deepEqual(await listAll(store), ['my-key']);
      assert.equal(fake.requests.at(-1)!.path, '/v1/secret/metadata/tenant-2/');
      await store.delete('my-key');
      assert.equal(fake.requests.at(-1)!.method, 'DELETE');
      assert.equal(fake.requests.at(-1)!.path, '/v1/secret/metadata/tenant-2/my-key');
      assert.equal(fake.secretVersions('secret', 'tenant-2/my-key', 'team'), undefined, 'every version is gone');
    } finally {
      await store.close();
    }
  });

  for (const version of ['v1', 'v2'] as const) {
    test(`${version}: keys written by KES are read, through the store and as key versions`, async () => {
      const engine = version === 'v1' ? 'kv' : 'kv2';
      const legacy = '{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}';
      fake.putSecret(engine, `kes-${version}/minio-key`, { 'minio-key': PROTOBUF_ENTRY });
      fake.putSecret(engine, `kes-${version}/legacy-key`, { 'legacy-key': legacy });
      const store = await storeOn(fake, { version, engine, prefix: `kes-${version}` });
      try {
        assert.equal(Buffer.from(await store.get('minio-key')).toString(), PROTOBUF_ENTRY);
        const v = parseKeyVersion(await store.get('minio-key'));
        assert.equal(v.createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
        assert.equal(v.key.bytes().toString('base64'), PROTOBUF_ENTRY_FIELDS.key);
        assert.equal(parseKeyVersion(await store.get('legacy-key')).key.type, 'AES256');
        assert.deepEqual(await listAll(store), ['legacy-key', 'minio-key']);
        await assert.rejects(store.create('minio-key', Buffer.from('x')), isExists);
      } finally {
        await store.close();
      }
    });
  }

  test('KV v2 reads the current version, not version 1', async () => {
    fake.putSecret('kv2', 'versions/k', { k: 'first' });
    fake.putSecret('kv2', 'versions/k', { k: 'second' });
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'versions' });
    try {
      assert.equal(Buffer.from(await store.get('k')).toString(), 'second');
      assert.equal(fake.requests.at(-1)!.query.version, undefined);
    } finally {
      await store.close();
    }
  });

  test('KV v2: a soft-deleted current version is a missing key that can be created again', async () => {
    fake.putSecret('kv2', 'soft/k', { k: 'old' });
    fake.softDelete('kv2', 'soft/k');
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'soft' });
    try {
      await assert.rejects(store.get('k'), isNotFound);
      await store.create('k', Buffer.from('new'));
      assert.equal(Buffer.from(await store.get('k')).toString(), 'new');
      assert.deepEqual(fake.secretVersions('kv2', 'soft/k'), { current: 2, versions: 2 });
      await assert.rejects(store.create('k', Buffer.from('newer')), isExists);
    } finally {
      await store.close();
    }
  });

  test('values that are not UTF-8 are stored marked as base64; UTF-8 values verbatim', async () => {
    const store = await storeOn(fake, { prefix: 'binary' });
    try {
      await store.create('bin', Buffer.from([0xff, 0x00, 0xfe]));
      assert.deepEqual(fake.getSecret('kv', 'binary/bin'), { bin: `${BASE64_MARKER}/wD+` });
      await store.create('text', Buffer.from('\ufeffplain ✓'));
      assert.deepEqual(fake.getSecret('kv', 'binary/text'), { text: '\ufeffplain ✓' });
      for (const tricky of [`${BASE64_MARKER}AAAA`, 'vault:v1:abc']) {
        await store.create('tricky', Buffer.from(tricky));
        assert.equal(Buffer.from(await store.get('tricky')).toString(), tricky);
        await store.delete('tricky');
      }
      assert.deepEqual([...(await store.get('bin'))], [0xff, 0x00, 0xfe]);
    } finally {
      await store.close();
    }
  });

  test('names that are not one secret are refused: create fails, get and delete find nothing', async () => {
    const store = await storeOn(fake, { prefix: 'names' });
    try {
      for (const name of ['', '.', '..', 'a/b', '../x']) {
        await assert.rejects(store.create(name, Buffer.from('x')), /^Error: vault: key name .* cannot be a Vault secret name$/);
        await assert.rejects(store.get(name), isNotFound);
        await assert.rejects(store.delete(name), isNotFound);
      }
      assert.deepEqual(fake.secretPaths('kv').filter((p) => p.startsWith('names')), []);
    } finally {
      await store.close();
    }
  });

  test('listing skips sub-folders and keeps only the prefix', async () => {
    fake.putSecret('kv', 'folders/a-1', { 'a-1': 'x' });
    fake.putSecret('kv', 'folders/a-2', { 'a-2': 'x' });
    fake.putSecret('kv', 'folders/b', { b: 'x' });
    fake.putSecret('kv', 'folders/a-sub/deep', { deep: 'x' });
    const store = await storeOn(fake, { prefix: 'folders' });
    try {
      assert.deepEqual(await listAll(store), ['a-1', 'a-2', 'b']);
      assert.deepEqual(await listAll(store, 'a-'), ['a-1', 'a-2']);
      assert.deepEqual(await listAll(store, 'c'), []);
    } finally {
      await store.close();
    }
  });

  test('a secret without the key-named field is an error, not a missing key', async () => {
    fake.putSecret('kv', 'foreign/k', { value: 'not KES' });
    const store = await storeOn(fake, { prefix: 'foreign' });
    try {
      await assert.rejects(store.get('k'), (err: Error) => !isNotFound(err) && /^vault: failed to get 'k': the secret has no string field 'k'/.test(err.message));
    } finally {
      await store.close();
    }
  });
});

describe('VaultKeyStore: replace (compare-and-swap)', () => {
  let fake: FakeVault;
  before(async () => {
    fake = await FakeVault.start();
  });
  after(() => fake.close());

  test('KV v1: the store has no replace property at all; KV v2: it has', async () => {
    const v1 = await storeOn(fake, { version: 'v1', prefix: 'no-cas' });
    const v2 = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'cas' });
    try {
      assert.equal('replace' in v1, false);
      assert.equal(v1.replace, undefined);
      assert.equal(typeof v2.replace, 'function');
    } finally {
      await v1.close();
      await v2.close();
    }
  });

  test('KV v2: reads the current version, then writes with cas = that version', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'swap' });
    try {
      fake.putSecret('kv2', 'swap/k', { k: 'zero' });
      fake.putSecret('kv2', 'swap/k', { k: PROTOBUF_ENTRY });
      const before = fake.requests.length;
      await store.replace!('k', Buffer.from(PROTOBUF_ENTRY), Buffer.from('next entry'));
      const [read, write] = fake.requests.slice(before);
      assert.deepEqual([read!.method, read!.path, read!.query.version], ['GET', '/v1/kv2/data/swap/k', undefined]);
      assert.deepEqual([write!.method, write!.path], ['PUT', '/v1/kv2/data/swap/k']);
      assert.deepEqual(write!.body, { options: { cas: 2 }, data: { k: 'next entry' } });
      assert.equal(fake.requests.length, before + 2);
      assert.deepEqual(fake.secretVersions('kv2', 'swap/k'), { current: 3, versions: 3 });
      // A value that is not UTF-8 is compared and written in the store's entry encoding.
      await store.replace!('k', Buffer.from('next entry'), Buffer.from([0xff, 0x00]));
      assert.deepEqual(fake.getSecret('kv2', 'swap/k'), { k: `${BASE64_MARKER}/wA=` });
      await store.replace!('k', Buffer.from([0xff, 0x00]), Buffer.from('back'));
      assert.equal(Buffer.from(await store.get('k')).toString(), 'back');
    } finally {
      await store.close();
    }
  });

  test('KV v2: a stale expectation writes nothing', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'stale' });
    try {
      await store.create('k', Buffer.from('current'));
      await assert.rejects(store.replace!('k', Buffer.from('old'), Buffer.from('new')), (err: Error) => isConflict(err) && err.message === "vault: 'k' was changed by another writer");
      assert.deepEqual(fake.secretVersions('kv2', 'stale/k'), { current: 1, versions: 1 });
    } finally {
      await store.close();
    }
  });

  test('KV v2: another writer between the read and the write → conflict, its value stays', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'race' });
    try {
      await store.create('k', Buffer.from('one'));
      fake.beforeServe = (req) => {
        if (req.method !== 'PUT' || req.path !== '/v1/kv2/data/race/k') return;
        fake.beforeServe = undefined;
        fake.putSecret('kv2', 'race/k', { k: 'theirs' });
      };
      await assert.rejects(store.replace!('k', Buffer.from('one'), Buffer.from('mine')), isConflict);
      assert.equal(Buffer.from(await store.get('k')).toString(), 'theirs');
      assert.deepEqual(fake.secretVersions('kv2', 'race/k'), { current: 2, versions: 2 });
    } finally {
      fake.beforeServe = undefined;
      await store.close();
    }
  });

  test('KV v2: the expected value written back between the read and the write → swapped on the new version', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'aba' });
    try {
      await store.create('k', Buffer.from('one'));
      fake.beforeServe = (req) => {
        if (req.method !== 'PUT' || req.path !== '/v1/kv2/data/aba/k') return;
        fake.beforeServe = undefined;
        fake.putSecret('kv2', 'aba/k', { k: 'theirs' });
        fake.putSecret('kv2', 'aba/k', { k: 'one' });
      };
      await store.replace!('k', Buffer.from('one'), Buffer.from('two'));
      assert.equal(Buffer.from(await store.get('k')).toString(), 'two');
      const writes = fake.requests.filter((r) => r.method === 'PUT' && r.path === '/v1/kv2/data/aba/k').map((r) => (r.body as { options: { cas: number } }).options.cas);
      assert.deepEqual(writes, [0, 1, 3]);
    } finally {
      fake.beforeServe = undefined;
      await store.close();
    }
  });

  test('KV v2: a key deleted between the read and the write is not found, and not created again', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'vanish' });
    try {
      await store.create('k', Buffer.from('one'));
      fake.beforeServe = (req) => {
        if (req.method !== 'PUT' || req.path !== '/v1/kv2/data/vanish/k') return;
        fake.beforeServe = undefined;
        fake.deleteMetadata('kv2', 'vanish/k'); // as the store's own delete does
      };
      await assert.rejects(store.replace!('k', Buffer.from('one'), Buffer.from('two')), isNotFound);
      assert.equal(fake.secretVersions('kv2', 'vanish/k'), undefined, 'nothing was created');
    } finally {
      fake.beforeServe = undefined;
      await store.close();
    }
  });

  test('KV v2: a soft-deleted current version is a missing key; nothing is written', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'soft-replace' });
    try {
      fake.putSecret('kv2', 'soft-replace/k', { k: 'old' });
      fake.softDelete('kv2', 'soft-replace/k');
      await assert.rejects(store.replace!('k', Buffer.from('old'), Buffer.from('new')), isNotFound);
      assert.deepEqual(fake.secretVersions('kv2', 'soft-replace/k'), { current: 1, versions: 1 });
      await assert.rejects(store.replace!('a/b', Buffer.from('x'), Buffer.from('y')), isNotFound);
    } finally {
      await store.close();
    }
  });

  test('KV v2 with transit: compares the unwrapped value and stores the new one wrapped', async () => {
    fake.putSecret('kv2', 'wrapped-swap/plain', { plain: 'stored before wrapping' });
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'wrapped-swap', transit: { engine: 'transit', key: 'swap-key' } });
    try {
      await store.create('k', Buffer.from('one'));
      await store.replace!('k', Buffer.from('one'), Buffer.from('two'));
      assert.match(fake.getSecret('kv2', 'wrapped-swap/k')!.k as string, /^vault:v1:/);
      assert.equal(Buffer.from(await store.get('k')).toString(), 'two');
      await assert.rejects(store.replace!('k', Buffer.from('one'), Buffer.from('three')), isConflict);
      await store.replace!('plain', Buffer.from('stored before wrapping'), Buffer.from('now wrapped'));
      assert.match(fake.getSecret('kv2', 'wrapped-swap/plain')!.plain as string, /^vault:v1:/);
      assert.equal(Buffer.from(await store.get('plain')).toString(), 'now wrapped');
    } finally {
      await store.close();
    }
  });

  test('KV v2: a write Vault refuses for another reason is an error, not a conflict', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'refused' });
    try {
      await store.create('k', Buffer.from('one'));
      // The fault is armed while the read is served, so it hits the write that follows.
      fake.beforeServe = (req) => {
        if (req.method !== 'GET' || req.path !== '/v1/kv2/data/refused/k') return;
        fake.beforeServe = undefined;
        fake.failNext(1, 400, ['invalid request'], /\/v1\/kv2\/data\/refused\/k/);
      };
      await assert.rejects(store.replace!('k', Buffer.from('one'), Buffer.from('two')), (err: Error) => !isConflict(err) && err.message === "vault: failed to replace 'k': 400 invalid request");
      assert.equal(Buffer.from(await store.get('k')).toString(), 'one');
    } finally {
      fake.beforeServe = undefined;
      await store.close();
    }
  });
});

describe('VaultKeyStore: transit wrapping', () => {
  let fake: FakeVault;
  before(async () => {
    fake = await FakeVault.start();
  });
  after(() => fake.close());

  test('stores only the transit ciphertext of the entry, and reads it back', async () => {
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'wrapped', transit: { engine: 'transit', key: 'kes-key' } });
    try {
      await store.create('k', Buffer.from(PROTOBUF_ENTRY));
      const stored = fake.getSecret('kv2', 'wrapped/k')!.k as string;
      assert.match(stored, /^vault:v1:/);
      assert.ok(!stored.includes(PROTOBUF_ENTRY));
      const encrypt = fake.requestsTo(/\/encrypt\//).at(-1)!;
      assert.equal(encrypt.path, '/v1/transit/encrypt/kes-key');
      assert.deepEqual(encrypt.body, { plaintext: Buffer.from(PROTOBUF_ENTRY).toString('base64') });
      assert.equal(Buffer.from(await store.get('k')).toString(), PROTOBUF_ENTRY);
      assert.equal(fake.requestsTo(/\/decrypt\//).at(-1)!.path, '/v1/transit/decrypt/kes-key');
    } finally {
      await store.close();
    }
  });

  test('reads entries wrapped with a rotated key version and entries stored before wrapping', async () => {
    fake.putSecret('kv2', 'mixed/plain', { plain: PROTOBUF_ENTRY });
    const store = await storeOn(fake, { version: 'v2', engine: 'kv2', prefix: 'mixed', transit: { engine: 'transit', key: 'rotating' } });
    try {
      await store.create('old', Buffer.from('entry one'));
      fake.rotateTransitKey('transit', 'rotating');
      await store.create('new', Buffer.from('entry two'));
      assert.match(fake.getSecret('kv2', 'mixed/new')!.new as string, /^vault:v2:/);
      assert.equal(Buffer.from(await store.get('old')).toString(), 'entry one');
      assert.equal(Buffer.from(await store.get('new')).toString(), 'entry two');
      assert.equal(Buffer.from(await store.get('plain')).toString(), PROTOBUF_ENTRY);
    } finally {
      await store.close();
    }
  });

  test('a wrapped entry without a transit config is an error', async () => {
    const writer = await storeOn(fake, { prefix: 'needs-transit', transit: { engine: 'transit', key: 'kes-key' } });
    await writer.create('k', Buffer.from('x'));
    await writer.close();
    const reader = await storeOn(fake, { prefix: 'needs-transit' });
    try {
      await assert.rejects(reader.get('k'), /^Error: vault: failed to get 'k': the entry is wrapped by a transit key, but keystore.vault.transit is not configured$/);
    } finally {
      await reader.close();
    }
  });

  test('a transit failure fails the create and stores nothing', async () => {
    const store = await storeOn(fake, { prefix: 'transit-down', transit: { engine: 'transit', key: 'kes-key' } });
    try {
      fake.failNext(1, 400, ['encryption key not found'], /encrypt/);
      await assert.rejects(store.create('k', Buffer.from('x')), /^Error: vault: failed to create 'k': 400 transit encrypt failed; encryption key not found$/);
      assert.deepEqual(fake.secretPaths('kv').filter((p) => p.startsWith('transit-down')), []);
    } finally {
      await store.close();
    }
  });
});
