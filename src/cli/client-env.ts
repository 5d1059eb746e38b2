/**
 * How the client commands find the server and their credentials (protocol.md §15.2), in one place:
 * KES's environment variables with their precedence, the flags that override them (`--server`,
 * `--api-key`), plus `--ca`/`KES_CAPATH` to trust a CA (KES's CLI could only use the system
 * roots or skip verification).
 */
import { readFile } from 'node:fs/promises';
import { KesClient, type ClientOptions } from '../client/client.js';
import type { KmsClient } from '../client/kms-client.js';
import type { ApiKey } from '../auth/api-key.js';
import { isApiKeyError, parseClientApiKey } from '../auth/kms-credentials.js';
import { readCaBundle } from '../pki/tls-files.js';
import { systemErrorText } from '../util/system-error.js';
import type { FlagSpec, FlagValues } from './flags.js';
import { UsageError } from './flags.js';

type Env = Record<string, string | undefined>;

/** A setting and where it came from (a variable or a flag), for messages. */
interface Setting {
  source: string;
  value: string;
}

/** The first variable of names that is set (and not empty), with its name. */
function envSetting(env: Env, names: readonly string[]): Setting | undefined {
  for (const source of names) {
    const value = env[source];
    if (value !== undefined && value !== '') return { source, value };
  }
  return undefined;
}

/** The first variable of names that is set (and not empty). */
export function envFirst(env: Env, ...names: string[]): string | undefined {
  return envSetting(env, names)?.value;
}

export const ENV = {
  server: ['MINIO_KES_SERVER', 'KES_SERVER', 'MINIO_KMS_KES_ENDPOINT'],
  apiKey: ['MINIO_KES_API_KEY', 'KES_API_KEY', 'MINIO_KMS_KES_API_KEY'],
  keyFile: ['MINIO_KES_KEY_FILE', 'KES_CLIENT_KEY', 'MINIO_KES_CLIENT_KEY'],
  certFile: ['MINIO_KES_CERT_FILE', 'KES_CLIENT_CERT', 'MINIO_KES_CLIENT_CERT'],
  ca: ['KES_CAPATH', 'MINIO_KES_CAPATH', 'MINIO_KMS_KES_CAPATH'],
  keyPassword: ['KES_CLIENT_KEY_PASSWORD'],
  enclave: ['KES_ENCLAVE'],
} as const;

export const DEFAULT_SERVER = '127.0.0.1:7373';

/** Flags every client command takes (through {@link clientFlags}). */
export const CLIENT_FLAGS: FlagSpec[] = [
  { name: 'server', short: 's', type: 'string', value: 'HOST[:PORT]', description: `Server(s) to talk to, comma-separated (default ${DEFAULT_SERVER}) [KES_SERVER]` },
  { name: 'api-key', short: 'a', type: 'string', value: 'KEY', description: 'API key to authenticate with (kes:v1: or MinKMS k1:) [KES_API_KEY]' },
  { name: 'ca', type: 'string', value: 'PATH', description: 'Trust the CA certificate(s) in PATH (file or directory) for the server [KES_CAPATH]' },
  { name: 'insecure', short: 'k', type: 'boolean', description: 'Skip verification of the server certificate (insecure)' },
  { name: 'enclave', short: 'e', type: 'string', hidden: true, description: 'legacy, ignored (kept for KES scripts); the MinKMS commands take it' },
];

/**
 * The flags of a client command: its own, then {@link CLIENT_FLAGS}, without the short names
 * its own flags use (`kes status -s` is `--short`; its server is `--server`).
 */
export function clientFlags(...own: FlagSpec[]): FlagSpec[] {
  const taken = new Set(own.map((f) => f.short));
  return [...own, ...CLIENT_FLAGS.map(({ short, ...f }) => (short === undefined || taken.has(short) ? f : { ...f, short }))];
}

/** `--json` and `--color`, shared by the commands that print structured output. */
export const OUTPUT_FLAGS: FlagSpec[] = [
  { name: 'json', type: 'boolean', description: 'Print JSON' },
  { name: 'color', type: 'string', value: 'auto|always|never', description: 'When to use colors (default auto)' },
];

/** The endpoints the client talks to: `--server` (flag) or KES_SERVER, a comma-separated list. */
export function serverEndpoints(env: Env, flag?: string): string[] {
  const value = flag ?? envFirst(env, ...ENV.server) ?? DEFAULT_SERVER;
  const endpoints = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (endpoints.length === 0) throw new UsageError(`no server in ${flag === undefined ? 'KES_SERVER' : '--server'}: give HOST[:PORT] or a URL`);
  return endpoints;
}

/** Thrown when no credentials are configured; the message says how to set them. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
}

export interface ClientSetup {
  /** Override the server of the flags and environment (`kes status` asks each endpoint). */
  server?: string;
}

