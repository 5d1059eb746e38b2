/**
 * `kes server --workers N` as a child process, for tests of what spans its workers: a config
 * file from the test PKI, and requests that each open a new connection, so that they spread over
 * the workers (node:cluster hands connections out in turn).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type RunningCli } from '../cli/run-cli.js';
import { createTestPki, type TestCert, type TestPki } from './certs.js';
import { httpsClient, type TestResponse } from './https-client.js';
import { serverConfigYaml } from './server-config-file.js';

export interface ClusterServer {
  cli: RunningCli;
  port: number;
  pki: TestPki;
  admin: TestCert;
  dir: string;
  /** One request on a new connection. */
  once(method: string, path: string, body?: string | object): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  workers?: number;
  /** The `keystore:` section's body (indented two spaces); default: the filesystem store in dir. */
  keystore?: (dir: string) => string;
  /** Whole sections between `tls:` and `keystore:` (cache, log, api, policies). */
  sections?: string;
  /** Another server's PKI and admin, so that both trust the same client certificates. */
  share?: ClusterServer;
}

export async function startClusterServer(options: ClusterOptions = {}): Promise<ClusterServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kes-cluster-'));
  const pki = options.share?.pki ?? createTestPki();
  const admin = options.share?.admin ?? pki.client({ commonName: 'admin' });
  pki.writeFiles(dir);
  let yaml = serverConfigYaml({ admin: admin.identity, dir, sections: options.sections ?? '' });
  if (options.keystore) yaml = yaml.replace(/keystore:\n[^]*$/, `keystore:\n${options.keystore(dir)}`);
  const file = join(dir, 'config.yml');
  writeFileSync(file, yaml);
  const cli = startCli(['server', '--config', file, '--workers', String(options.workers ?? 2)]);
  try {
    const port = Number((await cli.waitFor(/https:\/\/127\.0\.0\.1:(\d+)/))[1]);
    await cli.waitFor(/Server is up and running/);
    return {
      cli,
      port,
      pki,
      admin,
      dir,
      async once(method, path, body) {
        const c = httpsClient(port, pki.ca.certPem, admin);
        try {
          return await c.request(method, path, body);
        } finally {
          c.close();
        }
      },
      async close() {
        cli.child.kill('SIGTERM');
        const timer = setTimeout(() => cli.child.kill('SIGKILL'), 5000);
        await cli.exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    cli.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
