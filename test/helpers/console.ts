/**
 * A web console in the test process, in front of a test server: the real ConsoleBackend,
 * LoginGate, route table and HTTP server on a free loopback port, with the admin's certificate as
 * the operator's credentials. Plus a small HTTP client that keeps the session cookie.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ConsoleBackend } from '../../src/console/backend.js';
import { createConsoleServer } from '../../src/console/http.js';
import { CONSOLE_ROUTES } from '../../src/console/routes.js';
import { LoginGate, type LoginGateOptions } from '../../src/console/session.js';
import { DEFAULT_ASSETS_DIR, StaticFiles } from '../../src/console/static.js';
import type { ClientOptions } from '../../src/client/client.js';
import type { TestServer } from './test-server.js';
import { ROOT } from '../cli/run-cli.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface TestConsole {
  url: string;
  port: number;
  gate: LoginGate;
  backend: ConsoleBackend;
  /** A request to the console; headers default to a same-origin JSON request with the session's cookie and CSRF token. */
  fetch(method: string, path: string, o?: { body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<Answer>;
  /** Signs in with the access token: the session cookie and CSRF token are used from now on. */
  login(): Promise<Answer>;
  session: { cookie?: string; csrf?: string };
  close(): Promise<void>;
}

/** A test server (in-process, or a cluster in a child process): where it is and its admin. */
type ServerOf = Pick<TestServer, 'port' | 'admin' | 'pki'>;

/** The operator's connection to a test server: the admin's certificate. */
export function adminClientOptions(t: ServerOf, extraEndpoints: string[] = []): ClientOptions {
  return { endpoints: [`https://127.0.0.1:${t.port}`, ...extraEndpoints], cert: t.admin.certPem, key: t.admin.keyPem, ca: [t.pki.ca.certPem], timeoutMs: 10_000 };
}

/** The built page (npm run build), built now when it is missing. */
export function builtAssets(): string {
  if (!existsSync(join(DEFAULT_ASSETS_DIR, 'index.html'))) execFileSync(process.execPath, ['scripts/build-console.mjs'], { cwd: ROOT, stdio: 'inherit' });
  return DEFAULT_ASSETS_DIR;
}

/** An assets folder of one page, for tests of the API that need no browser. */
function stubAssets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'console-assets-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>openkes console</title>');
  writeFileSync(join(dir, 'app.js'), 'export {};\n');
  return dir;
}

export async function startConsole(
  t: ServerOf,
  o: { gate?: LoginGateOptions; assets?: string; extraEndpoints?: string[]; metricsIntervalMs?: number; client?: ClientOptions } = {},
): Promise<TestConsole> {
  const stub = o.assets === undefined ? stubAssets() : undefined;
  const backend = new ConsoleBackend(o.client ?? adminClientOptions(t, o.extraEndpoints), o.metricsIntervalMs);
  const gate = new LoginGate(o.gate);
  const server = createConsoleServer({ gate, backend, files: new StaticFiles(o.assets ?? stub), routes: CONSOLE_ROUTES });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const session: TestConsole['session'] = {};

  const send = (method: string, path: string, f: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const payload = f.raw ?? (f.body !== undefined ? JSON.stringify(f.body) : method === 'GET' ? undefined : '{}');
      const headers: Record<string, string> = {
        // Node sends no chunked body for DELETE: the length must be given.
        ...(payload !== undefined && { 'content-type': 'application/json', origin, 'content-length': String(Buffer.byteLength(payload)) }),
        ...(session.cookie !== undefined && { cookie: session.cookie }),
        ...(session.csrf !== undefined && method !== 'GET' && { 'x-csrf-token': session.csrf }),
        ...f.headers,
      };
      const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(payload);
    });

  return {
    url: `${origin}/?token=${gate.token}`,
    port,
    gate,
    backend,
    session,
    fetch: send,
    async login() {
      const answer = await send('POST', '/api/login', { body: { token: gate.token } });
      const cookie = ([] as string[]).concat(answer.headers['set-cookie'] ?? [])[0];
      if (answer.status === 200 && cookie) {
        session.cookie = cookie.split(';')[0];
        session.csrf = answer.json<{ csrf: string }>().csrf;
      }
      return answer;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await backend.close();
      if (stub) rmSync(stub, { recursive: true, force: true });
    },
  };
}
