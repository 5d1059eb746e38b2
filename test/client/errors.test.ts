import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorFromResponse, normalizeEndpoint } from '../../src/client/index.js';

test('error responses map to codes by (status, message), legacy spellings included (test-vectors.md §8)', () => {
  const json = 'application/json';
  const cases: [number, string, string | undefined, string, string][] = [
    [404, '{"message":"key does not exist"\n}', json, 'KES_ERR_KEY_NOT_FOUND', 'key does not exist'],
    [400, '{"message":"key already exists"}', json, 'KES_ERR_KEY_EXISTS', 'key already exists'],
    [400, '{"message":"key does already exist"}', 'application/json; charset=utf-8', 'KES_ERR_KEY_EXISTS', 'key does already exist'],
    [403, '{"message":"not authorized: insufficient permissions"}', json, 'KES_ERR_NOT_ALLOWED', 'not authorized: insufficient permissions'],
    [403, '{"message":"prohibited by policy"}', json, 'KES_ERR_NOT_ALLOWED', 'prohibited by policy'],
    [400, '{"error":"decryption failed: ciphertext is not authentic"}', json, 'KES_ERR_DECRYPT', 'decryption failed: ciphertext is not authentic'],
    [404, '{"message":"policy does not exist"}', json, 'KES_ERR_POLICY_NOT_FOUND', 'policy does not exist'],
    [404, '{"message":"identity does not exist"}', json, 'KES_ERR_IDENTITY_NOT_FOUND', 'identity does not exist'],
    [409, '{"message":"key does not support HMAC"}', json, 'KES_ERR_HMAC_NOT_SUPPORTED', 'key does not support HMAC'],
    [501, 'not implemented', 'text/plain', 'KES_ERR_NOT_IMPLEMENTED', 'not implemented'],
    [502, '{"message":"failed to create key"}', json, 'KES_ERR_STORE_FAILED', 'failed to create key'],
    [404, '404 page not found\n', 'text/plain; charset=utf-8', 'KES_ERR_HTTP', '404 page not found'],
    [418, '', undefined, 'KES_ERR_HTTP', 'HTTP 418'],
    [404, '{"message":"key does not exist"}', 'text/plain', 'KES_ERR_HTTP', '{"message":"key does not exist"}'],
  ];
  for (const [status, body, type, code, message] of cases) {
    const e = errorFromResponse(status, body, type);
    assert.deepEqual([e.code, e.status, e.message], [code, status, message], body);
  }
});

test('endpoints are normalized like the KES SDK (test-vectors.md §8)', () => {
  assert.equal(normalizeEndpoint('https://127.0.0.1:7373/'), 'https://127.0.0.1:7373');
  assert.equal(normalizeEndpoint(' https://127.0.0.1:7373/ '), 'https://127.0.0.1:7373');
  assert.equal(normalizeEndpoint('127.0.0.1:7373'), 'https://127.0.0.1:7373');
  assert.equal(normalizeEndpoint('http://kes.example:7373'), 'https://kes.example:7373');
});
