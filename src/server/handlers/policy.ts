/** Policy endpoints (protocol.md §6.15): policies are static, from the config file. */
import { KesError } from '../../api/errors.js';
import type { Policy } from '../../policy/policy.js';
import { json, type Reply } from '../reply.js';
import type { RequestContext } from '../context.js';
import { asError, fromArray, streamJsonList, streamNdjson } from './listing.js';
import { listingPrefix, policyName, wantsNdjson } from './common.js';

/** `{"<pattern>": {}, ...}`: KES's JSON shape of allow and deny rules. */
export function patternMap(patterns: readonly string[]): Record<string, object> {
  return Object.fromEntries(patterns.map((p) => [p, {}]));
}

/** The allow/deny fields of a policy, each omitted when empty. */
export function policyRules(p: Policy): { allow?: Record<string, object>; deny?: Record<string, object> } {
  return {
    ...(p.allow.length > 0 && { allow: patternMap(p.allow) }),
    ...(p.deny.length > 0 && { deny: patternMap(p.deny) }),
  };
}

function lookup(ctx: RequestContext): { name: string; policy: Policy } {
  const name = policyName(ctx);
  const policy = ctx.state.policies.get(name);
  if (!policy) throw new KesError('KES_ERR_POLICY_NOT_FOUND');
  return { name, policy };
}

export function describePolicy(ctx: RequestContext): Reply {
  const { name } = lookup(ctx);
  return json({ name, created_at: ctx.state.createdAt, created_by: ctx.state.admin });
}

export function readPolicy(ctx: RequestContext): Reply {
  const { name, policy } = lookup(ctx);
  return json({ name, ...policyRules(policy), created_at: ctx.state.createdAt, created_by: ctx.state.admin });
}

export function listPolicies(ctx: RequestContext): Reply {
  const prefix = listingPrefix(ctx);
  const names = ctx.state.policies.names().filter((n) => n.startsWith(prefix));
  if (wantsNdjson(ctx)) {
    return streamNdjson(fromArray(names), (name) => ({ name, created_at: ctx.state.createdAt, created_by: ctx.state.admin }), asError);
  }
  return streamJsonList('names', fromArray(names), asError);
}
