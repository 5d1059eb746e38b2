/** The `keystore.vault` section (protocol.md §13.2). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compact, type ConfigNode } from '../../config/config-node.js';
import { readClientTls } from '../../config/client-tls-config.js';

/**
 * `keystore.vault` (protocol.md §9.3, §13.2). Exactly one of token, approle and kubernetes is
 * set. Namespaces: '' or absent = root; `/` in an auth section = root regardless of the
 * store's namespace.
 */
export interface VaultConfig {
  type: 'vault';
  /** `http(s)://host:port` of Vault or OpenBao. */
  endpoint: string;
  /** Mount path of the KV engine (default `kv`). */
  engine: string;
  version: 'v1' | 'v2';
  namespace?: string;
  /** Folder of the keys inside the engine. */
  prefix?: string;
  transit?: { engine: string; key: string };
  /** A static token (`token:`): used as given, renewed when renewable, never replaced. */
  token?: string;
  approle?: { namespace?: string; engine: string; id: string; secret: string };
  /** A jwt containing `/` is the path of the service account token file, read at each login. */
  kubernetes?: { namespace?: string; engine: string; role: string; jwt: string };
  tls?: { keyFile?: string; certFile?: string; caPath?: string };
  /** Interval of the background health check (`status.ping`, default 15 s). */
  statusPingMs: number;
  /** Deadline of one Vault request (`timeout`); the store's default (10 s) when absent. */
  timeoutMs?: number;
}

/** Interval of the Vault status check when `status.ping` is not set. */
export const DEFAULT_VAULT_PING_MS = 15_000;

/**
 * Reads `keystore.vault`. `endpoint` is required, and exactly one of `token` (a static token),
 * `approle` (id + secret) or `kubernetes` (jwt). A JWT containing `/` is a file path that must
 * be readable now (relative to baseDir); the config keeps the path. `timeout` bounds each
 * request to Vault (0 or absent: the store's default).
 */
export function readVaultConfig(vault: ConfigNode, baseDir: string): VaultConfig {
  const endpoint = vault.required('endpoint');
  const version = vault.optional('version') ?? 'v1';
  if (version !== 'v1' && version !== 'v2') throw vault.at('version').error(`must be v1 or v2, got ${JSON.stringify(version)}`);

  const approle = vault.section('approle');
  const kubernetes = vault.section('kubernetes');
  const token = vault.has('token') ? vault.at('token') : undefined;
  const methods = [token && 'token', !approle.isNull && 'approle', !kubernetes.isNull && 'kubernetes'].filter(Boolean);
  if (methods.length === 0) vault.fail('either approle or kubernetes authentication (or a static token) is required');
  if (methods.length > 1) vault.fail(`${methods.join(' and ')} are mutually exclusive: specify only one authentication method`);
  if (token && token.text() === '') token.fail('must not be empty');

  const config: VaultConfig = compact({
    type: 'vault' as const,
    endpoint,
    engine: vault.optional('engine') ?? 'kv',
    version,
    namespace: vault.optional('namespace'),
    prefix: vault.optional('prefix'),
    transit: readTransit(vault.section('transit')),
    token: token?.text(),
    approle: approle.isNull ? undefined : readAppRole(approle),
    kubernetes: kubernetes.isNull ? undefined : readKubernetes(kubernetes, baseDir),
    tls: readClientTls(vault),
    statusPingMs: vault.section('status').duration('ping') || DEFAULT_VAULT_PING_MS,
    timeoutMs: vault.duration('timeout') || undefined,
  });
  return config;
}

function readTransit(transit: ConfigNode): VaultConfig['transit'] {
  if (transit.isNull) return undefined;
  return { engine: transit.optional('engine') ?? 'transit', key: transit.required('key') };
}

function readAppRole(approle: ConfigNode): VaultConfig['approle'] {
  approle.ignore('retry'); // KES ≤ v0.22: the login retry interval; openkes retries on its own schedule
  return compact({
    namespace: approle.optional('namespace'),
    engine: approle.optional('engine') ?? 'approle',
    id: approle.required('id'),
    secret: approle.required('secret'),
  });
}

function readKubernetes(kubernetes: ConfigNode, baseDir: string): VaultConfig['kubernetes'] {
  kubernetes.ignore('retry'); // as approle.retry
  const jwt = kubernetes.required('jwt');
  if (jwt.includes('/')) {
    try {
      readFileSync(resolve(baseDir, jwt));
    } catch (err) {
      kubernetes.at('jwt').fail(`cannot read the service account token file ${JSON.stringify(jwt)}: ${(err as Error).message}`);
    }
  }
  return compact({
    namespace: kubernetes.optional('namespace'),
    engine: kubernetes.optional('engine') ?? 'kubernetes',
    role: kubernetes.string('role') ?? '',
    jwt,
  });
}
