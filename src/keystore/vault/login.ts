/**
 * How the Vault key store obtains a token (protocol.md §9.3 "Auth"): a static token from the
 * config, or a login with AppRole or Kubernetes service account credentials.
 */
import { systemErrorText } from '../../util/system-error.js';
import { readFile } from 'node:fs/promises';
import { sep } from 'node:path';
import type { VaultConfig } from './config.js';
import { VaultResponseError, vaultErrors, type VaultHttpClient } from './http-client.js';
import { KeyStoreUnreachableError } from '../keystore.js';

/** A Vault token and what Vault said about its lifetime. */
export interface TokenLease {
  token: string;
  /** Remaining lifetime in milliseconds when obtained; 0 = the token never expires. */
  ttlMs: number;
  /** Whether `auth/token/renew-self` can extend it. */
  renewable: boolean;
  /** The namespace the token lives in ('' = root): renewals and lookups go there. */
  namespace: string;
}

/** A way to get a token. */
export interface LoginMethod {
  /** For messages: `token`, `approle` or `kubernetes`. */
  readonly kind: string;
  /** Whether login() can produce a fresh token (a static token cannot be replaced). */
  readonly canRelogin: boolean;
  /**
   * Obtains a token.
   * @throws KeyStoreUnreachableError when Vault cannot be reached; VaultResponseError when it
   *   refuses the credentials
   */
  login(http: VaultHttpClient): Promise<TokenLease>;
}

/** The namespace a login goes to: the method's own (`/` = root) or else the store's. */
export function loginNamespace(override: string | undefined, storeNamespace: string | undefined): string {
  return normalizeNamespace(override ?? storeNamespace);
}

/** Trims slashes: `/` and '' mean the root namespace (no header). */
export function normalizeNamespace(namespace: string | undefined): string {
  return (namespace ?? '').replace(/^\/+|\/+$/g, '');
}

/** The login method of a config (exactly one of token, approle or kubernetes is set). */
export function loginMethodFor(config: VaultConfig): LoginMethod {
  if (config.approle) return new AppRoleLogin(config.approle, config.namespace);
  if (config.kubernetes) return new KubernetesLogin(config.kubernetes, config.namespace);
  if (config.token !== undefined) return new StaticToken(config.token, config.namespace);
  throw new Error('vault: no authentication configured (token, approle or kubernetes)');
}

/**
 * A token given in the config (`token:`). Its lifetime is looked up with
 * `auth/token/lookup-self`; when that is not allowed the token is used as it is.
 */
export class StaticToken implements LoginMethod {
  readonly kind = 'token';
  readonly canRelogin = false;
  private readonly namespace: string;

  constructor(
    private readonly token: string,
    namespace: string | undefined,
  ) {
    this.namespace = normalizeNamespace(namespace);
  }

  async login(http: VaultHttpClient): Promise<TokenLease> {
    const res = await http.send({ method: 'GET', path: '/v1/auth/token/lookup-self', token: this.token, namespace: this.namespace });
    if (res.status === 200) {
      const data = (res.body as { data?: { ttl?: unknown; renewable?: unknown; expire_time?: unknown } } | undefined)?.data;
      const ttl = typeof data?.ttl === 'number' ? data.ttl : 0;
      // TTL 0 means "never expires" only without an expiry time; with one, less than a second is left.
      const ttlMs = ttl > 0 ? ttl * 1000 : typeof data?.expire_time === 'string' ? 1000 : 0;
      return { token: this.token, ttlMs, renewable: data?.renewable === true, namespace: this.namespace };
    }
    const err = new VaultResponseError(res.status, vaultErrors(res.body));
    if (isUnavailableStatus(res.status)) throw new KeyStoreUnreachableError(`token lookup: ${err.message}`);
    if (res.status !== 403) throw err;
    // 403: expired, revoked, or a token without the default policy, which may not look itself
    // up. Only its use can tell: keep it, without renewals.
    return { token: this.token, ttlMs: 0, renewable: false, namespace: this.namespace };
  }
}

/** A login at an auth engine: `POST /v1/auth/<engine>/login` with the method's credentials. */
abstract class EngineLogin implements LoginMethod {
  abstract readonly kind: string;
  readonly canRelogin = true;
  private readonly namespace: string;

  constructor(
    private readonly engine: string,
    namespace: string | undefined,
    storeNamespace: string | undefined,
  ) {
    this.namespace = loginNamespace(namespace, storeNamespace);
  }

  async login(http: VaultHttpClient): Promise<TokenLease> {
    return postLogin(http, this.kind, this.engine, this.namespace, await this.credentials());
  }

  protected abstract credentials(): object | Promise<object>;
}

/** AppRole login: `{"role_id","secret_id"}`. */
export class AppRoleLogin extends EngineLogin {
  readonly kind = 'approle';

  constructor(
    private readonly approle: NonNullable<VaultConfig['approle']>,
    storeNamespace: string | undefined,
  ) {
    super(approle.engine, approle.namespace, storeNamespace);
  }

  protected credentials(): object {
    return { role_id: this.approle.id, secret_id: this.approle.secret };
  }
}

/**
 * Kubernetes login: `{"role","jwt"}`. A JWT containing a path separator is the path of the
 * service account token file, read again at every login because Kubernetes rotates it.
 */
export class KubernetesLogin extends EngineLogin {
  readonly kind = 'kubernetes';

  constructor(
    private readonly kubernetes: NonNullable<VaultConfig['kubernetes']>,
    storeNamespace: string | undefined,
  ) {
    super(kubernetes.engine, kubernetes.namespace, storeNamespace);
  }

  protected async credentials(): Promise<object> {
    return { role: this.kubernetes.role, jwt: await this.jwt() };
  }

  private async jwt(): Promise<string> {
    const jwt = this.kubernetes.jwt;
    if (!jwt.includes('/') && !jwt.includes(sep)) return jwt;
    try {
      return (await readFile(jwt, 'utf8')).trim();
    } catch (err) {
      throw new Error(`cannot read the service account token file '${jwt}': ${systemErrorText(err)}`);
    }
  }
}

async function postLogin(http: VaultHttpClient, kind: string, engine: string, namespace: string, credentials: object): Promise<TokenLease> {
  const path = `/v1/auth/${engine.split('/').filter(Boolean).map(encodeURIComponent).join('/')}/login`;
  const res = await http.send({ method: 'POST', path, body: credentials, namespace });
  if (res.status !== 200) {
    const err = new VaultResponseError(res.status, vaultErrors(res.body));
    if (isUnavailableStatus(res.status)) throw new KeyStoreUnreachableError(`${kind} login: ${err.message}`);
    throw new VaultResponseError(res.status, [`${kind} login failed`, ...err.errors]);
  }
  return leaseOf(res.body, namespace, `${kind} login`);
}

/** The token lease in the `auth` object of a login or renew-self answer. */
export function leaseOf(body: unknown, namespace: string, what: string): TokenLease {
  const auth = (body as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } } | undefined)?.auth;
  if (typeof auth?.client_token !== 'string' || auth.client_token === '') throw new Error(`${what}: the answer has no auth.client_token`);
  const ttl = typeof auth.lease_duration === 'number' ? auth.lease_duration : 0;
  return { token: auth.client_token, ttlMs: ttl * 1000, renewable: auth.renewable === true, namespace };
}

/**
 * Statuses meaning "Vault cannot serve now" rather than "Vault refuses": sealed or standby
 * without an active node (503), a gateway in front of it (502, 504), or rate limiting (429).
 */
export function isUnavailableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}