/**
 * A client for the command: endpoints, credentials (`--api-key` or KES_API_KEY, or certificate
 * and key files), CA trust and `-k`. Flags win over the environment.
 * @throws MissingCredentialsError, UsageError for conflicting credentials, Error naming the
 *   variable or flag of a file that cannot be read
 */
export async function clientFromEnv(flags: FlagValues, env: Env, setup: ClientSetup = {}): Promise<KesClient> {
  return new KesClient(await clientOptionsFromEnv(flags, env, setup));
}

/**
 * A client of the MinKMS protocol (enclaves, runtime policies and identities) with the same
 * connection as {@link clientFromEnv}, for the enclave of `--enclave` or KES_ENCLAVE ('': the
 * default enclave).
 */
export async function kmsClientFromEnv(flags: FlagValues, env: Env): Promise<KmsClient> {
  const enclave = (flags.enclave as string | undefined) ?? envFirst(env, ...ENV.enclave) ?? '';
  // Loaded when used: the KES commands never need the MinKMS protocol's code.
  const { KmsClient } = await import('../client/kms-client.js');
  return new KmsClient({ ...(await clientOptionsFromEnv(flags, env)), enclave });
}

/** The connection options of the flags and environment (see {@link clientFromEnv}). */
export async function clientOptionsFromEnv(flags: FlagValues, env: Env, setup: ClientSetup = {}): Promise<ClientOptions & { apiKey?: ApiKey }> {
  const endpoints = serverEndpoints(env, setup.server ?? (flags.server as string | undefined));
  const apiKey = flags['api-key'] !== undefined ? { source: '--api-key', value: flags['api-key'] as string } : envSetting(env, ENV.apiKey);
  const keyFile = envSetting(env, ENV.keyFile);
  const certFile = envSetting(env, ENV.certFile);
  const ca = flags.ca !== undefined ? { source: '--ca', value: flags.ca as string } : envSetting(env, ENV.ca);
  const common = {
    endpoints,
    insecureSkipVerify: flags.insecure === true,
    ca: ca ? caBundle(ca) : undefined,
  };
  // An --api-key flag wins over client certificate variables; two variables conflict.
  if (apiKey !== undefined) {
    if (apiKey.source !== '--api-key' && (keyFile || certFile)) throw new UsageError('both an API key and a client certificate are set: use only one (KES_API_KEY, or KES_CLIENT_CERT and KES_CLIENT_KEY)');
    return { ...common, apiKey: parseApiKey(apiKey) };
  }
  if (keyFile && certFile) {
    const [cert, key] = await Promise.all([readSetting(certFile), readSetting(keyFile)]);
    const keyPassword = envFirst(env, ...ENV.keyPassword);
    if (key.includes('ENCRYPTED') && keyPassword === undefined) {
      throw new MissingCredentialsError(`the private key '${keyFile.value}' is encrypted: set KES_CLIENT_KEY_PASSWORD to its password`);
    }
    return { ...common, cert, key, keyPassword };
  }
  if (keyFile || certFile) throw new MissingCredentialsError(`${keyFile ? 'KES_CLIENT_KEY' : 'KES_CLIENT_CERT'} is set but ${keyFile ? 'KES_CLIENT_CERT' : 'KES_CLIENT_KEY'} is not: a client certificate needs both`);
  throw new MissingCredentialsError('no API key specified: set KES_API_KEY or use --api-key (or set KES_CLIENT_CERT and KES_CLIENT_KEY); "kes identity new" makes one');
}

/** A `kes:v1:` key or a `k1:` MinKMS key (the same Ed25519 key); `k2:` keys are refused. */
function parseApiKey({ source, value }: Setting): ApiKey {
  try {
    return parseClientApiKey(value.trim());
  } catch (err) {
    if (isApiKeyError(err)) throw new Error(`${source}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** `<source>: cannot read <path>: <reason>` for a file that cannot be read. */
function fileError({ source, value }: Setting, err: unknown): Error {
  return new Error(`${source}: cannot read ${value}: ${systemErrorText(err)}`, { cause: err });
}

/** The text of the file a setting names. */
async function readSetting(file: Setting): Promise<string> {
  try {
    return await readFile(file.value, 'utf8');
  } catch (err) {
    throw fileError(file, err);
  }
}

/** The CA certificates of a setting; other problems (no PEM, no certificate) name the setting too. */
function caBundle(ca: Setting): string[] {
  try {
    return readCaBundle(ca.value, ca.source);
  } catch (err) {
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    if (cause?.errno !== undefined) throw fileError({ source: ca.source, value: cause.path ?? ca.value }, cause);
    throw err;
  }
}
