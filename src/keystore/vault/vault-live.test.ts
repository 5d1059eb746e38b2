/**
 * The conformance suite against a real Vault or OpenBao (no binary exists on this machine, so
 * this test is opt-in, also under CI). Enable it with a dev server, e.g.
 *
 *   vault server -dev -dev-root-token-id=root      # or: bao server -dev -dev-root-token-id=root
 *   KES_TEST_VAULT_ADDR=http://127.0.0.1:8200 KES_TEST_VAULT_TOKEN=root \
 *     node scripts/run-tests.mjs src/keystore/vault/vault-live.test.ts
 *
 * Optional: KES_TEST_VAULT_ENGINE (default `secret`, the dev server's KV v2 mount),
 * KES_TEST_VAULT_VERSION (`v1` | `v2`, default v2), KES_TEST_VAULT_NAMESPACE. Keys are
 * written under a fresh prefix and deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import type { VaultConfig } from './config.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { listAll } from '../keystore.js';
import { VaultKeyStore } from './vault.js';

const addr = process.env.KES_TEST_VAULT_ADDR;
const token = process.env.KES_TEST_VAULT_TOKEN;
const version = process.env.KES_TEST_VAULT_VERSION === 'v1' ? 'v1' : 'v2';

describeKeyStore(
  `vault (live, ${addr ?? 'not configured'}, KV ${version})`,
  async () => {
    const config: VaultConfig = {
      type: 'vault',
      endpoint: addr!,
      engine: process.env.KES_TEST_VAULT_ENGINE ?? 'secret',
      version,
      namespace: process.env.KES_TEST_VAULT_NAMESPACE,
      prefix: `openkes-test-${randomBytes(6).toString('hex')}`,
      token: token!,
      statusPingMs: 15_000,
    };
    return {
      store: await VaultKeyStore.connect(config),
      cleanup: async () => {
        const cleaner = await VaultKeyStore.connect(config);
        try {
          for (const name of await listAll(cleaner)) await cleaner.delete(name);
        } finally {
          await cleaner.close();
        }
      },
    };
  },
  {
    manyKeys: 300,
    noReplace: version === 'v1' ? 'KV v1 has no compare-and-swap' : undefined,
    skip: addr && token ? undefined : 'set KES_TEST_VAULT_ADDR and KES_TEST_VAULT_TOKEN to run against a real Vault or OpenBao (e.g. `vault server -dev`)',
  },
);
