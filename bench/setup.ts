/** Benchmark fixtures: certificates, config files, key files. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ApiKey } from '../src/auth/api-key.js';
import { createCertificate } from '../src/pki/x509.js';
import { createSelfSignedFromApiKey } from '../src/pki/api-key-certificate.js';
import { encodeKeyVersion } from '../src/crypto/key-version.js';
import { SecretKey } from '../src/crypto/secret-key.js';
import { HmacKey } from '../src/crypto/hmac-key.js';
import { Timestamp } from '../src/util/time.js';

export interface Fixtures {
  dir: string;
  serverCert: string;
  serverKey: string;
  /** The admin's client certificate and key (PEM), made from an API key as MinIO does. */
  cert: string;
  key: string;
  admin: ApiKey;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function createFixtures(dir: string): Promise<Fixtures> {
  await mkdir(dir, { recursive: true });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = createCertificate({ commonName: 'localhost', publicKey: server.publicKey, signingKey: server.privateKey, extKeyUsage: ['serverAuth'], dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const serverCert = join(dir, 'server.crt');
  const serverKey = join(dir, 'server.key');
  await writeFile(serverCert, cert.pem);
  await writeFile(serverKey, server.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const admin = ApiKey.generate();
  return { dir, serverCert, serverKey, cert: createSelfSignedFromApiKey(admin).pem, key: admin.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), admin };
}

/** A KES config file with the filesystem store; extra YAML is appended (e.g. policies). */
export async function writeConfig(f: Fixtures, name: string, port: number, keysDir: string, extra = ''): Promise<string> {
  const path = join(f.dir, name);
  await writeFile(
    path,
    `version: v1\naddress: 127.0.0.1:${port}\nadmin:\n  identity: ${f.admin.identity}\ntls:\n  key: ${f.serverKey}\n  cert: ${f.serverCert}\n${extra}keystore:\n  fs:\n    path: ${keysDir}\n`,
  );
  return path;
}

/** Writes count key files (valid KES entries) named <prefix>-<n> into dir, quickly. */
export async function writeKeyFiles(dir: string, prefix: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entry = encodeKeyVersion({ key: SecretKey.generate('AES256'), hmacKey: HmacKey.generate(), createdAt: Timestamp.now(), createdBy: 'bench' });
  for (let i = 0; i < count; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - i) }, (_, j) => writeFile(join(dir, `${prefix}-${String(i + j).padStart(6, '0')}`), entry, { mode: 0o600 })));
  }
}
