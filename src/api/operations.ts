/**
 * Authorization by operation, not by spelling (SECURITY.md, docs/api.md).
 *
 * A policy names API paths, and each operation a key server performs has one canonical path: a
 * decryption is `/v1/key/decrypt/<name>`. An entry point that performs an operation under
 * another spelling (a legacy route, an alias, a command of another protocol) must not open what
 * the canonical path keeps closed: a policy that denies `/v1/key/decrypt/secret*` has to deny
 * every way of decrypting with `secret`. A request is therefore allowed only if the policy
 * allows its own path (as KES checks it) and the canonical path of every operation it performs.
 *
 * This table lists, for every entry point whose operations are not just its own path, the
 * canonical paths (route prefixes) of what it performs; the request's resource (key name) is
 * appended to each. Routes and protocols added later join it.
 */
import * as P from './paths.js';

export const OPERATIONS: ReadonlyMap<string, readonly string[]> = new Map([
  // Legacy bulk decryption (KES v0.19–v0.22) decrypts: it needs /v1/key/decrypt/<name> too.
  [P.PATH_KEY_BULK_DECRYPT, [P.PATH_KEY_DECRYPT]],
  // Rewrapping decrypts (and encrypts under the latest version): it needs /v1/key/decrypt/<name> too.
  [P.PATH_KEY_REWRAP, [P.PATH_KEY_DECRYPT]],
]);

/** The canonical operation paths an entry point performs besides its own path. */
export function operationsOf(entryPoint: string): readonly string[] {
  return OPERATIONS.get(entryPoint) ?? [];
}
