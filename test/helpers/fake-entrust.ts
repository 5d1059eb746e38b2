/**
 * A fake Entrust KeyControl secrets vault for tests: an HTTP server on 127.0.0.1 that answers the
 * vault REST API (`/vault/1.0/<Operation>/`) as protocol.md §9.3 and KeyControl's API describe it.
 * It is not the real service; it is strict where the real one is documented to be:
 *
 * - every operation is `POST`; other methods answer 405, unknown paths 404;
 * - `Login/<vault_id>/` takes `{username, password}` and answers `{access_token, expires_at}`
 *   (RFC 3339); a wrong vault is 404, wrong credentials 401;
 * - every other operation needs a live token in `X-Vault-Auth` (missing, unknown or expired →
 *   401 `{"error": ...}`); `Renew/` answers a new token and expiry for a live one;
 * - bodies must be JSON objects sent as `application/json` (else 400), with the configured
 *   `box_id` (another box → 404 "Box not found");
 * - `CreateSecret` `{box_id, name, secret_data}` (base64) → 409 "Secret already exists" when the
 *   name is taken; `CheckoutSecret` / `DeleteSecret` `{box_id, secret_id}` → 404 "Secret not
 *   found"; `ListSecretIds` `{box_id, max_items, next_token?}` → `{secrets: [{name, expired}],
 *   next_token}` in name order, the token base64 JSON `{box_id, next_ctx}` (next_ctx = the first
 *   name of the next page; "" on the last page); `GetBox` `{box_id}` → the box.
 *
 * Errors are `{"error": "<message>"}` with the HTTP status. Switches for fault tests:
 * {@link FakeEntrust.inject} (answer an operation with an error), {@link FakeEntrust.hang}
 * (accept requests, never answer), {@link FakeEntrust.kill} (destroy every connection and refuse
 * new ones), {@link FakeEntrust.expireTokens}. {@link FakeEntrust.plant} and
 * {@link FakeEntrust.raw} read and write secrets as stored (base64 `secret_data`).
 */
