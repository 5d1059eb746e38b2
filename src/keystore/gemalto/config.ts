/**
 * The `keystore.gemalto.keysecure` section (Thales CipherTrust Manager / Gemalto KeySecure,
 * protocol.md §13.2); the store is keysecure.ts.
 */
import { compact, type ConfigNode } from '../../config/config-node.js';

export type GemaltoConfig = { type: 'gemalto'; endpoint: string; token: string; domain?: string; caPath?: string };

/** `gemalto.keysecure`: endpoint and token required (`credentials.retry` is ignored). */
export function readGemaltoConfig(keysecure: ConfigNode): GemaltoConfig {
  const creds = keysecure.section('credentials');
  creds.ignore('retry'); // KES ≤ v0.22: the login retry interval; openkes does not use it
  return compact({
    type: 'gemalto' as const,
    endpoint: keysecure.required('endpoint'),
    token: creds.required('token'),
    domain: creds.optional('domain'),
    caPath: keysecure.section('tls').optional('ca'),
  });
}
