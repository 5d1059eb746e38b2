/**
 * A fake Fortanix DSM (SDKMS) for tests: an HTTP server on 127.0.0.1 that answers the calls of
 * the DSM REST API the Fortanix store makes, as the API reference (the DSM OpenAPI document)
 * describes them:
 *
 * - `GET /sys/v1/health` → 204, without authentication;
 * - `POST /sys/v1/session/auth` with `Authorization: Basic <api key>` → 200 `{"token_type":
 *   "Bearer", "expires_in", "access_token", "entity_id"}`;
 * - `POST /sys/v1/session/terminate` with the bearer token → 204, the token is revoked;
 * - `PUT /crypto/v1/keys` (ImportSobject) → 201 with the security object (no value);
 * - `POST /crypto/v1/keys/export` (ExportSobject) `{"name"}` or `{"kid"}` → 200 with `value`;
 * - `DELETE /crypto/v1/keys/<kid>` (DeleteSobject) → 204;
 * - `GET /crypto/v1/keys` (ListSobjects) with `sort=name:asc|desc`, `limit`, `start`, `name`,
 *   `group_id` → a JSON array of objects without values.
 *
 * Strict where the service is: every `/crypto` call needs a bearer token that is known, not
 * terminated and not expired (`expires_in` seconds after login), else 401; the API key is
 * accepted only at `/sys/v1/session/auth` (so a client that sends it elsewhere fails); unknown
 * paths are 404 and known paths with another method 405; bodies must be JSON objects; names
 * must match the API's name pattern; OPAQUE objects must carry a base64 `value`; a taken name
 * is 409; an object without the EXPORT operation cannot be exported (403); a group that does
 * not exist is 404. The API reference documents no error bodies: errors are answered as plain
 * text, as KES's client expects them (the 409 text is KES's, protocol.md §9.3).
 *
 * `start` of a listing: the reference says only "Initial security object Name"; whether that
 * object is part of the page is a switch (`startInclusive`, default false), so tests cover both.
 *
 * Faults: {@link FakeFortanix.kill} closes the server and every connection; {@link
 * FakeFortanix.hang} accepts requests and never answers them; {@link FakeFortanix.inject}
 * answers one path with an error; {@link FakeFortanix.expireTokens} ends every session.
 * {@link FakeFortanix.plant} stores an object as KES writes it, without a request.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeFortanixOptions {
  /** The API key accepted at /sys/v1/session/auth (default: base64 of `<app uuid>:<secret>`). */
  apiKey?: string;
  /** Token lifetime in seconds, `expires_in` (default 600). */
  tokenLifetimeSec?: number;
  /** Groups that exist; the first is the app's default group (default: one random group). */
  groups?: string[];
  /** Whether a listing's page includes the object named `start` (default false). */
  startInclusive?: boolean;
  /** A port to listen on (for restarts); default any free port. */
  port?: number;
  /** Serve HTTPS with this certificate (e.g. createTestPki().server). */
  tls?: { certPem: string; keyPem: string };
}

/** A stored security object (the fields the fake keeps). */
export interface FakeSobject {
  kid: string;
  name: string;
  obj_type: string;
  group_id: string;
  key_ops: string[];
  enabled: boolean;
  /** base64, as sent. */
  value: string;
  created_at: string;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** `basic`, `bearer` or `none`. */
  auth: string;
  body: unknown;
}

