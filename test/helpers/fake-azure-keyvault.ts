/**
 * A fake Azure Key Vault with its Microsoft Entra ID token endpoint, for tests: one HTTP server
 * on 127.0.0.1 that answers as the REST API reference (api-version 7.4) documents it.
 *
 * Token endpoints:
 * - `POST /<tenant>/oauth2/v2.0/token`, `application/x-www-form-urlencoded`, with
 *   `grant_type=client_credentials`, `client_id`, `client_secret` and `scope=https://vault.azure.net/.default`
 *   → `{"token_type":"Bearer","expires_in":<s>,"ext_expires_in":<s>,"access_token"}`; errors as
 *   Entra ID answers them: `{"error":"invalid_client"|"invalid_request"|"unsupported_grant_type"|
 *   "invalid_scope","error_description":"AADSTS…"}` (400/401).
 * - IMDS `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net[&client_id]`
 *   with header `Metadata: true` → `{"access_token","expires_in":"<s>",…}` (strings, as IMDS answers).
 *
 * Vault (every request needs `api-version=7.4` and a valid, unexpired `Authorization: Bearer`;
 * without one: 401 with `WWW-Authenticate: Bearer authorization=…, resource=…` and
 * `{"error":{"code":"Unauthorized","message"}}`):
 * - `GET /` without a token → 401 like every vault path (status probes only need an answer).
 * - `PUT /secrets/<name>` `{"value","contentType"?}` → 200 SecretBundle (a new version); 409
 *   `Conflict` with innererror `ObjectIsDeletedButRecoverable` / `ObjectIsBeingDeleted` while a
 *   deleted secret of that name exists.
 * - `GET /secrets/<name>[/<version>]` → SecretBundle; 404 `SecretNotFound`; 403 `Forbidden`
 *   (innererror `SecretDisabled`) for a disabled version.
 * - `PATCH /secrets/<name>/<version>` `{"attributes":{"enabled"}}` → SecretBundle without value.
 * - `GET /secrets/<name>/versions?maxresults=n` and `GET /secrets?maxresults=n` (1…25) → `{"value":
 *   [SecretItem], "nextLink"}` paged with `$skiptoken`, in no particular order.
 * - `DELETE /secrets/<name>` → DeletedSecretBundle; the secret is then soft-deleted (recoverable)
 *   until purged. `DELETE /deletedsecrets/<name>` → 204 (purge); 404 `SecretNotFound` when not
 *   deleted; 409 `ObjectIsBeingDeleted` during `deletionDelayMs`; 403 `Forbidden` with purge
 *   protection. `GET /deletedsecrets/<name>` → DeletedSecretBundle. `POST /deletedsecrets/<name>/recover` → SecretBundle.
 * - `GET /<tenant>/v2.0/.well-known/openid-configuration`: OpenID Connect discovery (MSAL reads it).
 * Errors are `{"error":{"code","message","innererror"?}}`; other methods are 405.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export const FAKE_TENANT = '72f988bf-0000-4000-8000-000000000001';
export const FAKE_CLIENT_ID = '1b3c5d7e-0000-4000-8000-000000000002';
export const FAKE_CLIENT_SECRET = 'fake~client~secret~value';
export const FAKE_MANAGED_CLIENT_ID = '9a8b7c6d-0000-4000-8000-000000000003';
const RESOURCE = 'https://vault.azure.net';
const NAME = /^[0-9A-Za-z-]{1,127}$/;

export interface FakeAzureKeyVaultOptions {
  /** Lifetime of issued tokens, seconds (default 3599). */
  tokenLifetimeSec?: number;
  /** How long a deleted secret is "being deleted" (purge and PUT answer ObjectIsBeingDeleted), ms (default 0). */
  deletionDelayMs?: number;
  /** The vault has purge protection: purges are refused. */
  purgeProtection?: boolean;
}

interface Version {
  id: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  created: number;
  updated: number;
  nbf?: number;
  exp?: number;
}

interface Secret {
  versions: Version[];
  /** Set when soft-deleted: epoch ms of deletion. */
  deletedAt?: number;
}

/** A request as received. */
export interface RecordedAzureRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: string;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
  ) {
    super(message);
  }
}

export class FakeAzureKeyVault {
  readonly requests: RecordedAzureRequest[] = [];
  private readonly secrets = new Map<string, Secret>();
  private readonly tokens = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  /** When set, requests are accepted but never answered. */
  hanging = false;
  /** Answers the next n vault requests with 500 InternalServerError. */
  failNext = 0;
  options: FakeAzureKeyVaultOptions;

  private constructor(
    private readonly server: http.Server,
    options: FakeAzureKeyVaultOptions,
  ) {
    this.options = { ...options };
  }

