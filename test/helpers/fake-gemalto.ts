/**
 * A fake Thales CipherTrust Manager (formerly Gemalto KeySecure) for the gemalto key store's
 * tests: the calls KES makes (protocol.md §9.3), request by request, as the CipherTrust REST API
 * documents them, and strict about what the service would refuse.
 *
 * - `POST /api/v1/auth/tokens` with a JSON body `{"grant_type":"refresh_token","refresh_token",
 *   "domain"}` → 200 `{"jwt","duration","token_type":"Bearer","client_id","refresh_token_id"}`;
 *   an unknown refresh token, another grant type or a wrong domain → 401.
 * - Every `/api/v1/vault/...` request needs `Authorization: Bearer <jwt>` with a JWT this fake
 *   issued and that has not expired (`duration` seconds after issue) → else 401.
 * - `POST /api/v1/vault/secrets` `{"name","dataType","material"}` → 201 (the resource, without
 *   material); a taken name → 409; a missing name or material, or an unknown dataType → 400.
 * - `POST /api/v1/vault/secrets/<id>/export[?type=name]` → 200 with `material`; unknown → 404.
 *   Without `type=name` the path segment is a secret's ID (a UUID), as in the service.
 * - `DELETE /api/v1/vault/secrets/<id>[?type=name]` → 204; unknown → 404.
 * - `GET /api/v1/vault/secrets?limit=&skip=` → `{"skip","limit","total","resources":[...]}`,
 *   newest first (not by name), so a client must sort.
 * - Any other method on a known path → 405; unknown paths → 404. Errors have CipherTrust's shape
 *   `{"code","codeDesc","message"}`.
 *
 * Faults: `kill()` closes the listener and every socket (`restart()` listens again on the same
 * port, data kept), `hang = true` accepts requests and never answers, `inject()` answers the next
 * requests of a route with an error.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';

export interface FakeGemaltoOptions {
  /** The refresh token the fake accepts (default: a random one). */
  refreshToken?: string;
  /** The domain the refresh token belongs to ('' = root: '' or no domain accepted). */
  domain?: string;
  /** Lifetime of issued JWTs, in seconds (default 300). */
  durationS?: number;
  /** Serve HTTPS with this certificate and key (PEM) instead of HTTP. */
  tls?: { certPem: string; keyPem: string };
}

/** A secret as the fake holds it. */
export interface FakeSecret {
  id: string;
  name: string;
  dataType: string;
  material: string;
  createdAt: string;
}

/** A request the fake received. */
export interface FakeGemaltoRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body: unknown;
}

interface Fault {
  route: string;
  status: number;
  times: number;
}

const DATA_TYPES = new Set(['seed', 'password', 'blob']);

export class FakeGemalto {
  readonly refreshToken: string;
  readonly domain: string;
  durationS: number;
  /** Requests are accepted and never answered while true. */
  hang = false;
  readonly requests: FakeGemaltoRequest[] = [];

  private readonly secrets = new Map<string, FakeSecret>(); // by name
  private readonly jwts = new Map<string, number>(); // jwt -> expiry (Date.now())
  private readonly sockets = new Set<Socket>();
  private readonly faults: Fault[] = [];
  private server: http.Server;
  private port = 0;
  private readonly tls: { certPem: string; keyPem: string } | undefined;

  private constructor(options: FakeGemaltoOptions) {
    this.refreshToken = options.refreshToken ?? randomBytes(24).toString('base64url');
    this.domain = options.domain ?? '';
    this.durationS = options.durationS ?? 300;
    this.tls = options.tls;
    this.server = this.newServer();
  }

