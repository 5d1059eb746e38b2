/** Key endpoints (protocol.md §6.6–§6.14, §7.1 bulk decrypt). */
import { randomBytes } from '../../crypto/random.js';
import { KesError, kesError } from '../../api/errors.js';
import { SecretKey } from '../../crypto/secret-key.js';
import { HmacKey } from '../../crypto/hmac-key.js';
import { parseKeyType } from '../../crypto/key-type.js';
import { encodeKeyVersion } from '../../crypto/key-version.js';
import { Timestamp } from '../../util/time.js';
import { encodeBase64 } from '../../util/base64.js';
import { bytesField, getField, isJsonObject, parseJsonBody, stringField, type JsonObject } from '../../util/json.js';
import { base64Json, json, type Reply } from '../reply.js';
import type { RequestContext } from '../context.js';
import { fields, jsonBody, keyName, listingPrefix, storeCall, storeError, wantsNdjson, withJsonBody, withKey, type BodyKind } from './common.js';
import { isInternalEntry } from '../../keystore/entry-names.js';
import { streamJsonList, streamNdjson } from './listing.js';

async function storeNewKey(ctx: RequestContext, name: string, key: SecretKey): Promise<void> {
  const entry = encodeKeyVersion({ key, hmacKey: HmacKey.generate(), createdAt: Timestamp.now(), createdBy: ctx.identity });
  await storeCall('create key', () => ctx.state.cache.create(name, entry));
  ctx.auditMessage = `secret key '${name}' created`;
}

export async function createKey(ctx: RequestContext): Promise<undefined> {
  const name = keyName(ctx);
  await storeNewKey(ctx, name, SecretKey.generate(ctx.state.keyType));
}

export async function importKey(ctx: RequestContext): Promise<undefined> {
  const name = keyName(ctx);
  await storeNewKey(ctx, name, secretKeyOf(await jsonBody(ctx, 'import')));
}

/**
 * The key an import (or a rotation with given bytes) carries: `{"key","cipher"}`, or MinIO
 * 2022–2023's `{"bytes","algorithm"}` (protocol.md §20.12).
 * @throws KesError 400 for a bad body, 406 for an unknown cipher or a key that is not 32 bytes
 */
export function secretKeyOf(body: JsonObject, kind: BodyKind = 'import'): SecretKey {
  const legacy = getField(body, 'key') === undefined && getField(body, 'bytes') !== undefined;
  const { material, cipher } = fields(
    body,
    (o) => ({ material: bytesField(o, legacy ? 'bytes' : 'key'), cipher: stringField(o, legacy ? 'algorithm' : 'cipher') }),
    kind,
  );
  const type = cipher === '' ? 'AES256' : parseKeyType(cipher);
  if (!type) throw kesError('KES_ERR_UNSUPPORTED_ALGORITHM', 'named', { algorithm: cipher });
  if (material.length !== 32) throw kesError('KES_ERR_INVALID_KEY_SIZE', 'named', { algorithm: cipher || type });
  const key = new SecretKey(type, material);
  material.fill(0);
  return key;
}

export function describeKey(ctx: RequestContext): Reply | Promise<Reply> {
  const name = keyName(ctx);
  return withKey(ctx, name, (ring) => {
    // KES's fields describe the latest version; `version` and `versions` are openkes's.
    const latest = ring.current;
    const body: Record<string, unknown> = { name, algorithm: latest.key.type, created_at: latest.createdAt.toString() };
    if (latest.createdBy) body.created_by = latest.createdBy;
    body.version = ring.latest;
    body.versions = ring.list().map(([version, v]) => ({
      version,
      algorithm: v.key.type,
      created_at: v.createdAt.toString(),
      ...(v.createdBy && { created_by: v.createdBy }),
    }));
    return json(body);
  });
}

export async function listKeys(ctx: RequestContext): Promise<Reply> {
  const prefix = listingPrefix(ctx);
  const names = () => kesKeyNames(ctx.state.cache.list(prefix));
  const onError = (err: unknown) => storeError('list keys', err);
  return wantsNdjson(ctx) ? streamNdjson(names, (name) => ({ name }), onError) : streamJsonList('names', names, onError);
}

