import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { ApiKey, ApiKeyError } from './api-key.js';
import { identityOfCertificate } from './identity.js';
import { createSelfSignedFromApiKey } from '../pki/api-key-certificate.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

/** protocol.md §2.3: SPKI of an Ed25519 public key = this header ‖ the 32-byte key. */
const SPKI_HEADER = Buffer.from('302a300506032b6570032100', 'hex');

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const keyText = (s: Uint8Array) => 'kes:v1:' + Buffer.concat([Buffer.of(0), s]).toString('base64');

describe('API keys (properties)', () => {
  test('text round trip, identity = SHA-256 of the spec SPKI of the key that signs', () => {
    fc.assert(
      fc.property(seed, fc.uint8Array({ maxLength: 64 }), (s, message) => {
        const text = keyText(s);
        const key = ApiKey.parse(text);
        assert.equal(key.toString(), text);
        assert.equal(ApiKey.parse(text.slice('kes:v1:'.length)).identity, key.identity, 'the prefix is optional');
        assert.equal(ApiKey.fromPrivateKey(key.privateKey).toString(), text, 'PKCS #8 round trip');

        const x = Buffer.from(key.privateKey.export({ format: 'jwk' }).x!, 'base64url');
        const spki = Buffer.concat([SPKI_HEADER, x]);
        assert.equal(key.identity, createHash('sha256').update(spki).digest('hex'));
        const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
        assert.ok(verify(null, message, publicKey, sign(null, message, key.privateKey)));
      }),
      { numRuns: 400 }, // ~8 ms a case: four Ed25519 key imports, a JWK export, a signature
    );
  });

  test('the API key certificate has the API key identity', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 1, max: 3650 }), (s, days) => {
        const key = ApiKey.parse(keyText(s));
        assert.equal(identityOfCertificate(createSelfSignedFromApiKey(key, days).der), key.identity);
      }),
      { numRuns: 200 }, // certificate generation
    );
  });

  test('the key never shows in JSON, inspect or String of its identity', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const text = keyText(s);
        const key = ApiKey.parse(text);
        const body = text.slice('kes:v1:'.length);
        for (const shown of [JSON.stringify(key), inspect(key), inspect({ key }, { depth: 5 }), String(key.identity)]) {
          assert.ok(!shown.includes(body), shown);
          assert.ok(!shown.includes(Buffer.from(s).toString('hex')), shown);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('arbitrary text: an API key or ApiKeyError that does not repeat the text', () => {
    const b64 = (n: fc.Arbitrary<Uint8Array>) => n.map((b) => Buffer.from(b).toString('base64'));
    const body = fc.oneof(
      b64(fc.uint8Array({ maxLength: 40 })),
      b64(fc.tuple(fc.nat(3), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([t, s]) => Buffer.concat([Buffer.of(t), s]))),
      fc.string({ unit: 'binary', maxLength: 50 }),
      fc.base64String({ maxLength: 48 }),
    );
    const text = fc.tuple(fc.constantFrom('kes:v1:', '', 'kes:v2:', 'KES:V1:', 'kes:v1:kes:v1:'), body).map(([p, b]) => p + b);
    fc.assert(
      fc.property(text, (t) => {
        const o = outcome(() => ApiKey.parse(t), instanceOf(ApiKeyError));
        if (o.ok) {
          const raw = Buffer.from(t.replace(/^kes:v1:/, ''), 'base64');
          assert.equal(raw.length, 33);
          assert.equal(raw[0], 0);
          assert.match(o.value.identity, /^[0-9a-f]{64}$/);
        } else if (t.length > 8) {
          assert.ok(!o.error.message.includes(t), o.error.message);
        }
      }),
      { numRuns: 4000 },
    );
  });
});
