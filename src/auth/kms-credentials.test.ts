import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { ApiKey, ApiKeyError } from './api-key.js';
import { identityOfCertificate } from './identity.js';
import {
  K2_CLIENT_REFUSAL,
  KmsApiKey,
  KmsApiKeyError,
  apiKeyFromKms,
  identityFromEither,
  isApiKeyError,
  isKmsApiKeyText,
  kmsApiKeyOf,
  kmsIdentityOf,
  parseClientApiKey,
  parseKmsIdentity,
} from './kms-credentials.js';
import { createSelfSignedFromApiKey } from '../pki/api-key-certificate.js';
import { instanceOf, outcome } from '../../test/helpers/property.js';

/** docs/minkms.md "Identities": seed = bytes 0x00 … 0x1f. */
const EXAMPLE = {
  seed: Buffer.from([...Array(32).keys()]),
  k1: 'k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
  spki: '302a300506032b657003210003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8',
  identity: 'a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5',
  h1: 'h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU',
  kes: 'kes:v1:AAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f',
  k2: 'k2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
  k2h1: 'h1:qPDLDm2YqNmz2tOtZplAjSBFA3PYtU2NYVmst6Pp6lg',
};

describe('MinKMS credentials: the worked example (docs/minkms.md "Identities")', () => {
  test('k1 key → SPKI, identity in hex and h1 forms', () => {
    const key = KmsApiKey.parse(EXAMPLE.k1);
    assert.equal(key.type, 'k1');
    assert.equal(key.curve, undefined);
    assert.equal(key.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'), EXAMPLE.spki);
    assert.equal(key.identity, EXAMPLE.identity);
    assert.equal(key.kmsIdentity, EXAMPLE.h1);
    assert.equal(key.toString(), EXAMPLE.k1);
    assert.equal(Buffer.from(key.privateKey.export({ format: 'jwk' }).d!, 'base64url').toString('hex'), EXAMPLE.seed.toString('hex'));
  });

  test('k1 ⇄ the KES API key of the same seed', () => {
    const apiKey = apiKeyFromKms(EXAMPLE.k1);
    assert.equal(apiKey.toString(), EXAMPLE.kes);
    assert.equal(apiKey.identity, EXAMPLE.identity);
    assert.equal(kmsApiKeyOf(ApiKey.parse(EXAMPLE.kes)), EXAMPLE.k1);
    assert.equal(KmsApiKey.fromApiKey(ApiKey.parse(EXAMPLE.kes)).toString(), EXAMPLE.k1);
    assert.equal(KmsApiKey.parse(EXAMPLE.k1).toApiKey().toString(), EXAMPLE.kes);
  });

  test('identity conversions', () => {
    assert.equal(kmsIdentityOf(EXAMPLE.identity), EXAMPLE.h1);
    assert.equal(kmsIdentityOf(EXAMPLE.identity.toUpperCase()), EXAMPLE.h1);
    assert.equal(parseKmsIdentity(EXAMPLE.h1), EXAMPLE.identity);
    assert.equal(identityFromEither(EXAMPLE.h1), EXAMPLE.identity);
    assert.equal(identityFromEither(EXAMPLE.identity), EXAMPLE.identity);
    assert.equal(identityFromEither(EXAMPLE.identity.toUpperCase()), EXAMPLE.identity);
    assert.equal(identityOfCertificate(createSelfSignedFromApiKey(apiKeyFromKms(EXAMPLE.k1)).der), EXAMPLE.identity);
  });

  test('k2 P-256 key of the same 32 bytes', () => {
    const key = KmsApiKey.parse(EXAMPLE.k2);
    assert.equal(key.type, 'k2');
    assert.equal(key.curve, 'P-256');
    assert.equal(key.kmsIdentity, EXAMPLE.k2h1);
    assert.equal(key.toString(), EXAMPLE.k2);
    assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(createHash('sha256').update(key.publicKey.export({ type: 'spki', format: 'der' })).digest('hex'), key.identity);
  });
});

describe('MinKMS API keys', () => {
  for (const curve of ['P-256', 'P-384', 'P-521'] as const) {
    test(`${curve}: a node key's scalar as k2 has the key's identity and signs`, () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const d = privateKey.export({ format: 'jwk' }).d!;
      const key = KmsApiKey.parse(`k2:${d}`);
      assert.equal(key.curve, curve);
      assert.equal(key.toString().length, 3 + { 'P-256': 43, 'P-384': 64, 'P-521': 88 }[curve]);
      assert.equal(key.identity, createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex'));
      assert.equal(KmsApiKey.fromPrivateKey(privateKey).toString(), `k2:${d}`);
      const message = Buffer.from('message');
      assert.ok(verify('sha256', message, publicKey, sign('sha256', message, key.privateKey)));
      assert.throws(() => key.toApiKey(), KmsApiKeyError);
    });
  }

  test('fromPrivateKey: Ed25519 gives k1; RSA, other curves and public keys are refused', () => {
    const ed = generateKeyPairSync('ed25519');
    const k = KmsApiKey.fromPrivateKey(ed.privateKey);
    assert.equal(k.type, 'k1');
    assert.equal(k.toApiKey().identity, k.identity);
    for (const bad of [
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey,
      ed.publicKey,
    ]) {
      assert.throws(() => KmsApiKey.fromPrivateKey(bad), KmsApiKeyError);
    }
  });

  const b64 = (n: number, fill = 1) => Buffer.alloc(n, fill).toString('base64url');
  const rejected: [title: string, text: string][] = [
    ['no prefix', EXAMPLE.k1.slice(3)],
    ['the k3: prefix', `k3:${EXAMPLE.k1.slice(3)}`],
    ['an upper-case prefix', `K1:${EXAMPLE.k1.slice(3)}`],
    ['a KES API key', EXAMPLE.kes],
    ['an h1: identity', EXAMPLE.h1],
    ['k1 one character short', EXAMPLE.k1.slice(0, -1)],
    ['k1 one character long', `${EXAMPLE.k1}A`],
    ['k1 with padding', `${EXAMPLE.k1}=`],
    ['k1 in standard base64 (+)', `k1:+${EXAMPLE.k1.slice(4)}`],
    ['k1 in standard base64 (/)', `k1:/${EXAMPLE.k1.slice(4)}`],
    ['k1 with a space', `k1:${EXAMPLE.k1.slice(3, -1)} `],
    ['k1 with non-zero trailing bits', `${EXAMPLE.k1.slice(0, -1)}9`],
    ['k1 empty', 'k1:'],
    ['k2 of 31 bytes', `k2:${b64(31)}`],
    ['k2 of 33 bytes', `k2:${b64(33)}`],
    ['k2 of 47 bytes', `k2:${b64(47)}`],
    ['k2 of 65 bytes', `k2:${b64(65)}`],
    ['k2 with padding', `k2:${Buffer.alloc(32, 1).toString('base64')}`],
    ['k2 zero scalar', `k2:${b64(32, 0)}`],
    ['k2 P-256 scalar ≥ the order', `k2:${b64(32, 0xff)}`],
    ['k2 P-521 scalar over 521 bits', `k2:${b64(66, 0xff)}`],
    ['empty', ''],
  ];
  for (const [title, text] of rejected) {
    test(`rejects ${title}, without repeating the key`, () => {
      assert.throws(() => KmsApiKey.parse(text), (e: unknown) => {
        assert.ok(e instanceof KmsApiKeyError);
        assert.match(e.message, /^invalid MinKMS API key: /);
        const body = text.slice(3);
        if (body.length > 4) assert.ok(!e.message.includes(body), e.message);
        return true;
      });
    });
  }

  test('the key never shows in inspect or JSON', () => {
    for (const text of [EXAMPLE.k1, EXAMPLE.k2]) {
      const key = KmsApiKey.parse(text);
      const secret = text.slice(3);
      for (const shown of [inspect(key), inspect({ key }, { depth: 5 }), JSON.stringify({ key })]) {
        assert.ok(!shown.includes(secret), shown);
        assert.ok(shown.includes(key.identity), shown);
      }
      assert.deepEqual(Object.keys(key).sort(), ['curve', 'identity', 'privateKey', 'publicKey', 'type']);
    }
  });

  test('isKmsApiKeyText looks at the prefix only', () => {
    assert.equal(isKmsApiKeyText('k1:'), true);
    assert.equal(isKmsApiKeyText('k2:x'), true);
    assert.equal(isKmsApiKeyText(EXAMPLE.kes), false);
    assert.equal(isKmsApiKeyText(EXAMPLE.h1), false);
  });
});

describe('parseClientApiKey', () => {
  test('a kes:v1: key (with or without prefix) and the k1: key of the same seed give the same ApiKey', () => {
    for (const text of [EXAMPLE.kes, EXAMPLE.kes.slice('kes:v1:'.length), EXAMPLE.k1]) {
      const key = parseClientApiKey(text);
      assert.equal(key.toString(), EXAMPLE.kes, text);
      assert.equal(key.identity, EXAMPLE.identity);
    }
  });

  test('k2 keys are refused with a clear message; invalid keys throw the documented errors', () => {
    assert.throws(() => parseClientApiKey(EXAMPLE.k2), { name: 'KmsApiKeyError', message: K2_CLIENT_REFUSAL });
    assert.throws(() => parseClientApiKey('k1:nope'), KmsApiKeyError);
    assert.throws(() => parseClientApiKey('kes:v1:nope'), ApiKeyError);
    for (const bad of [EXAMPLE.k2, 'k1:nope', 'kes:v1:nope']) {
      try {
        parseClientApiKey(bad);
        assert.fail('no error');
      } catch (err) {
        assert.ok(isApiKeyError(err));
      }
    }
    assert.equal(isApiKeyError(new Error('x')), false);
  });
});

describe('MinKMS identities', () => {
  const digest = (n: number) => Buffer.alloc(n, 0xab).toString('base64url');
  const rejected: [title: string, text: string][] = [
    ['31 bytes', `h1:${digest(31)}`],
    ['33 bytes', `h1:${digest(33)}`],
    ['padding', `h1:${Buffer.from(EXAMPLE.identity, 'hex').toString('base64')}`],
    ['standard base64 characters', `h1:+${EXAMPLE.h1.slice(4)}`],
    ['non-zero trailing bits', `${EXAMPLE.h1.slice(0, -1)}V`],
    ['no prefix', EXAMPLE.h1.slice(3)],
    ['an upper-case prefix', `H1:${EXAMPLE.h1.slice(3)}`],
    ['the h2: prefix', `h2:${EXAMPLE.h1.slice(3)}`],
    ['a hex identity', EXAMPLE.identity],
    ['empty', ''],
    ['only the prefix', 'h1:'],
  ];
  for (const [title, text] of rejected) {
    test(`parseKmsIdentity rejects ${title}`, () => {
      assert.equal(parseKmsIdentity(text), undefined);
    });
  }

  test('identityFromEither rejects what is neither form', () => {
    for (const text of [EXAMPLE.identity.slice(1), `${EXAMPLE.identity}0`, `${EXAMPLE.identity.slice(1)}g`, ` ${EXAMPLE.identity}`, `h1:${digest(31)}`, EXAMPLE.k1, '']) {
      assert.equal(identityFromEither(text), undefined, text);
    }
  });

  test('kmsIdentityOf refuses what is not a hex identity', () => {
    for (const bad of ['', EXAMPLE.identity.slice(2), EXAMPLE.h1, `${EXAMPLE.identity.slice(1)}x`]) {
      assert.throws(() => kmsIdentityOf(bad), TypeError);
    }
  });

  test('property: hex ⇄ h1 round trip for every 32-byte digest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), (bytes, upper) => {
        const hex = Buffer.from(bytes).toString('hex');
        const h1 = kmsIdentityOf(upper ? hex.toUpperCase() : hex);
        assert.match(h1, /^h1:[A-Za-z0-9_-]{43}$/);
        assert.equal(parseKmsIdentity(h1), hex);
        assert.equal(identityFromEither(h1), hex);
        assert.equal(identityFromEither(upper ? hex.toUpperCase() : hex), hex);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: arbitrary h1: text parses only when it is the canonical form of 32 bytes', () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/='), minLength: 40, maxLength: 46 }),
      fc.string({ maxLength: 50 }),
    );
    fc.assert(
      fc.property(text, (body) => {
        const hex = parseKmsIdentity(`h1:${body}`);
        if (hex !== undefined) {
          assert.match(hex, /^[0-9a-f]{64}$/);
          assert.equal(kmsIdentityOf(hex), `h1:${body}`);
        }
      }),
      { numRuns: 4000 },
    );
  });

  test('property: k1 ⇄ kes:v1: for every seed, same identity; arbitrary text fails only with KmsApiKeyError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const k1 = `k1:${Buffer.from(seed).toString('base64url')}`;
        const kes = `kes:v1:${Buffer.concat([Buffer.of(0), seed]).toString('base64')}`;
        const apiKey = apiKeyFromKms(k1);
        assert.equal(apiKey.toString(), kes);
        assert.equal(kmsApiKeyOf(ApiKey.parse(kes)), k1);
        assert.equal(KmsApiKey.parse(k1).kmsIdentity, kmsIdentityOf(apiKey.identity));
      }),
      { numRuns: 200 },
    );
    const body = fc.string({ unit: fc.constantFrom(...'AZaz09-_+/= '), maxLength: 90 });
    fc.assert(
      fc.property(fc.constantFrom('k1:', 'k2:', 'k3:', ''), body, (prefix, b) => {
        const o = outcome(() => KmsApiKey.parse(prefix + b), instanceOf(KmsApiKeyError));
        if (!o.ok && b.length > 4) assert.ok(!o.error.message.includes(b), o.error.message);
      }),
      { numRuns: 2000 },
    );
  });
});
