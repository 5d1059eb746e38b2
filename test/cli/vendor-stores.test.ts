/**
 * Issue 19, "done when", through the real CLI against each vendor store's fake:
 * - `kes server --config` starts with each vendor section (gcp, azure, fortanix, gemalto, entrust,
 *   and aws), serves a key created through the API (generate + decrypt a data key), writes the
 *   key to the service in KES's layout, and reads an entry planted there in KES's layout;
 * - `kes migrate --from X.yml --to Y.yml` moves real KES entries (including a rotated key ring)
 *   along the chain fs → aws → gcp → azure → fortanix → gemalto → entrust → vault → fs, byte for
 *   byte, and once meets a name that exists in the destination (fail, --merge, --force).
 * The fakes are those of the stores' own tests (test/helpers/fake-*.ts), unchanged.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { KesClient } from '../../src/client/index.js';
import { FsKeyStore } from '../../src/keystore/fs/fs.js';
import { listAll, type KeyStore } from '../../src/keystore/keystore.js';
import { connectKeyStore } from '../../src/keystore/registry.js';
import { loadKeyStoreConfigFile } from '../../src/config/keystore-file.js';
import { encodeKeyVersion, parseKeyVersion, type KeyVersion } from '../../src/crypto/key-version.js';
import { encodeKeyRing, parseKeyRing } from '../../src/crypto/key-ring-entry.js';
import { KeyRing } from '../../src/crypto/key-ring.js';
import { SecretKey } from '../../src/crypto/secret-key.js';
import { HmacKey } from '../../src/crypto/hmac-key.js';
import { Timestamp } from '../../src/util/time.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { kes } from '../helpers/cli-io.js';
import { startCli } from './run-cli.js';
import { FakeSecretsManager } from '../helpers/fake-aws-secrets-manager.js';
import { FakeGcpSecretManager } from '../helpers/fake-gcp-secret-manager.js';
import { FakeAzureKeyVault, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_TENANT } from '../helpers/fake-azure-keyvault.js';
import { FakeFortanix } from '../helpers/fake-fortanix.js';
import { FakeGemalto } from '../helpers/fake-gemalto.js';
import { FakeEntrust } from '../helpers/fake-entrust.js';
import { FakeVault } from '../helpers/fake-vault.js';

/**
 * Azure Key Vault was being finished in parallel. Set to false to leave it out of both parts
 * (it is in when `node scripts/run-tests.mjs src/keystore/azure` passes).
 */
const AZURE_READY = true;

/** The secret key of the fake AWS access key (the fake checks the key id, as the store's own test does). */
const AWS_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** A YAML scalar: JSON strings are YAML double-quoted strings. */
const q = (s: string): string => JSON.stringify(s);

/** A key store on a running fake, as a `keystore:` section and the fake's view of its entries. */
interface Store {
  name: string;
  /** The lines under `keystore:`, indented by two. */
  section: string;
  /** The entry bytes as the service holds them in KES's layout, or undefined when absent. */
  raw(name: string): Buffer | undefined;
  /** Puts an entry into the service as KES writes it, bypassing openkes. */
  plant(name: string, entry: Buffer): Promise<void> | void;
  close(): Promise<void>;
}

type StoreFactory = (ctx: { pki: TestPki; caFile: string; dir: string }) => Promise<Store>;

