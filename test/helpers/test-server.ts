/**
 * Starts a real server in-process for tests: TLS material from the test PKI, the in-memory (or
 * a given) key store, an admin certificate, and log sinks captured in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { KesServer, type StartOptions } from '../../src/server/server.js';
import { serverConfig } from '../../src/config/defaults.js';
import type { ServerConfig } from '../../src/config/types.js';
import { createTestPki, type TestCert, type TestPki } from './certs.js';
import { httpsClient, http2Client, type TestClient } from './https-client.js';

export interface TestServer {
  server: KesServer;
  port: number;
  pki: TestPki;
  admin: TestCert;
  config: ServerConfig;
  dir: string;
  /** Everything written to the error log (stderr) and the audit log (stdout). */
  stderr: () => string;
  stdout: () => string;
  /** A keep-alive HTTP/1.1 client with the given certificate (default: the admin's). */
  client(cert?: TestCert | null): TestClient;
  http2(cert?: TestCert | null): TestClient;
  close(): Promise<void>;
}

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

/** Adjusts a test server's config; dir holds its TLS files (TestPki.writeFiles). */
export type Configure = (c: ServerConfig, pki: TestPki, dir: string) => void;

/**
 * The set-up of a test server: a new test PKI, an admin certificate, a temporary folder with the
 * TLS files, and the config (see {@link startTestServer}) after `configure`.
 */
export function testServerConfig(configure: Configure, prefix = 'kes-test-'): { pki: TestPki; admin: TestCert; dir: string; config: ServerConfig } {
  const pki = createTestPki();
  const admin = pki.client({ commonName: 'admin' });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const files = pki.writeFiles(dir);
  const config = serverConfig({
    address: '127.0.0.1:0',
    admin: admin.identity,
    tls: { keyFile: files.keyFile, certFile: files.certFile, auth: 'off' },
    keystore: { type: 'mem' },
  });
  configure(config, pki, dir);
  return { pki, admin, dir, config };
}

/**
 * @param configure adjusts the config (defaults: admin = a fresh client certificate, no
 *   policies, in-memory store, every other field at its default)
 * @param start more options of KesServer.start
 */
export async function startTestServer(configure: Configure = () => undefined, start: StartOptions = {}): Promise<TestServer> {
  const { pki, admin, dir, config } = testServerConfig(configure);
  const out = capture();
  const err = capture();
  let server: KesServer;
  try {
    server = await KesServer.start(config, { ...start, stdout: out.stream, stderr: err.stream });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const port = server.address.port;
  const clients: TestClient[] = [];
  const track = (c: TestClient) => (clients.push(c), c);
  return {
    server,
    port,
    pki,
    admin,
    config,
    dir,
    stderr: err.text,
    stdout: out.text,
    client: (cert = admin) => track(httpsClient(port, pki.ca.certPem, cert ?? undefined)),
    http2: (cert = admin) => track(http2Client(port, pki.ca.certPem, cert ?? undefined)),
    async close() {
      for (const c of clients) c.close();
      await server.close(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A configure function for {@link startTestServer}: client certificates verified against the test CA (`tls.auth: on`). */
export function verifyClients(config: ServerConfig, _pki: TestPki, dir: string): void {
  config.tls.auth = 'on';
  config.tls.caPath = join(dir, 'ca.crt');
}
