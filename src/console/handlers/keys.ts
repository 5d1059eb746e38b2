/** The Keys page's API: search and page through keys, create, import, describe, rotate, retire, delete. */
import type { CreateKeyRequest, KeyDetails, KeyPage, KeySummary, RotateKeyResponse } from '../api-types.js';
import type { KeyInfo } from '../../client/types.js';
import { KEY_SIZE } from '../../crypto/secret-key.js';
import { MAX_VERSION } from '../../crypto/versioned-ciphertext.js';
import { decodeBase64 } from '../../util/base64.js';
import { ConsoleError } from '../errors.js';
import type { ApiContext } from '../router.js';
import { intParam, stringField } from './input.js';

/** Keys per page when the page asks for none, and the most it may ask for (the server's page). */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

/** One page of the keys starting with a prefix: a MinKMS listing of the default enclave, paged by the server. */
export async function list(ctx: ApiContext): Promise<KeyPage> {
  const limit = intParam(ctx.query.get('limit'), 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
  const page = await ctx.backend.kms().listKeys({ prefix: ctx.query.get('prefix') ?? '', continueAt: ctx.query.get('continue') ?? '', limit });
  const keys: KeySummary[] = page.items.map((k) => ({
    name: k.name,
    version: k.version,
    algorithm: k.type,
    createdAt: k.createdAt?.toJSON() ?? '',
    createdBy: k.createdBy,
  }));
  return { keys, continueAt: page.continueAt };
}

export async function create(ctx: ApiContext): Promise<KeyDetails> {
  const name = stringField(ctx.body, 'name');
  const material = stringField(ctx.body, 'key', true);
  const algorithm = (stringField(ctx.body, 'algorithm', true) ?? 'AES256') as NonNullable<CreateKeyRequest['algorithm']>;
  if (algorithm !== 'AES256' && algorithm !== 'ChaCha20') throw new ConsoleError(400, "'algorithm' must be AES256 or ChaCha20");
  if (material === undefined) {
    await ctx.backend.kes.createKey(name);
  } else {
    const bytes = decodeBase64(material.trim());
    try {
      // The message never repeats the material.
      if (bytes?.length !== KEY_SIZE) throw new ConsoleError(400, `the key material must be ${KEY_SIZE} bytes in base64`);
      await ctx.backend.kes.importKey(name, bytes, algorithm);
    } finally {
      bytes?.fill(0);
    }
  }
  return details(await ctx.backend.kes.describeKey(name));
}

export async function describe(ctx: ApiContext): Promise<KeyDetails> {
  return details(await ctx.backend.kes.describeKey(ctx.params.name!));
}

/** Deletes a key with all its versions: the body must repeat its name (the typed confirmation). */
export async function remove(ctx: ApiContext): Promise<undefined> {
  const name = ctx.params.name!;
  if (stringField(ctx.body, 'confirm') !== name) throw new ConsoleError(400, `to delete the key, confirm with its name '${name}'`);
  await ctx.backend.kes.deleteKey(name);
  return undefined;
}

export async function rotate(ctx: ApiContext): Promise<RotateKeyResponse> {
  return { version: await ctx.backend.kes.rotateKey(ctx.params.name!) };
}

/** Retires one version: data sealed with it no longer decrypts. */
export async function retire(ctx: ApiContext): Promise<undefined> {
  const version = intParam(ctx.params.version!, 'version', 1, MAX_VERSION, 0);
  await ctx.backend.kes.deleteKey(ctx.params.name!, { version });
  return undefined;
}

function details(k: KeyInfo): KeyDetails {
  return {
    name: k.name,
    version: k.version,
    algorithm: k.algorithm,
    createdAt: k.createdAt.toISOString(),
    createdBy: k.createdBy,
    versions: k.versions.map((v) => ({ version: v.version, algorithm: v.algorithm, createdAt: v.createdAt.toISOString(), createdBy: v.createdBy ?? '' })),
  };
}