const FACTORIES: Record<string, StoreFactory> = {
  async fs({ dir }) {
    const path = mkdtempSync(join(dir, 'fs-'));
    const store = await FsKeyStore.open(path);
    return {
      name: 'fs',
      section: `  fs:\n    path: ${q(path)}\n`,
      raw: (name) => {
        try {
          return readFileSync(join(path, name));
        } catch {
          return undefined;
        }
      },
      plant: async (name, entry) => void (await store.create(name, entry)),
      close: async () => store.close(),
    };
  },

  async aws() {
    const fake = await FakeSecretsManager.start();
    return {
      name: 'aws',
      section: `  aws:\n    secretsmanager:\n      endpoint: ${q(fake.url)}\n      region: ${q(fake.region)}\n      credentials:\n        accesskey: ${q(fake.accessKeyId)}\n        secretkey: ${q(AWS_SECRET_KEY)}\n`,
      raw: (name) => {
        const v = fake.value(name);
        return v === undefined ? undefined : v.secretString !== undefined ? Buffer.from(v.secretString, 'utf8') : v.secretBinary;
      },
      plant: (name, entry) => void fake.call('CreateSecret', { Name: name, SecretString: entry.toString('utf8') }),
      close: () => fake.close(),
    };
  },

  async gcp() {
    const fake = await FakeGcpSecretManager.start();
    const c = fake.credentials;
    return {
      name: 'gcp',
      section:
        `  gcp:\n    secretmanager:\n      project_id: ${q(fake.projectId)}\n      endpoint: ${q(fake.url)}\n      credentials:\n` +
        `        client_email: ${q(c.clientEmail)}\n        client_id: ${q(c.clientId)}\n        private_key_id: ${q(c.privateKeyId)}\n` +
        `        private_key: ${q(c.privateKey)}\n        token_uri: ${q(fake.tokenUri)}\n`,
      raw: (name) => {
        const s = fake.raw(name);
        if (!s) return undefined;
        assert.equal(s.versions.length, 1, `gcp: ${name} has one version (KES reads version 1)`);
        return s.versions[0]!.data;
      },
      plant: (name, entry) => fake.plant(name, [entry]),
      close: () => fake.close(),
    };
  },

  async azure() {
    const fake = await FakeAzureKeyVault.start();
    return {
      name: 'azure',
      section:
        `  azure:\n    keyvault:\n      endpoint: ${q(fake.url)}\n      credentials:\n        tenant_id: ${q(FAKE_TENANT)}\n` +
        `        client_id: ${q(FAKE_CLIENT_ID)}\n        client_secret: ${q(FAKE_CLIENT_SECRET)}\n        authority_host: ${q(fake.url)}\n`,
      raw: (name) => {
        if (fake.isDeleted(name)) return undefined;
        const versions = fake.versionsOf(name).filter((v) => v.enabled);
        if (versions.length === 0) return undefined;
        // KES reads the secret's value; one enabled version is what a create leaves.
        assert.equal(versions.length, 1, `azure: ${name} has one enabled version`);
        assert.equal(versions[0]!.contentType, undefined, `azure: ${name} has no content type`);
        return Buffer.from(versions[0]!.value, 'utf8');
      },
      plant: (name, entry) => void fake.plant(name, entry.toString('utf8')),
      close: () => fake.close(),
    };
  },

  async fortanix({ pki, caFile }) {
    const fake = await FakeFortanix.start({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
    return {
      name: 'fortanix',
      section: `  fortanix:\n    sdkms:\n      endpoint: ${q(fake.url)}\n      credentials:\n        key: ${q(fake.apiKey)}\n      tls:\n        ca: ${q(caFile)}\n`,
      raw: (name) => {
        const o = fake.object(name);
        if (!o) return undefined;
        assert.equal(o.obj_type, 'OPAQUE', `fortanix: ${name} is OPAQUE`);
        return Buffer.from(o.value, 'base64');
      },
      plant: (name, entry) => void fake.plant(name, entry.toString('base64')),
      close: () => fake.close(),
    };
  },

  async gemalto({ pki, caFile }) {
    const fake = await FakeGemalto.start({ domain: 'kes', tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
    return {
      name: 'gemalto',
      section:
        `  gemalto:\n    keysecure:\n      endpoint: ${q(fake.url)}\n      credentials:\n        token: ${q(fake.refreshToken)}\n        domain: ${q(fake.domain)}\n` +
        `      tls:\n        ca: ${q(caFile)}\n`,
      raw: (name) => {
        const s = fake.secret(name);
        if (!s) return undefined;
        // KES stores the entry text as the material of a "seed" secret.
        assert.equal(s.dataType, 'seed', `gemalto: ${name} is a seed`);
        return Buffer.from(s.material, 'utf8');
      },
      plant: (name, entry) => void fake.plant(name, entry.toString('utf8')),
      close: () => fake.close(),
    };
  },

  async entrust() {
    const fake = await FakeEntrust.start();
    return {
      name: 'entrust',
      section:
        `  entrust:\n    keycontrol:\n      endpoint: ${q(fake.url)}\n      vault_id: ${q(fake.vaultId)}\n      box_id: ${q(fake.boxId)}\n` +
        `      credentials:\n        username: ${q(fake.username)}\n        password: ${q(fake.password)}\n`,
      raw: (name) => {
        const s = fake.raw(name);
        return s === undefined ? undefined : Buffer.from(s, 'base64');
      },
      plant: (name, entry) => fake.plant(name, entry.toString('base64')),
      close: () => fake.close(),
    };
  },

  async vault() {
    const fake = await FakeVault.start();
    // The fake's `kv2` mount is a KV v2 engine.
    return {
      name: 'vault',
      section: `  vault:\n    endpoint: ${q(fake.url)}\n    engine: kv2\n    version: v2\n    token: ${q(fake.rootToken)}\n`,
      raw: (name) => {
        const data = fake.getSecret('kv2', name);
        if (!data) return undefined;
        assert.deepEqual(Object.keys(data), [name], `vault: ${name} has one field, named after the key`);
        return Buffer.from(data[name] as string, 'utf8');
      },
      plant: (name, entry) => fake.putSecret('kv2', name, { [name]: entry.toString('utf8') }),
      close: () => fake.close(),
    };
  },
};

const VENDORS = ['aws', 'gcp', ...(AZURE_READY ? ['azure'] : []), 'fortanix', 'gemalto', 'entrust'];

/** A key version as KES writes it. */
function keyVersion(type: 'AES256' | 'ChaCha20' = 'AES256'): KeyVersion {
  return { key: SecretKey.generate(type), hmacKey: HmacKey.generate(), createdAt: Timestamp.now(), createdBy: ApiKey.generate().identity.toString() };
}

/** Everything a store holds, through openkes's store opened from a config file. */
async function contentsOf(file: string): Promise<Map<string, Buffer>> {
  const store: KeyStore = await connectKeyStore(await loadKeyStoreConfigFile(file, {}));
  try {
    const out = new Map<string, Buffer>();
    for (const name of await listAll(store)) out.set(name, Buffer.from(await store.get(name)));
    return out;
  } finally {
    await store.close();
  }
}

let dir: string;
let pki: TestPki;
let caFile: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kes-vendor-stores-'));
  pki = createTestPki();
  ({ caFile } = pki.writeFiles(dir));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A full server config file with the given keystore section. */
function serverConfig(file: string, admin: ApiKey, section: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    `version: v1\naddress: 127.0.0.1:0\nadmin:\n  identity: ${admin.identity}\ntls:\n  key: ${q(join(dir, 'server.key'))}\n  cert: ${q(join(dir, 'server.crt'))}\nkeystore:\n${section}`,
  );
  return path;
}

describe('kes server --config with each vendor key store', { concurrency: 1 }, () => {
  for (const vendor of VENDORS) {
    test(`${vendor}: starts, serves a new key and a planted KES entry, stores KES's layout, stops`, { timeout: 90_000 }, async () => {
      const store = await FACTORIES[vendor]!({ pki, caFile, dir });
      const admin = ApiKey.generate();
      const planted = keyVersion('ChaCha20');
      await store.plant('planted-by-kes', encodeKeyVersion(planted));
      const file = serverConfig(`server-${vendor}.yml`, admin, store.section);
      const cli = startCli(['server', '--config', file]);
      let client: KesClient | undefined;
      try {
        // The banner names the service's URL too (KMS line): take the API line's port.
        const [, port] = await cli.waitFor(/^API\s.*https:\/\/127\.0\.0\.1:(\d+)/m, 30_000);
        await cli.waitFor(/Server is up and running/, 30_000);
        const env = { KES_SERVER: `127.0.0.1:${port}`, KES_API_KEY: admin.toString(), KES_CAPATH: caFile };
        const created = await kes(['key', 'create', 'my-key'], env);
        assert.equal(created.code, 0, created.stderr);

        client = new KesClient({ endpoints: `127.0.0.1:${port}`, apiKey: admin, ca: pki.ca.certPem });
        const context = Buffer.from(`bucket/${vendor}`);
        const dek = await client.generateKey('my-key', context);
        assert.deepEqual(await client.decrypt('my-key', dek.ciphertext, context), dek.plaintext);

        // The new key is in the service, in KES's layout: the entry a KES server reads.
        const raw = store.raw('my-key');
        assert.ok(raw, `${vendor}: my-key is in the service`);
        const v = parseKeyVersion(raw);
        assert.equal(v.createdBy, admin.identity.toString());
        assert.ok(v.hmacKey, 'the entry has the HMAC key');

        // An entry planted as KES writes it is served: described with its creator; a data key made with it decrypts.
        const info = await client.describeKey('planted-by-kes');
        assert.equal(info.createdBy, planted.createdBy);
        const dek2 = await client.generateKey('planted-by-kes', context);
        assert.deepEqual(await client.decrypt('planted-by-kes', dek2.ciphertext, context), dek2.plaintext);

        const ls = await kes(['key', 'ls'], env);
        assert.equal(ls.code, 0, ls.stderr);
        assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['my-key', 'planted-by-kes']);
      } finally {
        client?.close();
        cli.child.kill('SIGTERM');
        const code = await cli.exited;
        await store.close();
        assert.equal(code, 0, `${vendor}: the server stops cleanly\n${cli.stderr()}`);
      }
    });
  }
});

describe('kes migrate along fs → aws → gcp → azure → fortanix → gemalto → entrust → vault → fs', () => {
  const chain = ['fs', 'aws', 'gcp', ...(AZURE_READY ? ['azure'] : []), 'fortanix', 'gemalto', 'entrust', 'vault', 'fs'];
  /** The hop into this store also meets a name that exists in the destination. */
  const CONFLICT_AT = 'gcp';
  const stores: Store[] = [];
  const files: string[] = [];
  let entries: Map<string, Buffer>;
  let ringEntry: Buffer;

  before(async () => {
    for (const [i, name] of chain.entries()) {
      const store = await FACTORIES[name]!({ pki, caFile, dir });
      stores.push(store);
      const file = join(dir, `migrate-${i}-${name}.yml`);
      writeFileSync(file, `keystore:\n${store.section}`);
      files.push(file);
    }
    const v1 = keyVersion();
    const v2 = keyVersion('ChaCha20');
    ringEntry = encodeKeyRing(new KeyRing([[1, v1], [2, v2]]));
    entries = new Map([
      ['app-key', encodeKeyVersion(keyVersion())],
      ['chacha-key', encodeKeyVersion(keyVersion('ChaCha20'))],
      ['rotated-key', ringEntry],
      ['MixedCase-99', encodeKeyVersion(keyVersion())],
      // KES's older JSON form (before v0.22), as KES stored it.
      ['legacy-json', Buffer.from(`{"bytes":"${SecretKey.generate('AES256').bytes().toString('base64')}","algorithm":"AES256","created_at":"2023-05-01T10:00:00Z","created_by":"${ApiKey.generate().identity}"}`)],
    ]);
    for (const [name, value] of entries) await stores[0]!.plant(name, value);
  });
  after(async () => {
    for (const s of stores) await s.close();
  });

  test('the ring entry is a real 2-version key ring', () => {
    const ring = parseKeyRing(ringEntry);
    assert.deepEqual(ring.list().map(([n]) => n), [1, 2]);
  });

  for (let i = 1; i < chain.length; i++) {
    test(`${chain[i - 1]} → ${chain[i]}: every entry byte for byte, nothing else`, { timeout: 90_000 }, async () => {
      const [from, to] = [files[i - 1]!, files[i]!];
      const dst = stores[i]!;
      const names = [...entries.keys()].sort();
      if (chain[i] === CONFLICT_AT) {
        const theirs = encodeKeyVersion(keyVersion());
        await dst.plant('app-key', theirs);

        const failed = await kes(['migrate', '--from', from, '--to', to], {});
        assert.equal(failed.code, 1, failed.stdout);
        assert.match(failed.stderr, /key 'app-key' already exists in the destination/);
        assert.deepEqual(dst.raw('app-key'), theirs, 'left alone');

        // Names go in byte order: 'MixedCase-99' was copied before the error, so it is skipped too.
        assert.match(failed.stderr, /\(1 key migrated, 0 skipped before the error\)/);
        const merged = await kes(['migrate', '--merge', '--from', from, '--to', to], {});
        assert.deepEqual([merged.code, merged.stdout, merged.stderr], [0, `Done: ${names.length - 2} keys migrated, 2 skipped.\n`, '']);
        assert.deepEqual(dst.raw('app-key'), theirs, '--merge keeps the existing key');
        assert.deepEqual(await contentsOf(to), new Map([...entries, ['app-key', theirs]]));

        const forced = await kes(['migrate', '--force', '--from', from, '--to', to], {});
        assert.deepEqual([forced.code, forced.stdout, forced.stderr], [0, `Done: ${names.length} keys migrated, 0 skipped.\n`, '']);
      } else {
        const r = await kes(['migrate', '--from', from, '--to', to], {});
        assert.deepEqual(r, { code: 0, stdout: `Done: ${names.length} keys migrated, 0 skipped.\n`, stderr: '' });
      }
      // Through openkes's store: exactly the names, byte-identical values.
      assert.deepEqual(await contentsOf(to), entries);
      // In the service itself, in KES's layout.
      for (const [name, value] of entries) assert.deepEqual(dst.raw(name), value, `${chain[i]}: ${name} as stored`);
      if (chain[i] === 'fs') assert.deepEqual(readdirSync(JSON.parse(dst.section.split('path: ')[1]!.trim()) as string).sort(), names);
      // The source is unchanged.
      assert.deepEqual(await contentsOf(from), entries);
    });
  }
});
