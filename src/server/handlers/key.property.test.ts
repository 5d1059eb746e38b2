/**
 * Request bodies of the key endpoints on arbitrary input: the handlers from the route table run
 * against a real key cache over an in-memory store, with the body given directly (the HTTP
 * layer is covered by test/server).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import * as P from '../../api/paths.js';
import { KeyCache } from '../../keystore/cache.js';
import { MemKeyStore } from '../../keystore/memory/memory.js';
import { SecretKey } from '../../crypto/secret-key.js';
import { HmacKey } from '../../crypto/hmac-key.js';
import { encodeKeyVersion } from '../../crypto/key-version.js';
import { Timestamp } from '../../util/time.js';
import { buildRoutes, type Route } from '../routes.js';
import type { RequestContext } from '../context.js';
import type { ServerState } from '../state.js';
import type { Reply } from '../reply.js';
import { asyncOutcome, kesClientError } from '../../../test/helpers/property.js';

const store = new MemKeyStore();
const cache = new KeyCache(store, { expiry: { any: 0, unused: 0, offline: 0 }, statusIntervalMs: 0 });
const state = { cache, keyType: 'AES256' } as unknown as ServerState;
const routes = buildRoutes();
after(() => cache.close());

const KEY = Buffer.alloc(32, 7);
const CURRENT = 'current'; // protobuf entry with an HMAC key
const LEGACY = 'legacy'; // legacy JSON entry: no HMAC key
await store.create(CURRENT, encodeKeyVersion({ key: new SecretKey('AES256', KEY), hmacKey: new HmacKey(Buffer.alloc(32, 9)), createdAt: Timestamp.now(), createdBy: '' }));
await store.create(LEGACY, Buffer.from(JSON.stringify({ bytes: KEY.toString('base64') })));

function route(path: string): Route {
  const r = routes.find((x) => x.path === path);
  assert.ok(r, path);
  return r;
}

/** Calls a route's handler with a body, as the pipeline would after authentication. */
function call(path: string, resource: string, body: Buffer | undefined): Promise<Reply | undefined> {
  const r = route(path);
  const ctx: RequestContext = {
    state,
    route: r,
    method: r.method,
    path: path + resource,
    resource,
    identity: 'a'.repeat(64),
    ip: '127.0.0.1',
    headers: {},
    signal: new AbortController().signal,
    body: async () => body ?? Buffer.alloc(0),
    hasBody: () => body !== undefined,
  };
  return Promise.resolve(r.handler(ctx));
}

/** The JSON object of a successful reply. */
function replyJson(reply: Reply | undefined): any {
  assert.ok(reply && reply.kind !== 'stream');
  return reply.kind === 'json' ? reply.body : JSON.parse(reply.body.toString());
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** Field names of every key endpoint, in random letter case, and some others. */
const FIELDS = ['plaintext', 'context', 'ciphertext', 'message', 'key', 'cipher', 'bytes', 'algorithm'];
const fieldName = fc.oneof(fc.mixedCase(fc.constantFrom(...FIELDS)), fc.string({ maxLength: 6 }));
const fieldValue = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map(b64),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b64),
  fc.constantFrom('AES256', 'ChaCha20', 'AES256-GCM_SHA256', 'XCHACHA20-POLY1305', 'DES', ''),
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 10 }),
);
const object = fc.dictionary(fieldName, fieldValue, { maxKeys: 5 });
/** Request bodies: JSON objects of the right fields, other JSON, arrays of objects, non-JSON. */
const body = fc.oneof(
  { weight: 4, arbitrary: object.map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.array(object, { maxLength: 3 }).map((a) => JSON.stringify(a)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString('latin1')) },
).map((s) => Buffer.from(s));

const ENDPOINTS = [P.PATH_KEY_ENCRYPT, P.PATH_KEY_DECRYPT, P.PATH_KEY_GENERATE, P.PATH_KEY_HMAC, P.PATH_KEY_IMPORT, P.PATH_KEY_BULK_DECRYPT];
let imported = 0;

