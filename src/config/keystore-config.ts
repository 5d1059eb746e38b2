/** The `keystore:` section: exactly one backend (kes-spec §13.2, decisions.md). */
import type { ConfigNode } from './config-node.js';
import { readEtcdConfig, readPostgresConfig } from './database-keystore-config.js';
import type { KeyStoreConfig } from './types.js';
import { readVaultConfig } from './vault-config.js';
import {
  readAwsConfig,
  readAzureConfig,
  readEntrustConfig,
  readFortanixConfig,
  readGcpConfig,
  readGemaltoConfig,
} from './vendor-keystore-config.js';

type Reader = (section: ConfigNode, baseDir: string) => KeyStoreConfig;

/** Each backend: its key under `keystore:`, the nested key for vendor services, its reader. */
const BACKENDS: ReadonlyArray<{ key: string; nested?: string; read?: Reader }> = [
  { key: 'fs', read: (fs) => ({ type: 'fs', path: fs.required('path') }) },
  { key: 'vault', read: readVaultConfig },
  { key: 'fortanix', nested: 'sdkms', read: readFortanixConfig },
  { key: 'aws', nested: 'secretsmanager', read: readAwsConfig },
  { key: 'gemalto', nested: 'keysecure', read: readGemaltoConfig },
  { key: 'gcp', nested: 'secretmanager', read: readGcpConfig },
  { key: 'azure', nested: 'keyvault', read: readAzureConfig },
  { key: 'entrust', nested: 'keycontrol', read: readEntrustConfig },
  { key: 'etcd', read: readEtcdConfig },
  { key: 'postgres', read: readPostgresConfig },
  // Known to KES but without a config type here: rejected once recognised.
  { key: 'kes' },
  { key: 'generic' },
];

/** Options of readKeyStoreConfig. */
export interface KeyStoreReadOptions {
  /** Directory that relative paths checked at load time (Vault's JWT file) are relative to. */
  baseDir: string;
}

/**
 * Reads the `keystore:` section. Exactly one backend must be present (a backend whose value is
 * null does not count): none → `no keystore specified`, more → `more than one keystore
 * specified`. Nothing is connected; files are only checked where the spec says so.
 */
export function readKeyStoreConfig(keystore: ConfigNode, { baseDir }: KeyStoreReadOptions): KeyStoreConfig {
  const present = BACKENDS.filter((backend) => keystore.has(backend.key));
  const [backend, second] = present;
  if (backend === undefined) return keystore.fail('no keystore specified');
  if (second !== undefined) keystore.fail(`more than one keystore specified: ${present.map((b) => b.key).join(', ')}`);
  const outer = keystore.section(backend.key);
  if (backend.read === undefined) throw outer.error(`keystore '${backend.key}' is not supported by this version`);
  const section = backend.nested === undefined ? outer : outer.section(backend.nested);
  if (section.isNull) section.fail('required');
  return backend.read(section, baseDir);
}