  static async start(options: FakeAzureKeyVaultOptions = {}, port = 0): Promise<FakeAzureKeyVault> {
    const server = http.createServer();
    const fake = new FakeAzureKeyVault(server, options);
    server.on('connection', (s: Socket) => {
      fake.sockets.add(s);
      s.on('close', () => fake.sockets.delete(s));
    });
    server.on('request', (req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Open connections to the fake. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Makes every issued token invalid (as if it had expired). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /**
   * Plants a version of a secret directly, as KES (or another client) would have written it.
   * @returns the version id
   */
  plant(name: string, value: string, attrs: { created?: number; enabled?: boolean; contentType?: string; nbf?: number; exp?: number } = {}): string {
    const s = this.secrets.get(name) ?? { versions: [] };
    this.secrets.set(name, s);
    const created = attrs.created ?? Math.floor(Date.now() / 1000);
    const v: Version = { id: randomBytes(16).toString('hex'), value, enabled: attrs.enabled ?? true, created, updated: created };
    if (attrs.contentType !== undefined) v.contentType = attrs.contentType;
    if (attrs.nbf !== undefined) v.nbf = attrs.nbf;
    if (attrs.exp !== undefined) v.exp = attrs.exp;
    s.versions.push(v);
    return v.id;
  }

  /** The versions of a secret in creation order (deleted secrets included), as stored. */
  versionsOf(name: string): Version[] {
    return [...(this.secrets.get(name)?.versions ?? [])];
  }

  /** Whether the secret is soft-deleted (recoverable). */
  isDeleted(name: string): boolean {
    return this.secrets.get(name)?.deletedAt !== undefined;
  }

  /** Soft-deletes a secret directly (as a user in the portal would). */
  softDelete(name: string): void {
    const s = this.secrets.get(name);
    if (s) s.deletedAt = Date.now();
  }

  /** Drops every connection at once (a killed service); the server keeps listening unless close() is called. */
  kill(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.kill();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, authorization: req.headers.authorization, body });
    if (this.hanging) return; // accepted, never answered
    try {
      if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(url.pathname)) return this.tokenEndpoint(req, res, url, body);
      if (url.pathname === '/metadata/identity/oauth2/token') return this.imds(req, res, url);
      if (/^\/[^/]+\/v2\.0\/\.well-known\/openid-configuration$/.test(url.pathname)) return this.openidConfiguration(req, res, url);
      this.vault(req, res, url, body);
    } catch (err) {
      if (err instanceof ApiError) return this.sendError(res, err);
      this.sendError(res, new ApiError(500, 'InternalServerError', String(err)));
    }
  }