/** The KES keys among store entries: without openkes's own (MinKMS enclaves, policies, identities). */
async function* kesKeyNames(names: AsyncIterable<string>): AsyncIterable<string> {
  for await (const name of names) if (!isInternalEntry(name)) yield name;
}

export async function deleteKey(ctx: RequestContext): Promise<undefined> {
  const name = keyName(ctx);
  await storeCall('delete key', () => ctx.state.cache.delete(name));
  ctx.auditMessage = `secret key '${name}' deleted`;
}

// The cryptographic operations are written with withJsonBody/withKey instead of await: with the
// key cached, the reply is built in the same tick the body arrives (each await is a hop).

export function generateKey(ctx: RequestContext): Reply | Promise<Reply> {
  const name = keyName(ctx);
  const dataKey = (context: Buffer) =>
    withKey(ctx, name, (ring) => {
      const dek = randomBytes(32);
      const { ciphertext } = ring.encrypt(dek, context);
      const reply = base64Json({ plaintext: encodeBase64(dek), ciphertext: encodeBase64(ciphertext) });
      dek.fill(0);
      return reply;
    });
  // The body is optional: MinIO always sends {"context"}, other clients may send nothing.
  return ctx.hasBody() ? withJsonBody(ctx, (o) => dataKey(fields(o, (x) => bytesField(x, 'context')))) : dataKey(Buffer.alloc(0));
}

export function encrypt(ctx: RequestContext): Promise<Reply> {
  const name = keyName(ctx);
  return withJsonBody(ctx, (o) => {
    const { plaintext, context } = fields(o, (x) => ({ plaintext: bytesField(x, 'plaintext'), context: bytesField(x, 'context') }));
    return withKey(ctx, name, (ring) => base64Json({ ciphertext: encodeBase64(ring.encrypt(plaintext, context).ciphertext) }));
  });
}

export function decrypt(ctx: RequestContext): Promise<Reply> {
  const name = keyName(ctx);
  return withJsonBody(ctx, (o) => {
    const { ciphertext, context } = fields(o, (x) => ({ ciphertext: bytesField(x, 'ciphertext'), context: bytesField(x, 'context') }));
    return withKey(ctx, name, (ring) => base64Json({ plaintext: encodeBase64(ring.decrypt(ciphertext, context).plaintext) }));
  });
}

export function hmac(ctx: RequestContext): Promise<Reply> {
  const name = keyName(ctx);
  return withJsonBody(ctx, (o) => {
    const message = fields(o, (x) => bytesField(x, 'message'));
    // The key's HMAC key, the same for all its versions (docs/key-rings.md).
    return withKey(ctx, name, (ring) => {
      if (!ring.hmacKey) throw new KesError('KES_ERR_HMAC_NOT_SUPPORTED');
      return base64Json({ hmac: encodeBase64(ring.hmacKey.sum(message)) });
    });
  });
}

/** The most ciphertexts one bulk request may carry, as in KES v0.19–v0.22. */
const MAX_BULK = 1000;

/** Legacy `POST /v1/key/bulk/decrypt/<name>`: all ciphertexts decrypt, or the call fails. */
export async function bulkDecrypt(ctx: RequestContext): Promise<Reply> {
  const name = keyName(ctx);
  const body = await ctx.body();
  const items = parseJsonBody(body.toString('utf8'));
  if (!Array.isArray(items) || !items.every(isJsonObject)) throw new KesError('KES_ERR_BAD_REQUEST');
  if (items.length > MAX_BULK) throw kesError('KES_ERR_BAD_REQUEST', 'tooManyCiphertexts');
  const requests = items.map((o) => fields(o, (x) => ({ ciphertext: bytesField(x, 'ciphertext'), context: bytesField(x, 'context') })));
  return withKey(ctx, name, (ring) => json(requests.map((r) => ({ plaintext: encodeBase64(ring.decrypt(r.ciphertext, r.context).plaintext) }))));
}
