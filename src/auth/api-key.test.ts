import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { ApiKey, ApiKeyError } from './api-key.js';
import { API_KEY_VECTORS } from '../../test/helpers/vectors.js';

describe('ApiKey (test-vectors.md §1.1)', () => {
  for (const [key, identity] of API_KEY_VECTORS) {
    test(`${key.slice(0, 14)}… has identity ${identity.slice(0, 8)}…`, () => {
      const k = ApiKey.parse(key);
      assert.equal(k.identity, identity);
      assert.equal(k.toString(), key, 'round trips unchanged');
    });
  }

  test('the worked example: seed, public key and SPKI of the first key', () => {
    const k = ApiKey.parse(API_KEY_VECTORS[0]![0]);
    const spki = k.publicKey.export({ type: 'spki', format: 'der' });
    assert.equal(spki.toString('hex'), '302a300506032b6570032100bce7ef7e567e6487fe084ab3ee223d6ce264c9967625abfecaafa9e5be5b04b1');
  });

  test('a missing kes:v1: prefix is tolerated', () => {
    const [key, identity] = API_KEY_VECTORS[1]!;
    assert.equal(ApiKey.parse(key.slice('kes:v1:'.length)).identity, identity);
  });

  for (const bad of [
    'v1:AM0F5TP43FYEShMzA42f2drFYGnBOiNx7UH4DK0nm08E',
    'kes:AM0F5TP43FYEShMzA42f2drFYGnBOiNx7UH4DK0nm08E',
    'kes:v1:sbDvZFqUPFFwxRS4EkuoEb2nyyInkdKSUEYHXFHeTouW',
    'kes:v1:',
    'kes:v1:AM0F5TP43FYEShMzA42f2drFYGnBOiNx7UH4DK0nm0',
    'kes:v1:AM0F5TP43FYEShMzA42f2drFYGnBOiNx7UH4DK0nm08EAAAA',
    '',
  ]) {
    test(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => ApiKey.parse(bad), ApiKeyError);
    });
  }

  test('generate makes distinct valid keys that round trip', () => {
    const a = ApiKey.generate();
    const b = ApiKey.generate();
    assert.notEqual(a.identity, b.identity);
    assert.match(a.toString(), /^kes:v1:[A-Za-z0-9+/]{44}$/);
    assert.equal(a.toString().length, 51);
    assert.equal(ApiKey.parse(a.toString()).identity, a.identity);
  });

  test('converts an Ed25519 private key to its API key, and rejects other keys', () => {
    const k = ApiKey.parse(API_KEY_VECTORS[0]![0]);
    assert.equal(ApiKey.fromPrivateKey(k.privateKey).toString(), API_KEY_VECTORS[0]![0]);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(() => ApiKey.fromPrivateKey(ec.privateKey), ApiKeyError);
    assert.throws(() => ApiKey.fromPrivateKey(k.publicKey), ApiKeyError);
  });

  test('the key never shows in inspect or JSON', () => {
    const k = ApiKey.parse(API_KEY_VECTORS[0]![0]);
    const secret = API_KEY_VECTORS[0]![0].slice(7);
    assert.ok(!inspect(k).includes(secret));
    assert.ok(!JSON.stringify({ k }).includes(secret));
    assert.ok(inspect(k).includes(k.identity));
  });
});
