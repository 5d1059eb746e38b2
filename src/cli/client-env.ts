/**
 * How the client commands find the server and their credentials (protocol.md §15.2), in one place:
 * KES's environment variables with their precedence, plus `--ca`/`KES_CAPATH` to trust a CA
 * (KES's CLI could only use the system roots or skip verification).
 */
import { readFile } from 'node:fs/promises';
import { KesClient } from '../client/client.js';
import { ApiKey } from '../auth/api-key.js';
import { readCaBundle } from '../pki/tls-files.js';
import type { FlagSpec, FlagValues } from './flags.js';
import { UsageError } from './flags.js';

type Env = Record<string, string | undefined>;

/** The first variable of names that is set (and not empty). */
export function envFirst(env: Env, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

export const ENV = {
  server: ['MINIO_KES_SERVER', 'KES_SERVER', 'MINIO_KMS_KES_ENDPOINT'],
  apiKey: ['MINIO_KES_API_KEY', 'KES_API_KEY', 'MINIO_KMS_KES_API_KEY'],
  keyFile: ['MINIO_KES_KEY_FILE', 'KES_CLIENT_KEY', 'MINIO_KES_CLIENT_KEY'],
  certFile: ['MINIO_KES_CERT_FILE', 'KES_CLIENT_CERT', 'MINIO_KES_CLIENT_CERT'],
  ca: ['KES_CAPATH', 'MINIO_KES_CAPATH', 'MINIO_KMS_KES_CAPATH'],
  keyPassword: ['KES_CLIENT_KEY_PASSWORD'],
} as const;

export const DEFAULT_SERVER = '127.0.0.1:7373';

/** Flags every client command takes. */
export const CLIENT_FLAGS: FlagSpec[] = [
  { name: 'insecure', short: 'k', type: 'boolean', description: 'Skip verification of the server certificate (insecure)' },
  { name: 'ca', type: 'string', value: 'PATH', description: 'Trust the CA certificate(s) in PATH (file or directory) for the server [KES_CAPATH]' },
  { name: 'enclave', short: 'e', type: 'string', hidden: true, description: 'legacy, ignored' },
];

/** `--json` and `--color`, shared by the commands that print structured output. */
export const OUTPUT_FLAGS: FlagSpec[] = [
  { name: 'json', type: 'boolean', description: 'Print JSON' },
  { name: 'color', type: 'string', value: 'auto|always|never', description: 'When to use colors (default auto)' },
];

/** The endpoints the client talks to: a comma-separated list. */
export function serverEndpoints(env: Env, flag?: string): string[] {
  const value = flag ?? envFirst(env, ...ENV.server) ?? DEFAULT_SERVER;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Thrown when no credentials are configured; the message says how to set them. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
}

export interface ClientSetup {
  /** Override the API key (`kes ls -a`). */
  apiKey?: string;
  /** Override the server (`kes ls -s`). */
  server?: string;
}

/**
 * A client for the command: endpoints, credentials (API key, or certificate and key files), CA
 * trust and `-k`. @throws MissingCredentialsError, UsageError for conflicting credentials
 */
export async function clientFromEnv(flags: FlagValues, env: Env, setup: ClientSetup = {}): Promise<KesClient> {
  const endpoints = serverEndpoints(env, setup.server);
  const apiKey = setup.apiKey ?? envFirst(env, ...ENV.apiKey);
  const keyFile = envFirst(env, ...ENV.keyFile);
  const certFile = envFirst(env, ...ENV.certFile);
  const caPath = (flags.ca as string | undefined) ?? envFirst(env, ...ENV.ca);
  const common = {
    endpoints,
    insecureSkipVerify: flags.insecure === true,
    ca: caPath ? readCaBundle(caPath) : undefined,
  };
  if (apiKey !== undefined) {
    if (keyFile || certFile) throw new UsageError('both an API key and a client certificate are set: use only one (KES_API_KEY, or KES_CLIENT_CERT and KES_CLIENT_KEY)');
    return new KesClient({ ...common, apiKey: ApiKey.parse(apiKey.trim()) });
  }
  if (keyFile && certFile) {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    const keyPassword = envFirst(env, ...ENV.keyPassword);
    if (key.includes('ENCRYPTED') && keyPassword === undefined) {
      throw new MissingCredentialsError(`the private key '${keyFile}' is encrypted: set KES_CLIENT_KEY_PASSWORD to its password`);
    }
    return new KesClient({ ...common, cert, key, keyPassword });
  }
  if (keyFile || certFile) throw new MissingCredentialsError(`${keyFile ? 'KES_CLIENT_KEY' : 'KES_CLIENT_CERT'} is set but ${keyFile ? 'KES_CLIENT_CERT' : 'KES_CLIENT_KEY'} is not: a client certificate needs both`);
  throw new MissingCredentialsError('no API key specified: set KES_API_KEY (or KES_CLIENT_CERT and KES_CLIENT_KEY); "kes identity new" makes one');
}