describe('key endpoint request bodies (properties)', () => {
  test('encrypt then decrypt through the handlers gives the plaintext back (any field case, extra fields)', async () => {
    const ctx = fc.uint8Array({ maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), ctx, fc.mixedCase(fc.constant('plaintext')), fc.mixedCase(fc.constant('context')), fc.dictionary(fc.constantFrom('x', 'id', 'version'), fc.jsonValue({ maxDepth: 1 })), fc.constantFrom(CURRENT, LEGACY), async (p, c, pName, cName, extra, name) => {
        const enc = replyJson(await call(P.PATH_KEY_ENCRYPT, name, Buffer.from(JSON.stringify({ ...extra, [pName]: b64(p), [cName]: b64(c) }))));
        const dec = replyJson(await call(P.PATH_KEY_DECRYPT, name, Buffer.from(JSON.stringify({ ciphertext: enc.ciphertext, context: b64(c) }))));
        assert.equal(dec.plaintext, b64(p));
        const bulk = replyJson(await call(P.PATH_KEY_BULK_DECRYPT, name, Buffer.from(JSON.stringify([{ ciphertext: enc.ciphertext, context: b64(c) }]))));
        assert.deepEqual(bulk, [{ plaintext: b64(p) }]);
      }),
      { numRuns: 1000 },
    );
  });

  test('generate: the plaintext is 32 bytes and the ciphertext decrypts to it with the same context', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }), async (c) => {
        const gen = replyJson(await call(P.PATH_KEY_GENERATE, CURRENT, c === undefined ? undefined : Buffer.from(JSON.stringify({ context: b64(c) }))));
        assert.equal(Buffer.from(gen.plaintext, 'base64').length, 32);
        const dec = replyJson(await call(P.PATH_KEY_DECRYPT, CURRENT, Buffer.from(JSON.stringify({ ciphertext: gen.ciphertext, context: b64(c ?? new Uint8Array(0)) }))));
        assert.equal(dec.plaintext, gen.plaintext);
      }),
      { numRuns: 1000 },
    );
  });

  test('hmac is HMAC-SHA-256 of the message under the entry\'s HMAC key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.mixedCase(fc.constant('message')), async (m, field) => {
        const reply = replyJson(await call(P.PATH_KEY_HMAC, CURRENT, Buffer.from(JSON.stringify({ [field]: b64(m) }))));
        assert.equal(reply.hmac, createHmac('sha256', Buffer.alloc(32, 9)).update(m).digest('base64'));
      }),
      { numRuns: 1000 },
    );
  });

  test('arbitrary bodies on every key endpoint: a reply or a 4xx KesError, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), fc.constantFrom(CURRENT, LEGACY), body, async (path, name, b) => {
        const resource = path === P.PATH_KEY_IMPORT ? `imported-${imported++}` : name;
        const o = await asyncOutcome(() => call(path, resource, b), kesClientError);
        if (!o.ok) assert.ok(!o.error.message.includes(KEY.toString('base64')) && !o.error.message.includes(KEY.toString('hex')));
        if (o.ok && path === P.PATH_KEY_IMPORT) await store.delete(resource);
      }),
      { numRuns: 6000 },
    );
  });

  test('import: a 32-byte key with a known cipher name is stored as that type, and its current or legacy field names work', async () => {
    const CIPHERS: [string, string][] = [['', 'AES256'], ['AES256', 'AES256'], ['AES256-GCM_SHA256', 'AES256'], ['ChaCha20', 'ChaCha20'], ['XCHACHA20-POLY1305', 'ChaCha20']];
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(...CIPHERS), fc.boolean(), async (k, [cipher, type], legacy) => {
        const name = `imported-${imported++}`;
        const fields = legacy ? { bytes: b64(k), algorithm: cipher } : { key: b64(k), cipher };
        assert.equal(await call(P.PATH_KEY_IMPORT, name, Buffer.from(JSON.stringify(fields))), undefined);
        const v = await cache.get(name);
        assert.equal(v.current.key.type, type);
        assert.deepEqual(v.current.key.bytes(), Buffer.from(k));
        await cache.delete(name);
      }),
      { numRuns: 500 },
    );
  });
});
