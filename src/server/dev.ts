/**
 * `kes server --dev` (protocol.md §20.21): an ephemeral server for trying things out. In-memory key
 * store, a self-signed ECDSA P-256 server certificate, and a fresh admin API key whose client
 * certificate and key are written, with the server certificate, to a new temporary folder.
 *
 * The folder holds credentials: it is removed when the server stops, whatever the reason, and
 * one left behind by a process that could not remove it (killed, crashed) is removed by the
 * next `--dev` start. Each folder records the process that owns it.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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

const DEV_PREFIX = 'kes-dev-';
/** The owner of a dev folder: `<pid> <start time>` (the start time tells a reused PID apart). */
const OWNER_FILE = 'owner';

/** The start time of a process (Linux: /proc/<pid>/stat field 22); '' where unknown. */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function isRunning(pid: number, startTime: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return startTime === '' || startTimeOf(pid) === '' || startTimeOf(pid) === startTime;
}

/**
 * Removes the dev folders of processes that are gone. Folders of running dev servers, and
 * folders without an owner record (being created, or not made by this version), are kept.
 * @returns the folders removed
 */
export function removeAbandonedDevFolders(parent = tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(DEV_PREFIX));
  } catch {
    return removed;
  }
  for (const name of names) {
    const dir = join(parent, name);
    try {
      if (!statSync(dir).isDirectory()) continue;
      const [pid, startTime = ''] = readFileSync(join(dir, OWNER_FILE), 'utf8').trim().split(' ');
      if (!/^\d+$/.test(pid ?? '') || isRunning(Number(pid), startTime)) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // No owner record, or not ours to read: leave it.
    }
  }
  return removed;
}

/** Removes the dev folder; safe to call more than once, and from an 'exit' handler. */
export function removeDevSetup(dev: DevSetup): void {
  rmSync(dev.dir, { recursive: true, force: true });
}

export async function createDevSetup(address = DEV_ADDRESS): Promise<DevSetup> {
  removeAbandonedDevFolders();
  const dir = await mkdtemp(join(tmpdir(), DEV_PREFIX));
  await writeFile(join(dir, OWNER_FILE), `${process.pid} ${startTimeOf(process.pid)}\n`, { mode: 0o644 });
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
