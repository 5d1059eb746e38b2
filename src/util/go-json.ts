/**
 * JSON output byte-compatible with Go's `encoding/json` encoder, which KES clients see: compact,
 * a trailing newline, and `<`, `>`, `&`, U+2028, U+2029 escaped inside strings.
 */

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** Encodes value like Go's json.Encoder.Encode: compact JSON followed by `\n`. */
export function goJson(value: unknown): string {
  return goJsonValue(value) + '\n';
}

const ESCAPED = /[<>&\u2028\u2029]/;
const ESCAPED_ALL = /[<>&\u2028\u2029]/g;

/** Encodes value like Go's json.Marshal (no trailing newline). */
export function goJsonValue(value: unknown): string {
  const text = JSON.stringify(value);
  // These characters can only occur inside JSON strings, so escaping the whole text is safe.
  // Most replies have none: a test costs a fraction of a replace with a callback.
  return ESCAPED.test(text) ? text.replace(ESCAPED_ALL, (c) => GO_ESCAPES[c]!) : text;
}