import * as http from 'node:http';
import type { Socket, AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';

export interface FakeEntrustOptions {
  vaultId?: string;
  boxId?: string;
  username?: string;
  password?: string;
  /** Lifetime of issued tokens (default 1 h). */
  tokenLifetimeMs?: number;
}

/** What the fake saw of one request. */
export interface EntrustRequest {
  method: string;
  /** The operation (`Login`, `CreateSecret`, ...), or the raw path when unknown. */
  operation: string;
  token?: string;
  body: Record<string, unknown> | undefined;
}

interface Secret {
  id: string;
  /** base64, as sent in `secret_data`. */
  data: string;
  expired: boolean;
}

const OPERATIONS = new Set(['Renew', 'GetBox', 'CreateSecret', 'CheckoutSecret', 'DeleteSecret', 'ListSecretIds']);

export class FakeEntrust {
  readonly vaultId: string;
  readonly boxId: string;
  readonly username: string;
  readonly password: string;
  tokenLifetimeMs: number;
  readonly requests: EntrustRequest[] = [];
  /** Live tokens and their expiry (ms since epoch). */
  private readonly tokens = new Map<string, number>();
  private readonly secrets = new Map<string, Secret>();
  private readonly sockets = new Set<Socket>();
  private readonly faults = new Map<string, { status: number; error: string; times: number }>();
  /** Answers logins and renewals without `expires_at` (as a service that names no expiry). */
  omitExpiry = false;
  private hanging = false;
  private port = 0;

  private constructor(
    private server: http.Server,
    options: FakeEntrustOptions,
  ) {
    this.vaultId = options.vaultId ?? '6c1a9e4b-1f0e-4c59-a8a3-0f1f4d3b2a10';
    this.boxId = options.boxId ?? 'kes-box';
    this.username = options.username ?? 'kes';
    this.password = options.password ?? 'kes-password';
    this.tokenLifetimeMs = options.tokenLifetimeMs ?? 3_600_000;
  }

  static async start(options: FakeEntrustOptions = {}): Promise<FakeEntrust> {
    const fake = new FakeEntrust(http.createServer(), options);
    await fake.listen(0);
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Open client connections. */
  get connections(): number {
    return this.sockets.size;
  }

  private async listen(port: number): Promise<void> {
    const server = this.server;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
  }

  /** Crashes the service: every connection is destroyed, new ones are refused. */
  async kill(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Starts the killed service again on the same port, with its secrets and tokens. */
  async restart(): Promise<void> {
    this.server = http.createServer();
    await this.listen(this.port);
  }

  /** While on, requests are accepted and read but never answered. */
  hang(on = true): void {
    this.hanging = on;
  }

  /** Answers the next `times` requests of operation with this error. */
  inject(operation: string, status: number, error: string, times = 1): void {
    this.faults.set(operation, { status, error, times });
  }

  /** Every issued token expires now. */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** Stores a secret as the service holds it: secret_data is base64 (as KES sends it). */
  plant(name: string, secretData: string, expired = false): void {
    this.secrets.set(name, { id: randomUUID(), data: secretData, expired });
  }

  /** The stored secret_data (base64) of name. */
  raw(name: string): string | undefined {
    return this.secrets.get(name)?.data;
  }

  names(): string[] {
    return [...this.secrets.keys()].sort();
  }

  requestsOf(operation: string): EntrustRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  async close(): Promise<void> {
    this.hanging = false;
    if (!this.server.listening) return;
    await this.kill();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.hanging) return;
      const raw = Buffer.concat(chunks).toString('utf8');
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const fail = (status: number, error: string) => send(status, { error });
      const path = req.url ?? '';
      const login = /^\/vault\/1\.0\/Login\/([^/]+)\/$/.exec(path);
      const op = /^\/vault\/1\.0\/([A-Za-z]+)\/$/.exec(path)?.[1];
      const operation = login ? 'Login' : op && OPERATIONS.has(op) ? op : path;
      const token = req.headers['x-vault-auth'] as string | undefined;
      let body: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = raw === '' ? undefined : JSON.parse(raw);
        body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
        if (parsed !== undefined && body === undefined) throw new Error('not an object');
      } catch {
        this.requests.push({ method: req.method ?? '', operation, token, body: undefined });
        return fail(400, 'Invalid JSON body');
      }
      this.requests.push({ method: req.method ?? '', operation, token, body });
      if (!login && !(op && OPERATIONS.has(op))) return fail(404, 'Not found');
      if (req.method !== 'POST') return fail(405, 'Method not allowed');
      const fault = this.faults.get(operation);
      if (fault) {
        if (--fault.times <= 0) this.faults.delete(operation);
        return fail(fault.status, fault.error);
      }
      if (login) {
        if (decodeURIComponent(login[1]!) !== this.vaultId) return fail(404, 'Vault not found');
        if (!body || !isJson(req)) return fail(400, 'Invalid request');
        if (body.username !== this.username || body.password !== this.password) return fail(401, 'Invalid username or password');
        return send(200, this.issue());
      }
      const expiry = token ? this.tokens.get(token) : undefined;
      if (expiry === undefined || expiry <= Date.now()) {
        if (token) this.tokens.delete(token);
        return fail(401, 'Unauthorized');
      }
      if (operation === 'Renew') return send(200, this.issue());
      if (!body || !isJson(req)) return fail(400, 'Invalid request');
      if (body.box_id !== this.boxId) return fail(404, 'Box not found');
      switch (operation) {
        case 'GetBox':
          return send(200, { box_id: this.boxId, name: this.boxId, secret_count: this.secrets.size });
        case 'CreateSecret': {
          const name = body.name;
          const data = body.secret_data;
          if (typeof name !== 'string' || name === '' || typeof data !== 'string' || !isBase64(data)) return fail(400, 'Invalid request');
          if (this.secrets.has(name)) return fail(409, 'Secret already exists');
          const id = randomUUID();
          this.secrets.set(name, { id, data, expired: false });
          return send(200, { secret_id: id });
        }
        case 'CheckoutSecret': {
          const secret = typeof body.secret_id === 'string' ? this.secrets.get(body.secret_id) : undefined;
          if (!secret) return fail(404, 'Secret not found');
          return send(200, { secret_id: secret.id, box_id: this.boxId, secret_data: secret.data });
        }
        case 'DeleteSecret': {
          if (typeof body.secret_id !== 'string' || !this.secrets.delete(body.secret_id)) return fail(404, 'Secret not found');
          return send(200, {});
        }
        case 'ListSecretIds': {
          const max = body.max_items;
          if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) return fail(400, 'Invalid request');
          let from = '';
          if (body.next_token !== undefined) {
            try {
              const ctx = JSON.parse(Buffer.from(String(body.next_token), 'base64').toString('utf8')) as { box_id?: unknown; next_ctx?: unknown };
              if (ctx.box_id !== this.boxId || typeof ctx.next_ctx !== 'string' || ctx.next_ctx === '') throw new Error('bad');
              from = ctx.next_ctx;
            } catch {
              return fail(400, 'Invalid next_token');
            }
          }
          const names = this.names().filter((n) => n >= from);
          const page = names.slice(0, max);
          const next = names[max];
          return send(200, {
            secrets: page.map((name) => ({ name, secret_id: this.secrets.get(name)!.id, expired: this.secrets.get(name)!.expired })),
            next_token: next === undefined ? '' : Buffer.from(JSON.stringify({ box_id: this.boxId, next_ctx: next })).toString('base64'),
          });
        }
      }
      return fail(404, 'Not found');
    });
  }

  private issue(): { access_token: string; expires_at?: string } {
    const token = randomBytes(24).toString('hex');
    const expiresAt = Date.now() + this.tokenLifetimeMs;
    this.tokens.set(token, expiresAt);
    return this.omitExpiry ? { access_token: token } : { access_token: token, expires_at: new Date(expiresAt).toISOString() };
  }
}

function isJson(req: http.IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim() === 'application/json';
}

function isBase64(s: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0;
}
