/**
 * Key name patterns of `kes migrate`: `*` matches any run of characters (also none), `?` exactly
 * one character; every other character matches itself.
 */

/** A compiled pattern. */
export interface Glob {
  /** The literal text before the first wildcard: every match starts with it. */
  prefix: string;
  /** Reports whether name matches the whole pattern. */
  matches(name: string): boolean;
}

/**
 * Compiles a pattern such as `*`, `my-app-*` or `key-??`.
 * @example compileGlob('app-*').matches('app-1') // true
 */
export function compileGlob(pattern: string): Glob {
  const wildcard = pattern.search(/[*?]/);
  const prefix = wildcard < 0 ? pattern : pattern.slice(0, wildcard);
  if (wildcard < 0) return { prefix, matches: (name) => name === pattern };
  const source = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/, '\\$&'))).join('');
  const regex = new RegExp(`^${source}$`, 'su');
  return { prefix, matches: (name) => regex.test(name) };
}
