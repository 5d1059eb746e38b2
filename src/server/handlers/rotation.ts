/**
 * Key ring endpoints (openkes, docs/key-rings.md): rotate, delete-version, rewrap.
 *
 * A ring changes by compare-and-swap on its store entry (KeyStore.replace): the entry is read
 * from the store (not the cache, which may lag), changed, and written back only if no other
 * writer changed it meanwhile; otherwise read again. Two servers rotating a key at once thus end
 * with two new versions, never a lost one. Every cache of the server drops the key before the
 * answer (KeyCache.replace); other servers see it as they see a delete.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KesError } from '../../api/errors.js';
import { SecretKey } from '../../crypto/secret-key.js';
import { KeyRing, KeyRingError } from '../../crypto/key-ring.js';
import { encodeKeyRing, parseKeyRing } from '../../crypto/key-ring-entry.js';
import { KeyVersionError } from '../../crypto/key-version.js';
import { KeyStoreConflictError } from '../../keystore/keystore.js';
import { Timestamp } from '../../util/time.js';
import { encodeBase64 } from '../../util/base64.js';
import { bytesField, getField, type JsonObject } from '../../util/json.js';
import { base64Json, json, type Reply } from '../reply.js';
import type { RequestContext } from '../context.js';
import { badBody, fields, jsonBody, keyName, storeCall, storeError, withJsonBody, withKey } from './common.js';
import { secretKeyOf } from './key.js';

/** Compare-and-swap attempts before a change gives up with KES_ERR_KEY_CHANGED. */
const ATTEMPTS = 10;
/** The longest pause before another attempt, in ms (a random share of it spreads contenders). */
const MAX_BACKOFF_MS = 50;

/** `PUT /v1/key/rotate/<name>` [{"key","cipher"}] → {"version":n}: a new latest version. */
export async function rotateKey(ctx: RequestContext): Promise<Reply> {
  const name = keyName(ctx);
  // Bring-your-own rotation: the bytes and cipher as an import takes them; else fresh random bytes.
  const key = ctx.hasBody() ? secretKeyOf(await jsonBody(ctx), 'body') : SecretKey.generate(ctx.state.keyType);
  const next = { key, createdAt: Timestamp.now(), createdBy: ctx.identity };
  const ring = await change(ctx, name, (r) => r.rotated(next));
  ctx.auditMessage = `secret key '${name}' rotated to version ${ring.latest}`;
  return json({ version: ring.latest });
}

/** `PUT /v1/key/delete-version/<name>` {"version":n}: retires one version (never the only one). */
export async function deleteVersion(ctx: RequestContext): Promise<undefined> {
  const name = keyName(ctx);
  const version = versionOf(await jsonBody(ctx));
  await change(ctx, name, (r) => {
    if (!r.version(version)) throw new KesError('KES_ERR_VERSION_NOT_FOUND');
    if (r.list().length === 1) throw new KesError('KES_ERR_ONLY_VERSION');
    return r.retired(version);
  });
  ctx.auditMessage = `version ${version} of secret key '${name}' deleted`;
}

/**
 * `PUT /v1/key/rewrap/<name>` {"ciphertext","context"} → {"ciphertext"}: the same plaintext
 * sealed with the latest version; the plaintext never leaves the server.
 */
export function rewrap(ctx: RequestContext): Promise<Reply> {
  const name = keyName(ctx);
  return withJsonBody(ctx, (o) => {
    const { ciphertext, context } = fields(o, (x) => ({ ciphertext: bytesField(x, 'ciphertext'), context: bytesField(x, 'context') }));
    return withKey(ctx, name, (ring) => {
      const { plaintext } = ring.decrypt(ciphertext, context);
      try {
        return base64Json({ ciphertext: encodeBase64(ring.encrypt(plaintext, context).ciphertext) });
      } finally {
        plaintext.fill(0);
      }
    });
  });
}

/**
 * Changes a key's ring by compare-and-swap, reading it again after another writer's change.
 * @throws KesError 404 (no key), 409 KES_ERR_KEY_CHANGED, 501 (no compare-and-swap), 502
 */
async function change(ctx: RequestContext, name: string, edit: (ring: KeyRing) => KeyRing): Promise<KeyRing> {
  const { cache } = ctx.state;
  if (!cache.store.replace) throw new KesError('KES_ERR_ROTATION_UNSUPPORTED');
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const stored = Buffer.from(await storeCall('read key', () => cache.store.get(name)));
    let next: KeyRing;
    try {
      next = edit(parseKeyRing(stored));
    } catch (err) {
      if (err instanceof KeyVersionError) throw storeError('read key', new Error(`key '${name}' has an invalid entry: ${err.message}`, { cause: err }));
      if (err instanceof KeyRingError) throw new KesError('KES_ERR_BAD_REQUEST', undefined, { cause: err });
      throw err;
    }
    try {
      await cache.replace(name, stored, encodeKeyRing(next));
      return next;
    } catch (err) {
      if (err instanceof KeyStoreConflictError) {
        await sleep(Math.random() * MAX_BACKOFF_MS * (attempt + 1) / ATTEMPTS);
        continue;
      }
      throw storeError('change key', err);
    }
  }
  throw new KesError('KES_ERR_KEY_CHANGED');
}

/** `{"version":n}` with n a positive integer. @throws KesError 400 */
function versionOf(body: JsonObject): number {
  const v = getField(body, 'version');
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw badBody();
  return v;
}