  private issue(): { token: string; lifetime: number } {
    const lifetime = this.options.tokenLifetimeSec ?? 3599;
    const token = `fake.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, Date.now() + lifetime * 1000);
    return { token, lifetime };
  }

  private tokenEndpoint(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): void {
    const aad = (status: number, error: string, description: string) => this.sendJson(res, status, { error, error_description: description, error_codes: [], timestamp: new Date().toISOString() });
    if (req.method !== 'POST') return aad(405, 'invalid_request', 'AADSTS900561: The endpoint only accepts POST requests.');
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return aad(400, 'invalid_request', 'AADSTS900144: The request body must contain the following parameter: grant_type.');
    const tenant = decodeURIComponent(url.pathname.split('/')[1]!);
    if (tenant !== FAKE_TENANT) return aad(400, 'invalid_request', `AADSTS90002: Tenant '${tenant}' not found.`);
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') return aad(400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.');
    if (form.get('client_id') !== FAKE_CLIENT_ID) return aad(400, 'unauthorized_client', `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`);
    if (form.get('client_secret') !== FAKE_CLIENT_SECRET) return aad(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    if (form.get('scope') !== `${RESOURCE}/.default`) return aad(400, 'invalid_scope', `AADSTS70011: The provided value for the input parameter 'scope' is not valid.`);
    const { token, lifetime } = this.issue();
    this.sendJson(res, 200, { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token });
  }

  /**
   * OpenID Connect discovery of a tenant (MSAL, and so the Azure SDK, reads it before asking for
   * tokens). The addresses are built from the Host header, so that a TLS front works too.
   */
  private openidConfiguration(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (req.method !== 'GET') return this.sendJson(res, 405, { error: 'invalid_request', error_description: 'method not allowed' });
    const tenant = decodeURIComponent(url.pathname.split('/')[1]!);
    if (tenant !== FAKE_TENANT) return this.sendJson(res, 400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenant}' not found.` });
    const base = `${req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'}://${req.headers.host ?? '127.0.0.1'}/${tenant}`;
    this.sendJson(res, 200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      issuer: `${base}/v2.0`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    });
  }

  private imds(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (req.method !== 'GET') return this.sendJson(res, 405, { error: 'invalid_request', error_description: 'method not allowed' });
    if (req.headers.metadata !== 'true') return this.sendJson(res, 400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
    if (url.searchParams.get('api-version') !== '2018-02-01') return this.sendJson(res, 400, { error: 'invalid_request', error_description: 'Invalid api-version' });
    if (url.searchParams.get('resource') !== RESOURCE) return this.sendJson(res, 400, { error: 'invalid_resource', error_description: 'AADSTS500011: resource not found' });
    const clientId = url.searchParams.get('client_id');
    if (clientId !== null && clientId !== FAKE_MANAGED_CLIENT_ID) return this.sendJson(res, 400, { error: 'invalid_request', error_description: 'Identity not found' });
    const { token, lifetime } = this.issue();
    const now = Math.floor(Date.now() / 1000);
    this.sendJson(res, 200, { access_token: token, client_id: clientId ?? FAKE_MANAGED_CLIENT_ID, expires_in: String(lifetime), expires_on: String(now + lifetime), not_before: String(now), resource: RESOURCE, token_type: 'Bearer' });
  }

  private vault(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): void {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (\S+)$/.exec(auth);
    const expiry = m ? this.tokens.get(m[1]!) : undefined;
    if (expiry === undefined || expiry <= Date.now()) {
      res.setHeader('www-authenticate', `Bearer authorization="https://login.microsoftonline.com/${FAKE_TENANT}", resource="${RESOURCE}"`);
      throw new ApiError(401, 'Unauthorized', m ? 'AKV10032: Invalid issuer or expired token.' : 'AKV10000: Request is missing a Bearer or PoP token.');
    }
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null) throw new ApiError(400, 'BadParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    if (apiVersion !== '7.4') throw new ApiError(400, 'BadParameter', `The specified version (${apiVersion}) is not recognized.`);
    if (this.failNext > 0) {
      this.failNext--;
      throw new ApiError(500, 'InternalServerError', 'The service encountered an internal error.');
    }
    // A trailing slash (`/secrets/<name>/`, an empty version) means the latest version, as in the service.
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent).filter((p, i, all) => p !== '' || i < all.length - 1);
    const method = req.method ?? '';
    if (parts[0] === 'secrets' && parts.length === 1) {
      if (method !== 'GET') throw notAllowed(method);
      const all = [...this.secrets.entries()].filter(([, s]) => s.deletedAt === undefined && s.versions.length > 0);
      return this.page(res, url, all.map(([name, s]) => this.item(name, s.versions[s.versions.length - 1]!, false)));
    }
    if (parts[0] === 'secrets' && parts.length >= 2 && parts.length <= 3) {
      const name = parts[1]!;
      if (!NAME.test(name)) throw new ApiError(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
      const s = this.secrets.get(name);
      const live = s && s.deletedAt === undefined && s.versions.length > 0 ? s : undefined;
      if (parts.length === 3 && parts[2] === 'versions') {
        if (method !== 'GET') throw notAllowed(method);
        if (!live) throw notFound(name);
        return this.page(res, url, [...live.versions].reverse().map((v) => this.item(name, v, true)));
      }
      if (method === 'PUT' && parts.length === 2) {
        if (s?.deletedAt !== undefined) {
          const beingDeleted = Date.now() - s.deletedAt < (this.options.deletionDelayMs ?? 0);
          const inner = beingDeleted ? 'ObjectIsBeingDeleted' : 'ObjectIsDeletedButRecoverable';
          throw new ApiError(409, 'Conflict', `Secret ${name} is currently ${beingDeleted ? 'being deleted' : 'in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged'}.`, inner);
        }
        let parsed: { value?: unknown; contentType?: unknown };
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          throw new ApiError(400, 'BadParameter', 'The request body is not valid JSON.');
        }
        if (typeof parsed.value !== 'string') throw new ApiError(400, 'BadParameter', 'Property value is required.');
        if (Buffer.byteLength(parsed.value) > 25 * 1024) throw new ApiError(400, 'BadParameter', 'Secret value is too large (25 KB maximum).');
        const id = this.plant(name, parsed.value, typeof parsed.contentType === 'string' ? { contentType: parsed.contentType } : {});
        const v = this.secrets.get(name)!.versions.find((x) => x.id === id)!;
        return this.sendJson(res, 200, this.bundle(name, v, true));
      }
      if (method === 'GET') {
        if (!live) throw notFound(name);
        const v = parts.length === 3 ? live.versions.find((x) => x.id === parts[2]) : live.versions[live.versions.length - 1];
        if (!v) throw new ApiError(404, 'SecretNotFound', `A secret with (name/id) ${name}/${parts[2]} was not found in this key vault.`);
        if (!v.enabled) throw new ApiError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
        return this.sendJson(res, 200, this.bundle(name, v, true));
      }
      if (method === 'PATCH' && parts.length === 3) {
        if (!live) throw notFound(name);
        const v = live.versions.find((x) => x.id === parts[2]);
        if (!v) throw notFound(name);
        const patch = JSON.parse(body || '{}') as { attributes?: { enabled?: unknown } };
        if (typeof patch.attributes?.enabled === 'boolean') v.enabled = patch.attributes.enabled;
        v.updated = Math.floor(Date.now() / 1000);
        return this.sendJson(res, 200, this.bundle(name, v, false));
      }
      if (method === 'DELETE' && parts.length === 2) {
        if (!live) throw notFound(name);
        live.deletedAt = Date.now();
        const last = live.versions[live.versions.length - 1]!;
        const now = Math.floor(Date.now() / 1000);
        return this.sendJson(res, 200, { ...this.bundle(name, last, false), recoveryId: `${this.url}/deletedsecrets/${name}`, deletedDate: now, scheduledPurgeDate: now + 90 * 86400 });
      }
      throw notAllowed(method);
    }
    if (parts[0] === 'deletedsecrets' && parts.length >= 2) {
      const name = parts[1]!;
      const s = this.secrets.get(name);
      if (!s || s.deletedAt === undefined) throw new ApiError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
      if (method === 'DELETE' && parts.length === 2) {
        if (Date.now() - s.deletedAt < (this.options.deletionDelayMs ?? 0)) throw new ApiError(409, 'Conflict', `Secret ${name} is currently being deleted.`, 'ObjectIsBeingDeleted');
        if (this.options.purgeProtection) throw new ApiError(403, 'Forbidden', `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault will automatically purge it after the configured retention period.`);
        this.secrets.delete(name);
        res.writeHead(204);
        return void res.end();
      }
      if (method === 'GET' && parts.length === 2) {
        const last = s.versions[s.versions.length - 1]!;
        const deletedDate = Math.floor(s.deletedAt / 1000);
        return this.sendJson(res, 200, { ...this.bundle(name, last, false), recoveryId: `${this.url}/deletedsecrets/${name}`, deletedDate, scheduledPurgeDate: deletedDate + 90 * 86400 });
      }
      if (method === 'POST' && parts[2] === 'recover') {
        delete s.deletedAt;
        return this.sendJson(res, 200, this.bundle(name, s.versions[s.versions.length - 1]!, false));
      }
      throw notAllowed(method);
    }
    throw new ApiError(404, 'NotFound', `The requested path ${url.pathname} was not found.`);
  }

  private page(res: http.ServerResponse, url: URL, items: object[]): void {
    const max = Number(url.searchParams.get('maxresults') ?? '25');
    if (!Number.isInteger(max) || max < 1 || max > 25) throw new ApiError(400, 'BadParameter', 'maxresults must be between 1 and 25.');
    const skip = Number(Buffer.from(url.searchParams.get('$skiptoken') ?? '', 'base64url').toString() || '0');
    const slice = items.slice(skip, skip + max);
    let nextLink: string | null = null;
    if (skip + max < items.length) {
      const next = new URL(url.pathname, this.url);
      next.searchParams.set('api-version', '7.4');
      next.searchParams.set('$skiptoken', Buffer.from(String(skip + max)).toString('base64url'));
      next.searchParams.set('maxresults', String(max));
      nextLink = next.href;
    }
    this.sendJson(res, 200, { value: slice, nextLink });
  }

  private attributes(v: Version): object {
    return { enabled: v.enabled, created: v.created, updated: v.updated, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90, ...(v.nbf !== undefined ? { nbf: v.nbf } : {}), ...(v.exp !== undefined ? { exp: v.exp } : {}) };
  }

  private item(name: string, v: Version, withVersion: boolean): object {
    return { id: `${this.url}/secrets/${name}${withVersion ? `/${v.id}` : ''}`, attributes: this.attributes(v), ...(v.contentType !== undefined ? { contentType: v.contentType } : {}) };
  }

  private bundle(name: string, v: Version, withValue: boolean): object {
    return { ...(withValue ? { value: v.value } : {}), id: `${this.url}/secrets/${name}/${v.id}`, attributes: this.attributes(v), ...(v.contentType !== undefined ? { contentType: v.contentType } : {}) };
  }

  private sendJson(res: http.ServerResponse, status: number, body: object): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendError(res: http.ServerResponse, err: ApiError): void {
    this.sendJson(res, err.status, { error: { code: err.code, message: err.message, ...(err.inner ? { innererror: { code: err.inner } } : {}) } });
  }
}

function notFound(name: string): ApiError {
  return new ApiError(404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`);
}

function notAllowed(method: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
}
