/** Parses and validates a KES server config file (protocol.md §13, §20). */
export type { ParseConfigOptions } from './config-file.js';
import { checkAddress } from './address.js';
import { readApiConfig, readMaxConnections } from './api-config.js';
import { checkAdminIdentity } from './admin-identity.js';
import { parseKmsIdentity } from '../auth/kms-credentials.js';
import { readAuditFileConfig } from './audit-file-config.js';
import { readBackupConfig } from './backup-config.js';
import type { ConfigNode, Env } from './config-node.js';
import { finishConfig, openConfig, readConfigFile, type ParseConfigOptions } from './config-file.js';
import { readKeyStoreConfig } from '../keystore/registry.js';
import { parseLogLevel } from './log-level.js';
import { readPolicies } from './policy-config.js';
import { readTlsConfig } from './tls-config.js';
import type { CacheConfig, LogConfig, RotationRule, ServerConfig } from './types.js';
import { cacheExpiry, DEFAULT_ADDRESS, DEFAULT_LOG } from './defaults.js';
import { isValidName, isValidPattern } from '../policy/names.js';

/**
 * Parses and validates a server config (YAML 1.2); a scalar whose whole value is `${NAME}` is
 * replaced by the environment variable before it is decoded. Unknown keys are ignored, as KES
 * does, and reported to options.warnings (ConfigWarning), as is an `admin.identity` that is not
 * an identity; with options.strict the warnings are errors.
 * @throws ConfigError naming the file, line and field of the first problem found
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): ServerConfig {
  const root = openConfig(text, options);
  const address = root.optional('address') ?? DEFAULT_ADDRESS;
  const addressError = checkAddress(address);
  if (addressError !== undefined) root.at('address').fail(addressError);

  const admin = readAdmin(root);
  const tls = readTlsConfig(root.section('tls'), admin);
  const maxConnections = readMaxConnections(root.section('api'));
  const backup = readBackupConfig(root.section('backup'));
  const config: ServerConfig = {
    address,
    admin,
    tls,
    api: readApiConfig(root.section('api')),
    policies: readPolicies(root.section('policy'), admin, tls.proxy?.identities ?? []),
    cache: readCache(root.section('cache').section('expiry')),
    log: readLog(root.section('log')),
    keys: readKeys(root),
    rotation: readRotation(root),
    ...(maxConnections !== undefined && { maxConnections }),
    ...(backup !== undefined && { backup }),
    keystore: readKeyStoreConfig(root.section('keystore'), { baseDir: options.baseDir ?? process.cwd() }),
  };
  finishConfig(root, options);
  return config;
}

/**
 * Reads and parses the config file at path; error messages name the file as given. Options as
 * for parseConfig (`warnings`, `strict`, `baseDir`).
 * @throws ConfigError when the file cannot be read or is invalid
 */
export async function loadConfigFile(path: string, env: Env = process.env, options: Omit<ParseConfigOptions, 'env' | 'filename'> = {}): Promise<ServerConfig> {
  return parseConfig(await readConfigFile(path), { ...options, env, filename: path });
}

/**
 * `admin.identity`, or the legacy (v0.14 … v0.18) top-level `root:`. A value that is not an
 * identity disables the admin and is kept as written (KES); unless it is `disabled` it is
 * reported as a warning.
 */
function readAdmin(root: ConfigNode): string {
  const node = root.at('admin');
  if (!node.isNull && !node.isMap) node.fail('must be a mapping: to disable the admin write "identity: disabled" under admin:');
  const admin = root.section('admin');
  const legacy = root.get('root');
  if (legacy !== undefined && !admin.isNull) legacy.fail('the legacy root and admin.identity are mutually exclusive: keep only admin.identity');
  if (legacy === undefined) {
    // MinKMS's form of an identity (h1:…) names the same key: stored as KES's hex.
    const identity = hexIdentity(admin.required('identity'));
    checkAdminIdentity(admin.at('identity'), identity);
    return identity;
  }
  const identity = legacy.text();
  if (identity === '') throw legacy.error('required');
  checkAdminIdentity(legacy, identity);
  return identity;
}

/** An identity in MinKMS's form (`h1:`) as KES's hex; any other text as it is. */
function hexIdentity(text: string): string {
  return parseKmsIdentity(text) ?? text;
}

function readCache(expiry: ConfigNode): CacheConfig {
  return cacheExpiry({ any: expiry.duration('any'), unused: expiry.duration('unused'), offline: expiry.duration('offline') });
}

function readLog(log: ConfigNode): LogConfig {
  const level = (key: string, fallback: number): number => {
    const node = log.get(key);
    if (node === undefined) return fallback;
    const level = parseLogLevel(node.text());
    if (level === undefined) throw node.error(`invalid log level ${JSON.stringify(node.text())} (on, off, DEBUG, INFO, WARN, ERROR, INFO+2 or an integer)`);
    return level;
  };
  const auditFile = readAuditFileConfig(log.section('audit_file'));
  return { error: level('error', DEFAULT_LOG.error), audit: level('audit', DEFAULT_LOG.audit), ...(auditFile && { auditFile }) };
}

/** The shortest rotation period: a key store round trip per key and period must stay cheap. */
const MIN_ROTATION_MS = 1000;

/**
 * `rotation: [{keys, every}]` (openkes): `keys` is a key name or a prefix ending in `*`, as in
 * policies and listings; `every` a Go duration of at least 1s.
 */
function readRotation(root: ConfigNode): RotationRule[] {
  const rules: RotationRule[] = [];
  for (const item of root.at('rotation').items()) {
    if (!item.isMap) item.fail('must be a mapping, e.g. "- keys: minio-*" with "every: 720h"');
    const pattern = item.required('keys');
    if (!isValidPattern(pattern)) item.at('keys').fail(`invalid key name or pattern ${JSON.stringify(pattern)} (a name, or a prefix ending in *)`);
    const everyMs = item.duration('every');
    if (everyMs === undefined) throw item.at('every').error('required: how often the keys rotate, e.g. 720h');
    if (everyMs < MIN_ROTATION_MS) item.at('every').fail('must be at least 1s');
    rules.push({ pattern, everyMs });
  }
  return rules;
}

/** `keys: [{name}]` (openConfig rejected the ≤ v0.13 `keys:` mapping). */
function readKeys(root: ConfigNode): string[] {
  const keys = root.at('keys');
  const names: string[] = [];
  for (const item of keys.items()) {
    if (!item.isMap) item.fail('must be a mapping with a name, e.g. "- name: my-key"');
    const name = item.required('name');
    if (!isValidName(name)) item.at('name').fail(`invalid key name ${JSON.stringify(name)}`);
    if (names.includes(name)) item.at('name').fail(`duplicate key name ${JSON.stringify(name)}`);
    names.push(name);
  }
  return names;
}
