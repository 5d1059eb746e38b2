/**
 * Every key store backend, in one list (docs/architecture.md, "Adding a key store"). The
 * config parser, the connector and the start banner iterate it: adding a store is its folder
 * (`src/keystore/<name>/` with a `backend.ts` descriptor), one line here, its docs and tests.
 */
import type { ConfigNode } from '../config/config-node.js';
import type { KeyStore } from './keystore.js';
import type { KeyStoreBackend } from './backend.js';
import { memBackend } from './memory/backend.js';
import { fsBackend } from './fs/backend.js';
import { vaultBackend } from './vault/backend.js';
import { fortanixBackend } from './fortanix/backend.js';
import { awsBackend } from './aws/backend.js';
import { gemaltoBackend } from './gemalto/backend.js';
import { gcpBackend } from './gcp/backend.js';
import { azureBackend } from './azure/backend.js';
import { entrustBackend } from './entrust/backend.js';
import { etcdBackend } from './etcd/backend.js';
import { postgresBackend } from './postgres/backend.js';

/** The backends, in the order a config file's `keystore:` keys are looked up. */
export const BACKENDS = [
  memBackend,
  fsBackend,
  vaultBackend,
  fortanixBackend,
  awsBackend,
  gemaltoBackend,
  gcpBackend,
  azureBackend,
  entrustBackend,
  etcdBackend,
  postgresBackend,
] as const;

/** `keystore:` keys of KES that openkes recognises but has no config type for. */
const RECOGNISED_ONLY = ['kes', 'generic'];

type ConfigOf<B> = B extends KeyStoreBackend<infer C> ? C : never;

/** The key store section of a config: exactly one backend's. */
export type KeyStoreConfig = ConfigOf<(typeof BACKENDS)[number]>;

/** Thrown for a key store section this version cannot connect to. */
export class UnsupportedKeyStoreError extends Error {
  override readonly name = 'UnsupportedKeyStoreError';
}

function backendOf(config: KeyStoreConfig): KeyStoreBackend<KeyStoreConfig> {
  const found = BACKENDS.find((b) => b.type === config.type) as KeyStoreBackend<KeyStoreConfig> | undefined;
  if (!found) throw new UnsupportedKeyStoreError(`keystore '${config.type}' is not supported by this version`);
  return found;
}

/** Options of readKeyStoreConfig. */
export interface KeyStoreReadOptions {
  /** Directory that relative paths checked at load time (Vault's JWT file) are relative to. */
  baseDir: string;
}

/**
 * Reads the `keystore:` section. Exactly one backend must be present (a backend whose value is
 * null does not count): none → `no keystore specified`, more → `more than one keystore
 * specified`. Nothing is connected; files are only checked where the protocol says so.
 */
export function readKeyStoreConfig(keystore: ConfigNode, { baseDir }: KeyStoreReadOptions): KeyStoreConfig {
  const keys = [...BACKENDS.flatMap((b) => (b.section ? [b.section.key] : [])), ...RECOGNISED_ONLY];
  const present = keys.filter((key) => keystore.has(key));
  const [key, second] = present;
  if (key === undefined) return keystore.fail('no keystore specified');
  if (second !== undefined) keystore.fail(`more than one keystore specified: ${present.join(', ')}`);
  const outer = keystore.section(key);
  const found = BACKENDS.find((b) => b.section?.key === key) as KeyStoreBackend<KeyStoreConfig> | undefined;
  if (!found?.read) throw outer.error(`keystore '${key}' is not supported by this version`);
  const section = found.section?.nested === undefined ? outer : outer.section(found.section.nested);
  if (section.isNull) section.fail('required');
  return found.read(section, baseDir);
}

/**
 * Connects to the configured key store. Backends are loaded only when configured: their client
 * libraries (gRPC for etcd, the AWS SDK, pg) would otherwise slow every `kes` command's start.
 * @throws UnsupportedKeyStoreError for backends this version does not implement
 */
export async function connectKeyStore(config: KeyStoreConfig): Promise<KeyStore> {
  const found = backendOf(config);
  if (!found.connect) throw new UnsupportedKeyStoreError(`keystore '${config.type}' is not supported by this version`);
  return found.connect(config);
}

/** A one-line description of the key store, for the start banner (no credentials). */
export function describeKeyStore(config: KeyStoreConfig): string {
  return backendOf(config).describe(config);
}
