/**
 * A client's connection from its options, for both SDK clients (KES's and MinKMS's): the TLS
 * client certificate — made in memory from an API key, or given with its private key — the CA
 * trust and the endpoints.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createSelfSignedFromApiKey } from '../pki/api-key-certificate.js';
import { Transport } from './transport.js';

/** The options both clients share; each adds its own API keys. */
export interface ConnectionOptions {
  /** One endpoint or several (failover); `https://` is added when missing. */
  endpoints: string | readonly string[];
  /** Or authenticate with a client certificate and its private key (PEM). */
  cert?: string;
  key?: string;
  /** Password of an encrypted PEM private key. */
  keyPassword?: string;
  /** CA certificates (PEM) to trust for the server certificate, instead of the system roots. */
  ca?: string | readonly string[];
  /** Do not verify the server certificate. Insecure: for tests and dev servers only. */
  insecureSkipVerify?: boolean;
  /** Time limit per request in milliseconds (default 30 s; log streams have none). */
  timeoutMs?: number;
}

/** A parsed API key: the key pair a self-signed client certificate is made for. */
export interface SigningKey {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  /** The hex identity (the certificate's CN unless commonName says otherwise). */
  readonly identity: string;
}

/**
 * The transport of a client.
 * @param apiKey the client's API key, if it authenticates with one
 * @param commonName the CN of the certificate made for the API key (default: its hex identity)
 * @throws TypeError for an API key together with a certificate, or half a certificate
 */
export function connect(options: ConnectionOptions, apiKey?: SigningKey, commonName?: string): Transport {
  let { cert, key } = options;
  if (apiKey !== undefined) {
    if (cert !== undefined || key !== undefined) throw new TypeError('use either an API key or a certificate and key, not both');
    cert = createSelfSignedFromApiKey(apiKey, 90, commonName).pem;
    key = apiKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  } else if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError('a client certificate needs its private key, and the reverse');
  }
  if (key !== undefined && options.keyPassword !== undefined) {
    key = createPrivateKey({ key, format: 'pem', passphrase: options.keyPassword }).export({ type: 'pkcs8', format: 'pem' }).toString();
  }
  const endpoints = typeof options.endpoints === 'string' ? options.endpoints.split(',') : options.endpoints;
  const ca = typeof options.ca === 'string' ? options.ca : options.ca ? [...options.ca] : undefined;
  return new Transport(endpoints, { cert, key, ca, insecureSkipVerify: options.insecureSkipVerify }, options.timeoutMs ?? 30_000);
}
