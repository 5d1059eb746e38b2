/**
 * Signing in to the console (docs/console.md "Security"): one one-time access token per console
 * process, printed at start, valid for a few minutes until its first use, then exchanged for a
 * session (an HttpOnly SameSite=Strict cookie) with a CSRF token of its own. Repeated wrong
 * tokens lock the sign-in for a while, the right token included.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface LoginGateOptions {
  /** How long the access token stays valid when it is not used (default 5 minutes). */
  tokenTtlMs?: number;
  /** A session ends after this long without a request (default 1 hour)… */
  sessionIdleMs?: number;
  /** …or this long after sign-in (default 12 hours). */
  sessionMaxMs?: number;
  /** Wrong tokens in a row that lock the sign-in (default 5)… */
  maxFailures?: number;
  /** …for this long (default 5 minutes). */
  lockoutMs?: number;
  now?: () => number;
}

export interface Session {
  readonly id: string;
  /** Sent back by the page in the X-CSRF-Token header of every state change. */
  readonly csrf: string;
  readonly started: number;
  lastSeen: number;
}

export type LoginResult =
  | { ok: true; session: Session }
  | { ok: false; status: 401 | 429; message: string; retryAfterSeconds?: number };

/** A random secret: 32 bytes, base64url. */
function secret(): string {
  return randomBytes(32).toString('base64url');
}

/** Equal strings, compared in constant time (over their hashes, so lengths may differ). */
export function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

export class LoginGate {
  /** The one-time access token (printed by `kes console`; never logged). */
  readonly token = secret();
  private tokenUsed = false;
  private readonly issued: number;
  private failures = 0;
  private lockedUntil = 0;
  private readonly sessions = new Map<string, Session>();
  private readonly o: Required<LoginGateOptions>;

  constructor(options: LoginGateOptions = {}) {
    this.o = {
      tokenTtlMs: 5 * 60_000,
      sessionIdleMs: 60 * 60_000,
      sessionMaxMs: 12 * 60 * 60_000,
      maxFailures: 5,
      lockoutMs: 5 * 60_000,
      now: Date.now,
      ...options,
    };
    this.issued = this.o.now();
  }

  /** Exchanges the access token for a session. */
  login(presented: string): LoginResult {
    const now = this.o.now();
    if (now < this.lockedUntil) {
      const retryAfterSeconds = Math.ceil((this.lockedUntil - now) / 1000);
      return { ok: false, status: 429, message: `too many wrong access tokens: sign-in is locked for ${retryAfterSeconds} s`, retryAfterSeconds };
    }
    const valid = sameSecret(presented, this.token);
    if (valid && !this.tokenUsed && now - this.issued <= this.o.tokenTtlMs) {
      this.tokenUsed = true;
      this.failures = 0;
      const session: Session = { id: secret(), csrf: secret(), started: now, lastSeen: now };
      this.sessions.set(session.id, session);
      return { ok: true, session };
    }
    if (valid) {
      // The right token, but spent or expired: no failure to count, and a message that helps.
      const why = this.tokenUsed ? 'has already been used' : 'has expired';
      return { ok: false, status: 401, message: `the access token ${why}: restart kes console for a new one` };
    }
    if (++this.failures >= this.o.maxFailures) {
      this.failures = 0;
      this.lockedUntil = now + this.o.lockoutMs;
    }
    return { ok: false, status: 401, message: 'invalid access token' };
  }

  /** The live session of a cookie value (its idle time restarts), or undefined. */
  session(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.o.now();
    if (now - session.lastSeen > this.o.sessionIdleMs || now - session.started > this.o.sessionMaxMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  logout(id: string): void {
    this.sessions.delete(id);
  }
}
