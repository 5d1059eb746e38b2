/** Key ring endpoints (openkes, docs/key-rings.md): rotate, delete-version, rewrap. */
import { KesError } from '../../api/errors.js';
import { SecretKey } from '../../crypto/secret-key.js';
import { Timestamp } from '../../util/time.js';
import { encodeBase64 } from '../../util/base64.js';
import { bytesField, getField, type JsonObject } from '../../util/json.js';
import { base64Json, json, type Reply } from '../reply.js';
import type { RequestContext } from '../context.js';
import { badBody, fields, jsonBody, keyName, withJsonBody, withKey } from './common.js';
import { changeRing } from './ring-change.js';
import { secretKeyOf } from './key.js';

/** `PUT /v1/key/rotate/<name>` [{"key","cipher"}] → {"version":n}: a new latest version. */
export async function rotateKey(ctx: RequestContext): Promise<Reply> {
  const name = keyName(ctx);
  // Bring-your-own rotation: the bytes and cipher as an import takes them; else fresh random bytes.
  const key = ctx.hasBody() ? secretKeyOf(await jsonBody(ctx), 'body') : SecretKey.generate(ctx.state.keyType);
  const next = { key, createdAt: Timestamp.now(), createdBy: ctx.identity };
  const ring = await changeRing(ctx.state.cache, name, (r) => r.rotated(next));
  ctx.auditMessage = `secret key '${name}' rotated to version ${ring.latest}`;
  return json({ version: ring.latest });
}

/** `PUT /v1/key/delete-version/<name>` {"version":n}: retires one version (never the only one). */
export async function deleteVersion(ctx: RequestContext): Promise<undefined> {
  const name = keyName(ctx);
  const version = versionOf(await jsonBody(ctx));
  await changeRing(ctx.state.cache, name, (r) => {
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

/** `{"version":n}` with n a positive integer. @throws KesError 400 */
function versionOf(body: JsonObject): number {
  const v = getField(body, 'version');
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw badBody();
  return v;
}
