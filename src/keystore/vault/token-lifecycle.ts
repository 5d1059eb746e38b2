/**
 * The token lifecycle of the Vault key store (protocol.md §9.3 "Token renewal"): one current
 * token, renewed in the background before it expires, replaced by a new login when renewal
 * fails or no longer extends it, and replaced on demand when Vault rejects it.
 *
 * - A token with a TTL is renewed (`auth/token/renew-self`) after `renewFraction` (80 %) of
 *   it, up to three tries (no retry after a 4xx answer).
 * - A new login replaces it when the renewal fails, when the token is not renewable, or when
 *   a renewal returns less than half the TTL of the login (the token nears its max TTL).
 * - Failed logins are retried every `retryMs`; nothing is attempted while Vault is sealed.
 * - Logins are single-flight: concurrent callers share one.
 * - A static token cannot be replaced: it is only renewed, and used until Vault rejects it.
 */
import { KeyStoreUnreachableError } from '../keystore.js';
import { VaultResponseError, vaultErrors, type VaultHttpClient } from './http-client.js';
import { isUnavailableStatus, leaseOf, type LoginMethod, type TokenLease } from './login.js';

/** Options of {@link TokenLifecycle}. */
export interface TokenLifecycleOptions {
  /** Pause between failed logins or renewals (default 3 s). */
  retryMs?: number;
  /** Fraction of the TTL after which the token is renewed (default 0.8). */
  renewFraction?: number;
  /** True while Vault is known to be sealed: background work waits. */
  isSealed?: () => boolean;
}

const RENEW_TRIES = 3;

/** Holds the store's Vault token. */
export class TokenLifecycle {
  private lease: TokenLease | undefined;
  private obtainedAt = 0;
  private loginTtlMs = 0;
  private pending: Promise<TokenLease> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private failure: Error | undefined;
  private readonly retryMs: number;
  private readonly renewFraction: number;
  private readonly isSealed: () => boolean;

  constructor(
    private readonly http: VaultHttpClient,
    readonly method: LoginMethod,
    options: TokenLifecycleOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 3000;
    this.renewFraction = options.renewFraction ?? 0.8;
    this.isSealed = options.isSealed ?? (() => false);
  }

  /** The last login or renewal failure, cleared by the next success. */
  get lastError(): Error | undefined {
    return this.failure;
  }

  /** Whether a token is held that has not expired by the local clock. */
  get hasValidToken(): boolean {
    return this.lease !== undefined && !this.expired(this.lease);
  }

  /**
   * Obtains the first token.
   * @throws what the login throws (KeyStoreUnreachableError when Vault is unreachable)
   */
  async start(): Promise<void> {
    await this.login();
  }

  /**
   * The token to send: the current one, or a new one from a login when there is none or it
   * has expired.
   * @throws KeyStoreUnreachableError or the login's error when no token can be had
   */
  async token(): Promise<string> {
    const lease = this.lease;
    if (lease && (!this.expired(lease) || !this.method.canRelogin)) return lease.token;
    return (await this.login()).token;
  }

  /**
   * Called after Vault rejected `stale` (403): a newer token when there is one or a login
   * gives one; undefined when the token cannot be replaced (static token).
   */
  async refresh(stale: string): Promise<string | undefined> {
    if (!this.method.canRelogin) return undefined;
    if (this.lease && this.lease.token !== stale) return this.lease.token;
    this.lease = undefined; // refused: no longer worth sending
    return (await this.login()).token;
  }

  /** Stops the background renewals. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private expired(lease: TokenLease): boolean {
    return lease.ttlMs > 0 && Date.now() >= this.obtainedAt + lease.ttlMs;
  }

  private login(): Promise<TokenLease> {
    this.pending ??= this.method
      .login(this.http)
      .then(
        (lease) => {
          this.loginTtlMs = lease.ttlMs;
          this.accept(lease);
          return lease;
        },
        (err: unknown) => {
          this.failure = err as Error;
          this.schedule(this.retryMs);
          throw err;
        },
      )
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private accept(lease: TokenLease): void {
    this.lease = lease;
    this.obtainedAt = Date.now();
    this.failure = undefined;
    if (lease.ttlMs > 0) this.schedule(Math.max(1, Math.floor(lease.ttlMs * this.renewFraction)));
    else clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void this.maintain(), ms);
    this.timer.unref?.();
  }

  /** The background step: renew, or log in again. Never throws. */
  private async maintain(): Promise<void> {
    if (this.closed) return;
    if (this.isSealed()) return this.schedule(this.retryMs);
    const lease = this.lease;
    if (lease?.renewable) {
      const renewed = await this.renew(lease).catch((err: unknown) => {
        this.failure = err as Error;
        return undefined;
      });
      // Closed, or a login replaced the token meanwhile: that one has its own schedule.
      if (this.closed || this.lease !== lease) return;
      // A renewal that gives no time left (max TTL reached) did not renew.
      const extended = renewed !== undefined && renewed.ttlMs > 0;
      if (extended && (!this.method.canRelogin || renewed.ttlMs >= this.loginTtlMs / 2)) return this.accept(renewed);
    }
    if (this.method.canRelogin) {
      await this.login().catch(() => undefined); // a failure schedules a retry
    } else if (lease && !this.expired(lease) && lease.renewable) {
      this.schedule(this.retryMs);
    }
  }

  private async renew(lease: TokenLease): Promise<TokenLease> {
    let last: Error = new Error('token renewal failed');
    for (let attempt = 0; attempt < RENEW_TRIES; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(this.retryMs, 1000)).unref?.());
      if (this.closed) break;
      try {
        const res = await this.http.send({ method: 'POST', path: '/v1/auth/token/renew-self', body: {}, token: lease.token, namespace: lease.namespace });
        if (res.status === 200) return leaseOf(res.body, lease.namespace, 'token renewal');
        last = new VaultResponseError(res.status, ['token renewal failed', ...vaultErrors(res.body)]);
        if (res.status < 500 && !isUnavailableStatus(res.status)) break; // the token is refused: no retry
      } catch (err) {
        last = err instanceof KeyStoreUnreachableError ? err : (err as Error);
      }
    }
    throw last;
  }
}
