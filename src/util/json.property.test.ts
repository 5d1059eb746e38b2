import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesField, getField, JsonFieldError, parseJsonBody, parseJsonObject, stringField, type JsonObject } from './json.js';
import { goJson, goJsonValue } from './go-json.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

/** The request and entry fields the server reads. */
const FIELDS = ['plaintext', 'context', 'ciphertext', 'message', 'key', 'cipher', 'bytes', 'algorithm', 'created_at', 'created_by'];

/** A field name spelled with random case, the KELVIN SIGN for k and LONG S for s (Go folds both). */
const spelling = (name: string) =>
  fc.array(fc.nat(3), { minLength: name.length, maxLength: name.length }).map((choices) =>
    [...name]
      .map((c, i) => {
        const choice = choices[i]!;
        if (choice === 3 && c === 'k') return '\u212a';
        if (choice === 3 && c === 's') return '\u017f';
        return choice % 2 ? c.toUpperCase() : c;
      })
      .join(''),
  );

/** Field names near the real ones: spellings, other names, prefixes and suffixes. */
const fieldName = fc.oneof(
  fc.constantFrom(...FIELDS).chain(spelling),
  fc.constantFrom(...FIELDS).map((f) => f + 'x'),
  fc.constantFrom(...FIELDS).map((f) => f.slice(1)),
  fc.string({ maxLength: 10 }),
);

/** JSON-like values a field may hold: anything JSON, and base64-looking strings. */
const fieldValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.base64String({ maxLength: 24 }), fc.string({ maxLength: 12 }));

const jsonObject: fc.Arbitrary<JsonObject> = fc.dictionary(fieldName, fieldValue, { maxKeys: 6 });

/** Go's case-insensitive key match for the lower-case field names the server uses. */
function oracleMatches(key: string, name: string): boolean {
  if (key.length !== name.length) return false;
  for (let i = 0; i < key.length; i++) {
    const k = key[i]!;
    const n = name[i]!;
    if (k === n) continue;
    if (k >= 'A' && k <= 'Z' && k.toLowerCase() === n) continue;
    if ((k === '\u212a' && n === 'k') || (k === '\u017f' && n === 's')) continue;
    return false;
  }
  return true;
}

describe('JSON field readers (properties)', () => {
  test('parseJsonObject never throws and returns exactly the JSON objects', () => {
    const text = fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ unit: 'binary', maxLength: 40 }), jsonObject.map((o) => JSON.stringify(o)));
    fc.assert(
      fc.property(text, (t) => {
        let expected: unknown;
        try {
          expected = JSON.parse(t);
        } catch {
          expected = undefined;
        }
        const isObject = typeof expected === 'object' && expected !== null && !Array.isArray(expected);
        assert.deepEqual(parseJsonObject(t), isObject ? expected : undefined);
      }),
      { numRuns: 3000 },
    );
  });

  test('parseJsonBody reads the first value as Go\'s json.Decoder: what follows it is ignored', () => {
    // Oracle: the whole text as JSON, else its shortest prefix that is a JSON object or array
    // (a composite value is complete exactly at its closing bracket).
    const oracle = (t: string): unknown => {
      try {
        return JSON.parse(t);
      } catch {
        for (let i = 1; i <= t.length; i++) {
          if (t[i - 1] !== '}' && t[i - 1] !== ']') continue;
          try {
            const v: unknown = JSON.parse(t.slice(0, i));
            if (typeof v === 'object' && v !== null) return v;
          } catch {
            // not a complete value yet
          }
        }
        return undefined;
      }
    };
    const suffix = fc.oneof(fc.constant(''), fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', 'x', ' ', ',', ':', '1'), maxLength: 12 }));
    const body = fc.oneof(jsonObject.map((o) => JSON.stringify(o)), fc.json({ maxDepth: 3 }), fc.string({ unit: 'binary', maxLength: 30 }));
    fc.assert(
      fc.property(fc.constantFrom('', ' ', '\n\t'), body, suffix, (lead, b, rest) => {
        const t = lead + b + rest;
        assert.deepEqual(parseJsonBody(t), oracle(t), JSON.stringify(t));
      }),
      { numRuns: 3000 },
    );
  });

  test('getField returns the last key that folds to the name, null as absent', () => {
    fc.assert(
      fc.property(jsonObject, fc.constantFrom(...FIELDS), (obj, name) => {
        let expected: unknown;
        for (const key of Object.keys(obj)) if (oracleMatches(key, name)) expected = obj[key];
        assert.deepEqual(getField(obj, name), expected === null ? undefined : expected);
      }),
      { numRuns: 5000 },
    );
  });

  test('stringField and bytesField return a typed value or throw JsonFieldError naming the field', () => {
    fc.assert(
      fc.property(jsonObject, fc.constantFrom(...FIELDS), (obj, name) => {
        const raw = getField(obj, name);
        const s = outcome(() => stringField(obj, name), instanceOf(JsonFieldError));
        if (s.ok) assert.equal(s.value, raw ?? '');
        else assert.equal((s.error as JsonFieldError).field, name);
        assert.equal(s.ok, raw === undefined || typeof raw === 'string');

        const b = outcome(() => bytesField(obj, name), instanceOf(JsonFieldError));
        if (b.ok) {
          assert.ok(Buffer.isBuffer(b.value));
          if (raw === undefined) assert.equal(b.value.length, 0);
          else assert.deepEqual(b.value, Buffer.from(raw as string, 'base64'));
        } else {
          assert.equal((b.error as JsonFieldError).field, name);
          assert.ok(raw !== undefined, 'an absent field is never an error');
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('Go JSON output (properties)', () => {
  test('goJson is JSON that parses to the same value, with <, >, &, U+2028 and U+2029 escaped', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: fc.constantFrom('<', '>', '&', '\u2028', '\u2029', 'a', '"', '\\') }), (value, text) => {
        for (const v of [value, text, { [text]: value }]) {
          const out = goJson(v);
          assert.ok(out.endsWith('\n'));
          assert.equal(out, goJsonValue(v) + '\n');
          assert.doesNotMatch(out, /[<>&\u2028\u2029]/);
          assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(v)));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
