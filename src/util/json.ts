/**
 * Helpers that read JSON the way Go's `encoding/json` decodes into a struct, which is what KES
 * does with every request body and legacy stored value: field names match case-insensitively
 * (an exact match wins), unknown fields are ignored, `null` means "absent", and byte fields are
 * standard padded base64.
 */
import { decodeBase64 } from './base64.js';

export type JsonObject = { [key: string]: unknown };

/** Parses text as a JSON object. Returns undefined for invalid JSON or a non-object value. */
export function parseJsonObject(text: string): JsonObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isJsonObject(value) ? value : undefined;
}

/**
 * Parses a request body the way KES reads one (Go's `json.Decoder`): the first JSON value counts
 * and whatever follows it is ignored. Returns undefined when there is no valid first value.
 * (Stored entries and ciphertexts are read strictly, with {@link parseJsonObject}, as Go's
 * `json.Unmarshal` reads them.)
 */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Possibly a valid value followed by other data: parse the value alone.
  }
  const first = firstCompositeValue(text);
  if (first === undefined) return undefined;
  try {
    return JSON.parse(first);
  } catch {
    return undefined;
  }
}

const isJsonSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * The text of the object or array text starts with (after whitespace), up to its closing
 * bracket, not validated; undefined when text starts with anything else or the value does not
 * close. Only objects and arrays are looked for: any other request body is refused either way.
 */
function firstCompositeValue(text: string): string | undefined {
  let start = 0;
  while (start < text.length && isJsonSpace(text.charCodeAt(start))) start++;
  const open = text.charCodeAt(start);
  if (open !== 0x7b && open !== 0x5b) return undefined; // { [
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, over escaped characters.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
      return text.slice(start, i + 1);
    }
  }
  return undefined;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Go's case-insensitive match folds ASCII and the two non-ASCII letters that fold to ASCII
// (KELVIN SIGN to k, LATIN SMALL LETTER LONG S to s); other characters must match exactly.
function foldName(name: string): string {
  return name.replace(/[A-Z\u212a\u017f]/g, (c) => (c === '\u212a' ? 'k' : c === '\u017f' ? 's' : c.toLowerCase()));
}

/**
 * The value of the field `name` (a lower-case Go JSON tag) in obj: the last key that matches
 * it case-insensitively, as Go assigns every matching key in order. `null` is reported as
 * undefined.
 */
export function getField(obj: JsonObject, name: string): unknown {
  let value: unknown;
  for (const key in obj) {
    if (key === name || (key.length === name.length && foldName(key) === name)) value = obj[key];
  }
  return value ?? undefined;
}

/** Thrown by the typed field readers when a field has the wrong type or encoding. */
export class JsonFieldError extends Error {
  override readonly name = 'JsonFieldError';
  constructor(readonly field: string) {
    super(`invalid JSON field '${field}'`);
  }
}

/** A string field; absent or null gives ''. A value of another type throws JsonFieldError. */
export function stringField(obj: JsonObject, name: string): string {
  const v = getField(obj, name);
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new JsonFieldError(name);
  return v;
}

/**
 * A byte field (Go `[]byte`): standard padded base64; absent or null gives an empty buffer.
 * A value that is not a valid base64 string throws JsonFieldError.
 */
export function bytesField(obj: JsonObject, name: string): Buffer {
  const v = getField(obj, name);
  if (v === undefined) return Buffer.alloc(0);
  if (typeof v !== 'string') throw new JsonFieldError(name);
  const bytes = decodeBase64(v);
  if (bytes === undefined) throw new JsonFieldError(name);
  return bytes;
}
