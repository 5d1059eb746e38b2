/**
 * Names and listing patterns (protocol.md §4.1).
 *
 * A name (key, policy, identity) is 1…80 bytes of `0-9 A-Z a-z _ -`; `-` may not start or end
 * it and `_` alone is invalid. A listing pattern follows the same rules with an optional
 * trailing `*`; the empty pattern and `*` alone are valid.
 */

const MAX_LENGTH = 80;
const NAME = /^[0-9A-Za-z_](?:[0-9A-Za-z_-]*[0-9A-Za-z_])?$/;

/** Reports whether name is a valid key, policy or identity name. */
export function isValidName(name: string): boolean {
  return name.length <= MAX_LENGTH && name !== '_' && NAME.test(name);
}

/** Reports whether pattern is a valid listing pattern. */
export function isValidPattern(pattern: string): boolean {
  if (pattern === '' || pattern === '*') return true;
  if (pattern.length > MAX_LENGTH) return false;
  if (!pattern.endsWith('*')) return isValidName(pattern);
  // A trailing '*' may follow a '-' ("_-*"): the rest only has to be a valid name prefix.
  return /^[0-9A-Za-z_][0-9A-Za-z_-]*\*$/.test(pattern);
}

/**
 * The name prefix a listing pattern selects: `*` and `` select everything, a trailing `*` is
 * stripped (protocol.md §20.4: the same for keys, policies and identities).
 */
export function patternPrefix(pattern: string): string {
  return pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
}
