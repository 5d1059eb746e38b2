/**
 * The console's HTTP server (docs/console.md "Security"): the page's files and its JSON API on a
 * loopback address. Every answer carries a strict Content-Security-Policy and no-sniff/no-frame
 * headers; requests for another Host are refused (DNS rebinding); the API needs the session
 * cookie, and every state change the session's CSRF token and a same-origin Origin.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CSRF_HEADER } from './api-types.js';
import { ConsoleError, errorAnswer } from './errors.js';
import { matchRoute, type ApiContext, type ApiRoute } from './router.js';
import { sameSecret, type LoginGate, type Session } from './session.js';
import type { StaticFiles } from './static.js';
import type { ConsoleBackend } from './backend.js';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

/** The largest JSON body the API reads. */
const MAX_BODY = 64 * 1024;

export interface ConsoleServerOptions {
  gate: LoginGate;
  backend: ConsoleBackend;
  files: StaticFiles;
  routes: readonly ApiRoute[];
}

/** The cookie of a console on this port (cookies do not tell ports apart). */
export function cookieName(port: number): string {
  return `openkes_console_${port}`;
}

/** What a request is checked against, known once the server listens. */
interface Bound {
  /** host:port spellings this console answers to: its own address, and localhost's. */
  hosts: Set<string>;
  cookie: string;
}

export function createConsoleServer(o: ConsoleServerOptions): HttpServer {
  let bound: Bound = { hosts: new Set(), cookie: '' };
  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    handle(o, bound, req, res).catch((err: unknown) => sendError(res, err));
  });
  server.on('listening', () => {
    const { address, family, port } = server.address() as AddressInfo;
    const own = family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`;
    bound = { hosts: new Set([own, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]), cookie: cookieName(port) };
  });
  return server;
}

async function handle(o: ConsoleServerOptions, bound: Bound, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const host = req.headers.host ?? '';
  if (!bound.hosts.has(host.toLowerCase())) throw new ConsoleError(421, `this console does not answer for host '${host}'`);
  const url = new URL(req.url ?? '/', `http://${host}`);
  const method = req.method ?? 'GET';
  if (!url.pathname.startsWith('/api/')) {
    if (method !== 'GET' && method !== 'HEAD') throw new ConsoleError(405, 'method not allowed');
    return o.files.serve(url.pathname, req, res);
  }

  const found = matchRoute(o.routes, method, url.pathname);
  if (!found) throw new ConsoleError(404, 'no such API');
  const { route, params } = found;
  const changes = method !== 'GET' && method !== 'HEAD';
  if (changes) checkOrigin(req, host);

  const cookie = parseCookies(req.headers.cookie)[bound.cookie];
  const session = o.gate.session(cookie);
  if (!route.public) {
    if (!session) throw new ConsoleError(401, 'not signed in');
    if (changes && !sameSecret(String(req.headers[CSRF_HEADER] ?? ''), session.csrf)) throw new ConsoleError(403, 'missing or wrong CSRF token');
  }

  const ctx: ApiContext = {
    req,
    res,
    params,
    query: url.searchParams,
    body: changes ? await readJson(req) : undefined,
    session: session as Session,
    gate: o.gate,
    backend: o.backend,
    cookie: { name: bound.cookie, value: cookie },
  };
  const answer = await route.handler(ctx);
  if (route.stream) return; // the handler answered
  if (answer === undefined) {
    res.writeHead(204, { 'cache-control': 'no-store' }).end();
    return;
  }
  const status = route.method === 'POST' && route.created ? 201 : 200;
  sendJson(res, status, answer);
}

/**
 * A state change must come from the console's own page: browsers send Origin with every
 * cross-site POST, PUT and DELETE. (The CSRF token is checked too, for signed-in routes.)
 */
function checkOrigin(req: IncomingMessage, host: string): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) throw new ConsoleError(403, 'cross-origin request refused');
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ConsoleError(403, 'cross-site request refused');
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json(;|$)/i.test(type)) throw new ConsoleError(415, 'the body must be JSON (Content-Type: application/json)');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ConsoleError(413, 'request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConsoleError(400, 'the body is not valid JSON');
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const { status, message, headers } = errorAnswer(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { message }, headers);
}