  static async start(options: FakeGemaltoOptions = {}): Promise<FakeGemalto> {
    const fake = new FakeGemalto(options);
    await fake.listen();
    return fake;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** How many client connections are open now. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Requests of one route, e.g. `POST /api/v1/auth/tokens`. */
  requestsOf(route: string): FakeGemaltoRequest[] {
    return this.requests.filter((r) => `${r.method} ${r.path}` === route || `${r.method} ${routeOf(r.path)}` === route);
  }

  /** Plants a secret directly, as KES would have written it (no request). */
  plant(name: string, material: string, dataType = 'seed'): FakeSecret {
    const s = { id: randomUUID(), name, dataType, material, createdAt: new Date().toISOString() };
    this.secrets.set(name, s);
    return s;
  }

  /** The secret of name, as stored. */
  secret(name: string): FakeSecret | undefined {
    return this.secrets.get(name);
  }

  /** Makes every issued JWT expire now. */
  expireTokens(): void {
    for (const jwt of this.jwts.keys()) this.jwts.set(jwt, 0);
  }

  /** The next `times` requests of route (`METHOD /path` with `{id}` for a secret) answer status. */
  inject(route: string, status: number, times = 1): void {
    this.faults.push({ route, status, times });
  }

  /** Closes the listener and every client connection. */
  async kill(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port; the secrets are kept. */
  async restart(): Promise<void> {
    this.server = this.newServer();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    this.hang = false;
    await this.kill();
  }

  private newServer(): http.Server {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    const server = this.tls ? https.createServer({ cert: this.tls.certPem, key: this.tls.keyPem }, handler) : http.createServer(handler);
    server.on(this.tls ? 'secureConnection' : 'connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private listen(port = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.hang) return; // accepted, never answered
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      let badJson = false;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          badJson = true;
        }
      }
      const request: FakeGemaltoRequest = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization, body };
      this.requests.push(request);
      const answer = (status: number, payload?: unknown) => {
        const data = payload === undefined ? '' : JSON.stringify(payload);
        res.writeHead(status, payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
        res.end(data);
      };
      const fault = this.faults.find((f) => f.route === `${request.method} ${routeOf(request.path)}`);
      if (fault) {
        if (--fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
        return answer(fault.status, apiError(fault.status, 'injected fault'));
      }
      if (badJson) return answer(400, apiError(400, 'invalid JSON body'));
      if (body !== undefined && !String(req.headers['content-type'] ?? '').startsWith('application/json')) return answer(415, apiError(415, 'Content-Type must be application/json'));
      this.route(request, answer);
    });
  }

  private route(r: FakeGemaltoRequest, answer: (status: number, payload?: unknown) => void): void {
    if (r.path === '/') return answer(200, { ok: true }); // the web UI's root: status probes
    if (r.path === '/api/v1/auth/tokens') {
      if (r.method !== 'POST') return answer(405, apiError(405, 'method not allowed'));
      return this.tokens(r, answer);
    }
    if (!r.path.startsWith('/api/v1/vault/')) return answer(404, apiError(404, 'Resource not found'));
    const auth = /^Bearer (.+)$/.exec(r.authorization ?? '');
    const expiry = auth ? this.jwts.get(auth[1]!) : undefined;
    if (expiry === undefined) return answer(401, apiError(401, 'Unauthorized'));
    if (expiry <= Date.now()) return answer(401, apiError(401, 'Token is expired'));

    const route = routeOf(r.path);
    const id = r.path.split('/')[5] === undefined ? undefined : decodeURIComponent(r.path.split('/')[5]!);
    const byName = r.query.type === 'name';
    const find = (key: string) => (byName ? this.secrets.get(key) : [...this.secrets.values()].find((s) => s.id === key));
    switch (route) {
      case '/api/v1/vault/secrets':
        if (r.method === 'POST') return this.create(r.body, answer);
        if (r.method === 'GET') return this.list(r.query, answer);
        return answer(405, apiError(405, 'method not allowed'));
      case '/api/v1/vault/secrets/{id}/export': {
        if (r.method !== 'POST') return answer(405, apiError(405, 'method not allowed'));
        const s = find(id!);
        if (!s) return answer(404, apiError(404, 'Resource not found'));
        return answer(200, { ...resource(s), material: s.material });
      }
      case '/api/v1/vault/secrets/{id}': {
        if (r.method === 'DELETE') {
          const s = find(id!);
          if (!s) return answer(404, apiError(404, 'Resource not found'));
          this.secrets.delete(s.name);
          return answer(204);
        }
        if (r.method === 'GET') {
          const s = find(id!);
          if (!s) return answer(404, apiError(404, 'Resource not found'));
          return answer(200, resource(s));
        }
        return answer(405, apiError(405, 'method not allowed'));
      }
      default:
        return answer(404, apiError(404, 'Resource not found'));
    }
  }

