/**
 * `kes server --dev` (decisions.md): an ephemeral server for trying things out. In-memory key
 * store, a self-signed ECDSA P-256 server certificate, and a fresh admin API key whose client
 * certificate and key are written, with the server certificate, to a new temporary folder.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { ApiKey } from '../auth/api-key.js';
import { createCertificate } from '../pki/x509.js';
import { createSelfSignedFromApiKey } from '../pki/api-key-certificate.js';
import { serverConfig } from '../config/defaults.js';
import type { ServerConfig } from '../config/types.js';

export const DEV_ADDRESS = '127.0.0.1:7373';

export interface DevSetup {
  config: ServerConfig;
  /** The folder holding server.crt, admin.crt and admin.key. */
  dir: string;
  /** The admin's API key: a development credential, printed once in the banner. */
  apiKey: ApiKey;
  files: { serverCert: string; adminCert: string; adminKey: string };
}

/** Every IP address of this machine's interfaces, plus the loopback addresses. */
export function interfaceAddresses(): string[] {
  const ips = new Set(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) ips.add(a.address.split('%')[0]!);
  return [...ips];
}

export async function createDevSetup(address = DEV_ADDRESS): Promise<DevSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'kes-dev-'));
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serverCert = createCertificate({
    commonName: 'localhost',
    publicKey: server.publicKey,
    signingKey: server.privateKey,
    extKeyUsage: ['serverAuth'],
    dnsNames: ['localhost'],
    ipAddresses: interfaceAddresses(),
  });
  const apiKey = ApiKey.generate();
  const adminCert = createSelfSignedFromApiKey(apiKey);

  const files = { serverCert: join(dir, 'server.crt'), adminCert: join(dir, 'admin.crt'), adminKey: join(dir, 'admin.key') };
  const serverKeyFile = join(dir, 'server.key');
  await writeFile(serverKeyFile, server.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(files.serverCert, serverCert.pem, { mode: 0o644 });
  await writeFile(files.adminKey, apiKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(files.adminCert, adminCert.pem, { mode: 0o644 });

  const config = serverConfig({
    address,
    admin: apiKey.identity,
    tls: { keyFile: serverKeyFile, certFile: files.serverCert, auth: 'off' },
    keystore: { type: 'mem' },
  });
  return { config, dir, apiKey, files };
}
