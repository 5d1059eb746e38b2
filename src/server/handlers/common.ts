/** Helpers shared by the handlers: input validation, JSON bodies and key store calls. */
import { KesError, kesError } from '../../api/errors.js';
import { isValidName, isValidPattern, patternPrefix } from '../../policy/names.js';
import { isJsonObject, JsonFieldError, parseJsonBody, type JsonObject } from '../../util/json.js';
import { KeyVersionError } from '../../crypto/key-version.js';
import type { KeyRing } from '../../crypto/key-ring.js';
import type { RequestContext } from '../context.js';

/** The resource as a valid name of the kind. @throws KesError 400 with KES's message */
function validName(ctx: RequestContext, kind: 'key' | 'policy' | 'identity'): string {
  if (!isValidName(ctx.resource)) throw kesError('KES_ERR_INVALID_NAME', kind, { name: ctx.resource });
  return ctx.resource;
}

/** The resource as a key name. @throws KesError 400 with KES's message */
export const keyName = (ctx: RequestContext): string => validName(ctx, 'key');

/** The resource as a policy name. @throws KesError 400 with KES's message */
export const policyName = (ctx: RequestContext): string => validName(ctx, 'policy');

/** The resource as an identity. @throws KesError 400 with KES's message */
export const identityName = (ctx: RequestContext): string => validName(ctx, 'identity');

/** The name prefix a listing pattern selects. @throws KesError 400 with KES's message */
export function listingPrefix(ctx: RequestContext): string {
  if (!isValidPattern(ctx.resource)) {
    throw kesError('KES_ERR_INVALID_PATTERN', 'pattern', { pattern: ctx.resource });
  }
  return patternPrefix(ctx.resource);
}

/** Which 400 a body that does not decode gets: KES's `invalid request body`, or the import's. */
export type BodyKind = 'body' | 'import';

/** The 400 of a body that does not decode. */
export function badBody(kind: BodyKind = 'body'): KesError {
  return kind === 'import' ? kesError('KES_ERR_BAD_REQUEST', 'import') : new KesError('KES_ERR_BAD_REQUEST');
}

/** Reads the typed fields of a JSON body; a field of the wrong type is a 400. */
export function fields<T>(obj: JsonObject, read: (o: JsonObject) => T, kind: BodyKind = 'body'): T {
  try {
    return read(obj);
  } catch (err) {
    if (err instanceof JsonFieldError) throw badBody(kind);
    throw err;
  }
}

/** The request body as a JSON object. */
export function jsonBody(ctx: RequestContext, kind: BodyKind = 'body'): Promise<JsonObject> {
  return withJsonBody(ctx, (obj) => obj, kind);
}

/**
 * Reads the request body as a JSON object and passes it to fn: one promise for reading and
 * using it (the hot path of the key operations).
 * @param kind which 400 a body that is not a JSON object gets
 */
export function withJsonBody<T>(ctx: RequestContext, fn: (obj: JsonObject) => T | Promise<T>, kind: BodyKind = 'body'): Promise<T> {
  return ctx.body().then((body) => {
    const obj = parseJsonBody(body.toString('utf8'));
    if (!isJsonObject(obj)) throw badBody(kind);
    return fn(obj);
  });
}

/** Reports whether the client asked for the legacy NDJSON listing format. */
export function wantsNdjson(ctx: RequestContext): boolean {
  return (ctx.headers.accept ?? '').includes('application/x-ndjson');
}

type StoreOp = 'create key' | 'read key' | 'change key' | 'delete key' | 'list keys';

/** KES's 502 message of each store operation (`failed to <op>`). */
const STORE_FAILURES = { 'create key': 'create', 'read key': 'read', 'change key': 'change', 'delete key': 'delete', 'list keys': 'list' } as const;

/**
 * Runs a key store call. KES's errors (key exists, not found) pass through; any other failure
 * becomes KES's 502 `failed to <op>` with the cause kept for the error log.
 */
export async function storeCall<T>(op: StoreOp, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw storeError(op, err);
  }
}

/** The error a failed key store call answers with (see {@link storeCall}). */
export function storeError(op: StoreOp, err: unknown): Error {
  if (err instanceof KesError && err.status < 500) return err;
  return kesError('KES_ERR_STORE_FAILED', STORE_FAILURES[op], {}, { cause: err });
}

/**
 * Calls fn with the key `name`: at once when it is cached (the hot path, without a promise),
 * else once the key store returned it.
 * @throws KesError 404, or 502 `failed to read key`
 */
export function withKey<T>(ctx: RequestContext, name: string, fn: (key: KeyRing) => T): T | Promise<T> {
  const cached = ctx.state.cache.peek(name);
  return cached ? fn(cached) : readKey(ctx, name).then(fn);
}

/** Reads a key through the cache. @throws KesError 404, or 502 `failed to read key` */
function readKey(ctx: RequestContext, name: string): Promise<KeyRing> {
  return storeCall('read key', async () => {
    try {
      return await ctx.state.cache.get(name);
    } catch (err) {
      // A corrupt entry is reported like a store failure; the log names it.
      if (err instanceof KeyVersionError) throw new Error(`key '${name}' has an invalid entry: ${err.message}`, { cause: err });
      throw err;
    }
  });
}
