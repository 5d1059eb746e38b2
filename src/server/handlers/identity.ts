/** Identity endpoints (protocol.md §6.16, §20.1 for self-describe). */
import { KesError } from '../../api/errors.js';
import { json, type Reply } from '../reply.js';
import type { RequestContext } from '../context.js';
import { asError, fromArray, streamJsonList, streamNdjson } from './listing.js';
import { identityName, listingPrefix, wantsNdjson } from './common.js';
import { policyRules } from './policy.js';

export function describeIdentity(ctx: RequestContext): Reply {
  const id = identityName(ctx);
  const { state } = ctx;
  if (id === state.admin) return json({ admin: true, created_at: state.createdAt });
  const policy = state.policies.policyNameOf(id);
  if (policy === undefined) throw new KesError('KES_ERR_IDENTITY_NOT_FOUND');
  return json({ policy, created_at: state.createdAt, created_by: state.admin });
}

/** All known identities (the admin and every assigned one), sorted. */
function knownIdentities(ctx: RequestContext): string[] {
  const ids = new Set(ctx.state.policies.identities());
  ids.add(ctx.state.admin);
  return [...ids].sort();
}

export function listIdentities(ctx: RequestContext): Reply {
  const prefix = listingPrefix(ctx);
  const { state } = ctx;
  const ids = knownIdentities(ctx).filter((id) => id.startsWith(prefix));
  if (wantsNdjson(ctx)) {
    return streamNdjson(
      fromArray(ids),
      (identity) => {
        if (identity === state.admin) return { identity, admin: true, created_at: state.createdAt };
        return { identity, policy: state.policies.policyNameOf(identity), created_at: state.createdAt, created_by: state.admin };
      },
      asError,
    );
  }
  return streamJsonList('identities', fromArray(ids), asError);
}

/**
 * The caller's own identity, for every authenticated caller (KES HEAD answers 404 to all but
 * the admin). The shape is what the kms-go SDK decodes, plus `policy_name` for older readers.
 */
export function selfDescribe(ctx: RequestContext): Reply {
  const { identity, state } = ctx;
  if (identity === '') throw new KesError('KES_ERR_TLS');
  if (identity === state.admin) return json({ identity, admin: true, created_at: state.createdAt });
  const name = state.policies.policyNameOf(identity);
  const policy = name === undefined ? undefined : state.policies.get(name);
  // Not assigned to a policy: it may do nothing else, but it learns its identity (protocol.md §20.1).
  if (name === undefined || !policy) return json({ identity });
  return json({
    identity,
    policy: name,
    policy_name: name,
    ...policyRules(policy),
    created_at: state.createdAt,
    created_by: state.admin,
  });
}
