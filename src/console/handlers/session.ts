/** Sign-in, sign-out and the session's details (docs/console.md "Security"). */
import type { SessionInfo } from '../api-types.js';
import { ConsoleError } from '../errors.js';
import type { ApiContext } from '../router.js';
import { stringField } from './input.js';

/** The session's details; who the operator is stays unknown ('') while no server answers. */
async function sessionInfo(ctx: ApiContext, csrf: string): Promise<SessionInfo> {
  const self = await ctx.backend.kes.describeSelf().catch(() => undefined);
  return { csrf, servers: ctx.backend.endpoints, identity: self?.identity ?? '', isAdmin: self?.isAdmin ?? false, policy: self?.policy ?? '' };
}

export async function login(ctx: ApiContext): Promise<SessionInfo> {
  const result = ctx.gate.login(stringField(ctx.body, 'token'));
  if (!result.ok) {
    const headers: Record<string, string> = result.retryAfterSeconds !== undefined ? { 'retry-after': String(result.retryAfterSeconds) } : {};
    throw new ConsoleError(result.status, result.message, headers);
  }
  const { session } = result;
  // HttpOnly: no script reads it; SameSite=Strict: no other site's request carries it.
  ctx.res.setHeader('set-cookie', `${ctx.cookie.name}=${session.id}; HttpOnly; SameSite=Strict; Path=/`);
  return sessionInfo(ctx, session.csrf);
}

export async function current(ctx: ApiContext): Promise<SessionInfo> {
  const session = ctx.gate.session(ctx.cookie.value);
  if (!session) throw new ConsoleError(401, 'not signed in');
  return sessionInfo(ctx, session.csrf);
}

export async function logout(ctx: ApiContext): Promise<undefined> {
  ctx.gate.logout(ctx.session.id);
  ctx.res.setHeader('set-cookie', `${ctx.cookie.name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
  return undefined;
}
