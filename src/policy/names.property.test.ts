import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidName, isValidPattern, patternPrefix } from './names.js';
import { Policy } from './policy.js';
import { PolicySet } from './policy-set.js';

// Oracles written from protocol.md §4.1 and §3.2, character by character (no regular expressions).

const NAME_CHARS = new Set('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-');

/** §4.1 name: 1…80 bytes of `0-9 A-Z a-z _ -`, no `-` first or last, not `_` alone. */
function oracleName(s: string): boolean {
  if (Buffer.byteLength(s, 'utf8') < 1 || Buffer.byteLength(s, 'utf8') > 80) return false;
  for (const c of s) if (!NAME_CHARS.has(c)) return false;
  return s[0] !== '-' && s[s.length - 1] !== '-' && s !== '_';
}

/**
 * §4.1 listing pattern: `` and `*` are valid; otherwise at most 80 bytes with name characters
 * and `*` only as the last character. Without the `*` it must be a name; with it, the part
 * before it is a name prefix (no leading `-`, which may end it: `a-*`).
 */
function oraclePattern(p: string): boolean {
  if (p === '' || p === '*') return true;
  if (Buffer.byteLength(p, 'utf8') > 80) return false;
  if (!p.endsWith('*')) return oracleName(p);
  const body = p.slice(0, -1);
  for (const c of body) if (!NAME_CHARS.has(c)) return false;
  return body[0] !== '-';
}

/** §3.2: the empty pattern never matches; `x*` matches prefixes; anything else is exact. */
function oracleMatch(pattern: string, path: string): boolean {
  if (pattern === '') return false;
  if (pattern[pattern.length - 1] === '*') return path.slice(0, pattern.length - 1) === pattern.slice(0, -1);
  return path === pattern;
}

const nameLike = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', '9', '_', '-', '*', '.', '/', ' ', 'é', '\u0000'), maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('a', '_', '-'), minLength: 78, maxLength: 83 }),
  fc.string({ unit: fc.constantFrom('a', '_', '-'), minLength: 78, maxLength: 82 }).map((s) => s + '*'),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

describe('names and listing patterns (properties)', () => {
  test('isValidName accepts exactly the names of the spec grammar', () => {
    fc.assert(
      fc.property(nameLike, (s) => {
        assert.equal(isValidName(s), oracleName(s), JSON.stringify(s));
      }),
      { numRuns: 6000 },
    );
  });

  test('isValidPattern accepts exactly the patterns of the spec grammar', () => {
    fc.assert(
      fc.property(nameLike, (p) => {
        assert.equal(isValidPattern(p), oraclePattern(p), JSON.stringify(p));
      }),
      { numRuns: 6000 },
    );
  });

  test('a valid pattern selects the names that start with it, a trailing * dropped', () => {
    const name = fc.string({ unit: fc.constantFrom('a', 'b', '-', '_', '0'), minLength: 1, maxLength: 6 }).filter(isValidName);
    const pattern = fc.oneof(fc.string({ unit: fc.constantFrom('a', 'b', '-', '_', '0', '*'), maxLength: 4 }), name.map((n) => n + '*')).filter(isValidPattern);
    fc.assert(
      fc.property(pattern, name, (p, n) => {
        const selects = n.startsWith(patternPrefix(p));
        const literal = p.endsWith('*') ? p.slice(0, -1) : p;
        assert.equal(selects, n.slice(0, literal.length) === literal, `${p} / ${n}`);
        if (p === '' || p === '*') assert.ok(selects);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('policy decisions (properties)', () => {
  const pathChar = fc.constantFrom('/', 'v', '1', 'k', 'e', 'y', '-', '*', 'a');
  const path = fc.string({ unit: pathChar, maxLength: 8 });
  const patterns = fc.array(path, { maxLength: 4 });

  test('deny wins, then allow, else deny: prefix patterns end in *, others are exact', () => {
    fc.assert(
      fc.property(patterns, patterns, path, (allow, deny, p) => {
        const expected = !deny.some((d) => oracleMatch(d, p)) && allow.some((a) => oracleMatch(a, p));
        assert.equal(new Policy({ allow, deny }).isAllowed(p), expected, JSON.stringify({ allow, deny, p }));
      }),
      { numRuns: 5000 },
    );
  });

  test('a PolicySet decides like the policy its identity is assigned to, and denies unknown identities', () => {
    fc.assert(
      fc.property(patterns, patterns, path, fc.constantFrom('id1', 'id2', 'stranger'), (allow, deny, p, identity) => {
        const set = new PolicySet({ app: { allow, deny, identities: ['id1'] }, other: { allow: ['*'], deny: [], identities: ['id2'] } });
        const expected = identity === 'id1' ? new Policy({ allow, deny }).isAllowed(p) : identity === 'id2';
        assert.equal(set.isAllowed(identity, p), expected);
      }),
      { numRuns: 2000 },
    );
  });
});
