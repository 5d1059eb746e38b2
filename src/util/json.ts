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