  private tokens(r: FakeGemaltoRequest, answer: (status: number, payload?: unknown) => void): void {
    const b = r.body as { grant_type?: unknown; refresh_token?: unknown; domain?: unknown } | undefined;
    if (typeof b !== 'object' || b === null) return answer(400, apiError(400, 'body required'));
    if (b.grant_type !== 'refresh_token') return answer(400, apiError(400, `unsupported grant_type '${String(b.grant_type)}'`));
    const domain = b.domain === undefined ? '' : b.domain;
    if (b.refresh_token !== this.refreshToken || domain !== this.domain) return answer(401, apiError(401, 'Invalid refresh token'));
    const jwt = `${randomBytes(12).toString('base64url')}.${randomBytes(24).toString('base64url')}.${randomBytes(16).toString('base64url')}`;
    this.jwts.set(jwt, Date.now() + this.durationS * 1000);
    return answer(200, { jwt, duration: this.durationS, token_type: 'Bearer', client_id: 'fake-client', refresh_token_id: 'fake-refresh-token-id' });
  }

  private create(body: unknown, answer: (status: number, payload?: unknown) => void): void {
    const b = body as { name?: unknown; dataType?: unknown; material?: unknown } | undefined;
    if (typeof b !== 'object' || b === null) return answer(400, apiError(400, 'body required'));
    if (typeof b.name !== 'string' || b.name === '') return answer(400, apiError(400, 'name is required'));
    if (typeof b.dataType !== 'string' || !DATA_TYPES.has(b.dataType)) return answer(400, apiError(400, 'invalid dataType'));
    if (typeof b.material !== 'string' || b.material === '') return answer(400, apiError(400, 'material is required'));
    if (this.secrets.has(b.name)) return answer(409, apiError(409, 'Resource already exists'));
    const s = this.plant(b.name, b.material, b.dataType);
    return answer(201, resource(s));
  }

  private list(query: Record<string, string>, answer: (status: number, payload?: unknown) => void): void {
    const limit = query.limit === undefined ? 10 : Number(query.limit);
    const skip = query.skip === undefined ? 0 : Number(query.skip);
    if (!Number.isInteger(limit) || limit < 0 || limit > 1000 || !Number.isInteger(skip) || skip < 0) return answer(400, apiError(400, 'invalid limit or skip'));
    const all = [...this.secrets.values()].reverse(); // newest first
    return answer(200, { skip, limit, total: all.length, resources: all.slice(skip, skip + limit).map(resource) });
  }
}

/** The route of a path, with `{id}` for the secret segment. */
function routeOf(path: string): string {
  const parts = path.split('/');
  if (parts.length >= 6 && parts.slice(0, 5).join('/') === '/api/v1/vault/secrets') {
    return ['/api/v1/vault/secrets/{id}', ...parts.slice(6)].join('/');
  }
  return path;
}

function resource(s: FakeSecret): Record<string, unknown> {
  return { id: s.id, uri: `kylo:kylo:vault:secrets:${s.id}`, account: 'kylo:kylo:admin:accounts:kylo', name: s.name, dataType: s.dataType, createdAt: s.createdAt, updatedAt: s.createdAt, state: 'Active' };
}

const CODES: Record<number, [number, string]> = {
  400: [4, 'NCERRInvalidParamValue: Invalid parameter value'],
  401: [10, 'NCERRUnauthorized: Unauthorized'],
  404: [5, 'NCERRResourceNotFound: Resource not found'],
  405: [4, 'NCERRMethodNotAllowed: Method not allowed'],
  409: [7, 'NCERRConflict: Resource already exists'],
  415: [4, 'NCERRInvalidParamValue: Invalid content type'],
};

/** CipherTrust's error body. */
function apiError(status: number, message: string): { code: number; codeDesc: string; message: string } {
  const [code, codeDesc] = CODES[status] ?? [1, 'NCERRInternalServerError: Internal server error'];
  return { code, codeDesc, message };
}
