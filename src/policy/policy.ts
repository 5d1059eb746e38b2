/**
 * Policies (protocol.md §3.2): allow and deny patterns over request paths.
 *
 * A pattern ending in `*` matches every path that starts with the pattern without the `*`
 * (a plain prefix match that also crosses `/`); any other pattern must equal the path. The
 * empty pattern never matches. A matching deny pattern rejects; otherwise a matching allow
 * pattern allows; otherwise the request is rejected (default deny).
 */

/** A policy as configured: allow and deny patterns. */
export interface PolicyRules {
  allow: readonly string[];
  deny: readonly string[];
}

/** A set of patterns compiled for matching: exact paths in a set, prefixes in a list. */
class PatternSet {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];

  constructor(patterns: readonly string[]) {
    for (const p of patterns) {
      if (p === '') continue;
      if (p.endsWith('*')) this.prefixes.push(p.slice(0, -1));
      else this.exact.add(p);
    }
  }

  matches(path: string): boolean {
    if (this.exact.has(path)) return true;
    for (const prefix of this.prefixes) if (path.startsWith(prefix)) return true;
    return false;
  }
}

/** A compiled policy. Checking a path costs only this policy's own patterns. */
export class Policy implements PolicyRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
  private readonly allowSet: PatternSet;
  private readonly denySet: PatternSet;

  constructor(rules: PolicyRules) {
    this.allow = [...rules.allow];
    this.deny = [...rules.deny];
    this.allowSet = new PatternSet(this.allow);
    this.denySet = new PatternSet(this.deny);
  }

  /** Reports whether the policy allows a request for path (the decoded URL path, no query). */
  isAllowed(path: string): boolean {
    return !this.denySet.matches(path) && this.allowSet.matches(path);
  }
}
