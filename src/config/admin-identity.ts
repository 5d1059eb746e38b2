/**
 * The sanity check of `admin.identity` (and the legacy `root:`). As in KES, any value that is
 * not an identity disables the admin (protocol.md §2.2); the value is kept as written. Unless the
 * value is `disabled`, that is almost always a mistake, so it is reported as a warning.
 */
import { ApiKey } from '../auth/api-key.js';
import type { ConfigNode } from './config-node.js';

/** An identity as the server computes them: the lower-case hex SHA-256 of a public key. */
const IDENTITY = /^[0-9a-f]{64}$/;

/** The values that disable the admin on purpose, matched case-insensitively. */
const DISABLED = 'disabled';

/** Longer values are shown shortened in warnings. */
const SHOWN_LENGTH = 72;

/**
 * Warns (node.warn) when identity, the value read from node, disables the admin by accident:
 * not an identity and not `disabled`. The warning never shows an API key, only its identity.
 */
export function checkAdminIdentity(node: ConfigNode, identity: string): void {
  if (IDENTITY.test(identity) || identity.toLowerCase() === DISABLED) return;
  const from = node.envName() === undefined ? '' : ` (from \${${node.envName()}})`;
  const apiKey = parseApiKey(identity);
  if (apiKey !== undefined) {
    node.warn('admin-identity', `is an API key${from}, not an identity, so the admin is disabled; its identity is ${apiKey.identity}: put that there instead`);
  } else if (identity.startsWith('kes:v1:')) {
    node.warn('admin-identity', `looks like an API key${from} but is not a valid one, and is not an identity (64 hex characters): the admin is disabled`);
  } else if (IDENTITY.test(identity.toLowerCase())) {
    node.warn('admin-identity', `${show(identity)}${from} is not an identity: identities are lower-case hex, so no client matches it and the admin is disabled; write ${JSON.stringify(identity.toLowerCase())}`);
  } else {
    node.warn('admin-identity', `${show(identity)}${from} is not an identity (64 hex characters): the admin is disabled (write "disabled" if that is what you mean)`);
  }
}

function parseApiKey(text: string): ApiKey | undefined {
  try {
    return ApiKey.parse(text);
  } catch {
    return undefined;
  }
}

function show(text: string): string {
  return JSON.stringify(text.length <= SHOWN_LENGTH ? text : `${text.slice(0, SHOWN_LENGTH - 1)}…`);
}