const NAME = /^[^\n]*[^\s\n][^\n]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class FakeFortanix {
  readonly apiKey: string;
  readonly groups: string[];
  readonly requests: FakeRequest[] = [];
  tokenLifetimeSec: number;
  startInclusive: boolean;
  private readonly objects = new Map<string, FakeSobject>(); // by kid
  private readonly tokens = new Map<string, number>(); // token → expiry (Date.now() ms)
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<http.ServerResponse>();
  private faults: { path: string; status: number; text: string; times: number }[] = [];
  private hung = false;
  private server: http.Server | undefined;
  private readonly tls: { certPem: string; keyPem: string } | undefined;
  private constructor(options: FakeFortanixOptions) {
    this.tls = options.tls;
    this.apiKey = options.apiKey ?? Buffer.from(`${randomUUID()}:${randomBytes(24).toString('base64url')}`).toString('base64');
    this.groups = options.groups ?? [randomUUID()];
    this.tokenLifetimeSec = options.tokenLifetimeSec ?? 600;
    this.startInclusive = options.startInclusive ?? false;
  }

  static async start(options: FakeFortanixOptions = {}): Promise<FakeFortanix> {
    const fake = new FakeFortanix(options);
    await fake.listen(options.port ?? 0);
    return fake;
  }

  private port = 0;
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Connections open now (accepted and not yet closed). */
  get openConnections(): number {
    return this.sockets.size;
  }

  private async listen(port: number): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    const server: http.Server = this.tls ? https.createServer({ cert: this.tls.certPem, key: this.tls.keyPem }, handler) : http.createServer(handler);
    this.server = server;
    server.keepAliveTimeout = 60_000;
    server.on(this.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
  }

  /** Accepts requests but answers none (until hang(false), which answers nothing either: held requests stay open until kill). */
  hang(on = true): void {
    this.hung = on;
  }

  /** Stops listening and destroys every connection (a crash); the data stays for restart(). */
  async kill(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.held.clear();
    await closed;
  }

  /** Listens again on the same port with the same data. */
  async restart(): Promise<void> {
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    if (this.server?.listening) await this.kill();
  }

  /** Answers the next `times` requests to path (e.g. `/crypto/v1/keys/export`) with status and text. */
  inject(path: string, status: number, text: string, times = 1): void {
    this.faults.push({ path, status, text, times });
  }

  /** Ends every session: later requests with their tokens get 401. */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** Stores an object as KES writes it (OPAQUE, EXPORT + APPMANAGEABLE), without a request. */
  plant(name: string, valueBase64: string, extra: Partial<FakeSobject> = {}): FakeSobject {
    const object: FakeSobject = {
      kid: randomUUID(),
      name,
      obj_type: 'OPAQUE',
      group_id: this.groups[0]!,
      key_ops: ['EXPORT', 'APPMANAGEABLE'],
      enabled: true,
      value: valueBase64,
      created_at: timestamp(),
      ...extra,
    };
    this.objects.set(object.kid, object);
    return object;
  }

  /** The stored object of that name. */
  object(name: string): FakeSobject | undefined {
    return this.byName(name);
  }

  /** Every stored name. */
  names(): string[] {
    return [...this.objects.values()].map((o) => o.name);
  }

  /** Requests to a path (without query). */
  requestsTo(method: string, path: string): FakeRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  private byName(name: string): FakeSobject | undefined {
    for (const o of this.objects.values()) if (o.name === name) return o;
    return undefined;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.hung) {
        this.held.add(res);
        return;
      }
      const url = new URL(req.url ?? '/', 'http://x');
      const authorization = req.headers.authorization ?? '';
      const auth = authorization.startsWith('Basic ') ? 'basic' : authorization.startsWith('Bearer ') ? 'bearer' : 'none';
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = undefined;
      let badJson = false;
      if (raw !== '') {
        try {
          body = JSON.parse(raw);
        } catch {
          badJson = true;
        }
      }
      this.requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), auth, body });
      const fault = this.faults.find((f) => f.path === url.pathname && f.times > 0);
      if (fault) {
        fault.times--;
        return text(res, fault.status, fault.text);
      }
      try {
        this.route(req.method ?? '', url, authorization, body, badJson, res);
      } catch (err) {
        text(res, 500, `internal error: ${(err as Error).message}`);
      }
    });
  }

  private route(method: string, url: URL, authorization: string, body: unknown, badJson: boolean, res: http.ServerResponse): void {
    const path = url.pathname;
    const allow = (methods: string[]) => {
      if (methods.includes(method)) return true;
      res.setHeader('Allow', methods.join(', '));
      text(res, 405, 'method not allowed');
      return false;
    };
    if (path === '/' || path === '') {
      if (allow(['GET'])) text(res, 200, 'Fortanix DSM');
      return;
    }
    if (path === '/sys/v1/health') {
      if (allow(['GET'])) end(res, 204);
      return;
    }
    if (path === '/sys/v1/session/auth') {
      if (!allow(['POST'])) return;
      if (authorization !== `Basic ${this.apiKey}`) return text(res, 401, 'invalid API key');
      const token = randomBytes(32).toString('base64url');
      this.tokens.set(token, Date.now() + this.tokenLifetimeSec * 1000);
      return json(res, 200, { token_type: 'Bearer', expires_in: this.tokenLifetimeSec, access_token: token, entity_id: randomUUID() });
    }
    const known = path === '/sys/v1/session/terminate' || path === '/crypto/v1/keys' || path === '/crypto/v1/keys/export' || /^\/crypto\/v1\/keys\/[^/]+$/.test(path);
    if (!known) return text(res, 404, 'not found');
    // Everything else needs a live session.
    const token = authorization.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    const expiry = token === undefined ? undefined : this.tokens.get(token);
    if (expiry === undefined || expiry <= Date.now()) {
      if (token !== undefined) this.tokens.delete(token);
      return text(res, 401, token === undefined ? 'authentication required' : 'session expired or invalid');
    }
    if (badJson) return text(res, 400, 'invalid JSON body');

    if (path === '/sys/v1/session/terminate') {
      if (!allow(['POST'])) return;
      this.tokens.delete(token!);
      return end(res, 204);
    }
    if (path === '/crypto/v1/keys') {
      if (!allow(['GET', 'PUT', 'POST'])) return;
      if (method === 'GET') return this.list(url, res);
      if (method === 'POST') return text(res, 400, 'objects of type OPAQUE cannot be generated; import them');
      return this.import(body, res);
    }
    if (path === '/crypto/v1/keys/export') {
      if (!allow(['POST'])) return;
      if (!isObject(body)) return text(res, 400, 'missing request body');
      const object = typeof body.kid === 'string' ? this.objects.get(body.kid) : typeof body.name === 'string' ? this.byName(body.name) : undefined;
      if (typeof body.kid !== 'string' && typeof body.name !== 'string') return text(res, 400, 'expected a security object descriptor: kid or name');
      if (!object) return text(res, 404, 'sobject does not exist');
      if (!object.key_ops.includes('EXPORT')) return text(res, 403, 'operation not allowed: the security object is not exportable');
      return json(res, 200, view(object, true));
    }
    // /crypto/v1/keys/<kid>
    if (!allow(['GET', 'PATCH', 'DELETE'])) return;
    const kid = decodeURIComponent(path.slice('/crypto/v1/keys/'.length));
    const object = this.objects.get(kid);
    if (!object) return text(res, 404, 'sobject does not exist');
    if (method === 'GET') return json(res, 200, view(object, false));
    if (method === 'PATCH') return text(res, 400, 'not supported by this fake');
    this.objects.delete(kid);
    return end(res, 204);
  }

  private import(body: unknown, res: http.ServerResponse): void {
    if (!isObject(body)) return text(res, 400, 'missing request body');
    const { name, obj_type, value, key_ops, group_id, enabled } = body;
    if (typeof name !== 'string' || name.length > 4096 || !NAME.test(name)) return text(res, 400, 'invalid or missing name');
    if (typeof obj_type !== 'string') return text(res, 400, 'missing obj_type');
    if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) return text(res, 400, 'value must be base64');
    if (key_ops !== undefined && (!Array.isArray(key_ops) || !key_ops.every((o) => typeof o === 'string'))) return text(res, 400, 'invalid key_ops');
    if (group_id !== undefined && (typeof group_id !== 'string' || !this.groups.includes(group_id))) return text(res, 404, 'group does not exist');
    if (enabled !== undefined && typeof enabled !== 'boolean') return text(res, 400, 'invalid enabled');
    if (this.byName(name)) return text(res, 409, 'sobject already exists');
    const object: FakeSobject = {
      kid: randomUUID(),
      name,
      obj_type,
      group_id: (group_id as string | undefined) ?? this.groups[0]!,
      key_ops: (key_ops as string[] | undefined) ?? ['APPMANAGEABLE'],
      enabled: (enabled as boolean | undefined) ?? true,
      value,
      created_at: timestamp(),
    };
    this.objects.set(object.kid, object);
    json(res, 201, view(object, false));
  }

  private list(url: URL, res: http.ServerResponse): void {
    const q = url.searchParams;
    const sort = q.get('sort');
    if (sort !== null && !/^(name|kid):(asc|desc)$/.test(sort)) return text(res, 400, `invalid sort '${sort}'`);
    const limitText = q.get('limit');
    const limit = limitText === null ? 1000 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) return text(res, 400, 'invalid limit');
    const start = q.get('start');
    if (start !== null && sort === null) return text(res, 400, 'start requires sort');
    if (start !== null && sort?.startsWith('name') && !NAME.test(start)) return text(res, 400, 'invalid start');
    const field = sort?.startsWith('kid') ? 'kid' : 'name';
    const desc = sort?.endsWith(':desc') ?? false;
    let items = [...this.objects.values()];
    const name = q.get('name');
    if (name !== null) items = items.filter((o) => o.name === name);
    const group = q.get('group_id');
    if (group !== null) items = items.filter((o) => o.group_id === group);
    items.sort((a, b) => Buffer.compare(Buffer.from(a[field]), Buffer.from(b[field])) * (desc ? -1 : 1));
    if (start !== null) {
      const s = Buffer.from(start);
      items = items.filter((o) => {
        const c = Buffer.compare(Buffer.from(o[field]), s) * (desc ? -1 : 1);
        return this.startInclusive ? c >= 0 : c > 0;
      });
    }
    const offset = Number(q.get('offset') ?? 0);
    json(res, 200, items.slice(offset, offset + limit).map((o) => view(o, false)));
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The object as the API shows it; the value only when exported. */
function view(o: FakeSobject, withValue: boolean): Record<string, unknown> {
  const { value, ...rest } = o;
  return { ...rest, ...(withValue ? { value } : {}) };
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function text(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(message);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function end(res: http.ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}
