/**
 * The error catalogue is part of the wire contract (clients compare status and message): this
 * test pins every entry, so that a change is deliberate, and checks that docs/errors.md lists
 * them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { catalogue, ERRORS, kesError, KesError, LEGACY_MESSAGES, ROUTER_ANSWERS } from './errors.js';

const PINNED: [string, number, string][] = [
  ['KES_ERR_NOT_ALLOWED', 403, 'not authorized: insufficient permissions'],
  ['KES_ERR_KEY_NOT_FOUND', 404, 'key does not exist'],
  ['KES_ERR_KEY_EXISTS', 400, 'key already exists'],
  ['KES_ERR_POLICY_NOT_FOUND', 404, 'policy does not exist'],
  ['KES_ERR_IDENTITY_NOT_FOUND', 404, 'identity does not exist'],
  ['KES_ERR_DECRYPT', 400, 'decryption failed: ciphertext is not authentic'],
  ['KES_ERR_BAD_REQUEST', 400, 'invalid request body'],
  ['KES_ERR_BAD_REQUEST', 400, 'invalid import key request body'],
  ['KES_ERR_BAD_REQUEST', 400, 'too many ciphertexts'],
  ['KES_ERR_INVALID_NAME', 400, 'name is empty, too long or contains invalid characters'],
  ['KES_ERR_INVALID_NAME', 400, "key name '{name}' is empty, too long or contains invalid characters"],
  ['KES_ERR_INVALID_NAME', 400, "policy name '{name}' is empty, too long or contains invalid characters"],
  ['KES_ERR_INVALID_NAME', 400, "identity '{name}' is empty, too long or contains invalid characters"],
  ['KES_ERR_INVALID_PATTERN', 400, 'listing pattern is empty, too long or is invalid'],
  ['KES_ERR_INVALID_PATTERN', 400, "listing pattern '{pattern}' is empty, too long or is invalid"],
  ['KES_ERR_TLS', 400, 'tls: client certificate is required'],
  ['KES_ERR_TLS', 400, 'no client certificate is present'],
  ['KES_ERR_TLS', 400, 'too many client certificates are present'],
  ['KES_ERR_TLS', 400, 'invalid client certificate'],
  ['KES_ERR_TLS', 400, 'tls: client certificate {reason}'],
  ['KES_ERR_METHOD_NOT_ALLOWED', 405, 'method not allowed'],
  ['KES_ERR_METHOD_NOT_ALLOWED', 405, "received method '{method}' expected '{expected}'"],
  ['KES_ERR_UNSUPPORTED_ALGORITHM', 406, 'algorithm is not supported'],
  ['KES_ERR_UNSUPPORTED_ALGORITHM', 406, "algorithm '{algorithm}' is not supported"],
  ['KES_ERR_INVALID_KEY_SIZE', 406, 'invalid key size'],
  ['KES_ERR_INVALID_KEY_SIZE', 406, "invalid key size for '{algorithm}'"],
  ['KES_ERR_HMAC_NOT_SUPPORTED', 409, 'key does not support HMAC'],
  ['KES_ERR_VERSION_NOT_FOUND', 404, 'key version does not exist'],
  ['KES_ERR_ONLY_VERSION', 400, 'the only version of a key cannot be deleted'],
  ['KES_ERR_KEY_CHANGED', 409, 'key was changed concurrently: try again'],
  ['KES_ERR_ROTATION_UNSUPPORTED', 501, 'key store cannot change keys: rotation is not supported'],
  ['KES_ERR_BODY_TOO_LARGE', 413, 'request body too large'],
  ['KMS_ERR_PERMISSION', 403, 'access denied: insufficient permissions'],
  ['KMS_ERR_KEY_EXISTS', 409, 'key already exists'],
  ['KMS_ERR_DECRYPT', 400, 'invalid ciphertext'],
  ['KMS_ERR_ENCLAVE_EXISTS', 409, 'enclave already exists'],
  ['KMS_ERR_ENCLAVE_NOT_FOUND', 404, 'enclave does not exist'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: malformed command frames'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: no command'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: more than {max} commands'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: unknown command {command}'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: malformed {command} request'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: read and write commands cannot be sent together'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: {command} cannot be sent in a batch'],
  ['KMS_ERR_BAD_REQUEST', 400, "invalid request: {kind} name '{name}' is empty, too long or contains invalid characters"],
  ['KMS_ERR_BAD_REQUEST', 400, "invalid request: invalid identity '{identity}'"],
  ['KMS_ERR_BAD_REQUEST', 400, "invalid request: invalid privilege '{privilege}'"],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: data key length must be 1 to 1024 bytes'],
  ['KMS_ERR_BAD_REQUEST', 400, "invalid request: unsupported key type '{type}'"],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: invalid key size'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: version must be 0 when all versions are deleted'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: the default enclave cannot be created or deleted'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: the identity is configured in the config file'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: SysAdmin identities belong to the default enclave'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: a service account needs a parent identity of the same enclave'],
  ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: malformed log request'],
  ['KMS_ERR_NOT_SUPPORTED', 501, 'not supported'],
  ['KMS_ERR_NOT_SUPPORTED', 501, 'not supported: openkes servers share the key store and form no cluster'],
  ['KMS_ERR_NOT_SUPPORTED', 501, 'not supported: openkes keeps no sealed state and uses no HSM'],
  ['KMS_ERR_NOT_SUPPORTED', 501, 'not supported: KEY:LISTVERSIONS is not defined by the protocol'],
  ['KMS_ERR_NOT_SUPPORTED', 501, 'not supported: {what}'],
  ['KMS_ERR_BACKUP_NOT_CONFIGURED', 501, 'backup is not configured'],
  ['KMS_ERR_BACKUP_INVALID', 400, 'invalid backup: not an openkes backup, damaged, or encrypted under another key'],
  ['KMS_ERR_STORE_NOT_EMPTY', 409, 'key store is not empty: a backup is restored into an empty store'],
  ['KES_ERR_INTERNAL', 500, 'internal server error'],
  ['KES_ERR_NOT_IMPLEMENTED', 501, 'not implemented'],
  ['KES_ERR_STORE_FAILED', 502, 'key store is unavailable'],
  ['KES_ERR_STORE_FAILED', 502, 'failed to create key'],
  ['KES_ERR_STORE_FAILED', 502, 'failed to read key'],
  ['KES_ERR_STORE_FAILED', 502, 'failed to change key'],
  ['KES_ERR_STORE_FAILED', 502, 'failed to delete key'],
  ['KES_ERR_STORE_FAILED', 502, 'failed to list keys'],
  ['KES_ERR_TIMEOUT', 503, 'request timeout exceeded'],
  ['KES_ERR_STORE_UNREACHABLE', 504, 'key store is not reachable'],
  ['KES_ERR_HTTP', 500, 'unexpected response'],
];

test('the catalogue: every code, status and message, pinned', () => {
  assert.deepEqual(
    catalogue().map((c) => [c.code, c.status, c.message]),
    PINNED,
  );
  assert.deepEqual(Object.values(ROUTER_ANSWERS), [
    { status: 404, body: '404 page not found\n' },
    { status: 400, body: '400 Bad Request' },
  ]);
  assert.deepEqual(LEGACY_MESSAGES, [
    { status: 403, message: 'prohibited by policy', code: 'KES_ERR_NOT_ALLOWED' },
    { status: 400, message: 'key does already exist', code: 'KES_ERR_KEY_EXISTS' },
  ]);
});

test('variants fill their placeholders; templates match any value', () => {
  const e = kesError('KES_ERR_INVALID_NAME', 'key', { name: 'a.b' });
  assert.deepEqual([e.code, e.status, e.message], ['KES_ERR_INVALID_NAME', 400, "key name 'a.b' is empty, too long or contains invalid characters"]);
  assert.equal(new KesError('KES_ERR_TIMEOUT').message, ERRORS.KES_ERR_TIMEOUT.message);
  const entry = catalogue().find((c) => c.message.startsWith("received method"))!;
  assert.ok(entry.pattern.test("received method 'GET' expected 'PUT'"));
  assert.ok(!entry.pattern.test("received method 'GET' expected 'PUT' (x)"));
});

test('docs/errors.md lists every status and message of the catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const c of catalogue()) {
    assert.ok(doc.includes(`| ${c.status} | \`${c.message}\``), `docs/errors.md: ${c.status} ${c.message}`);
    assert.ok(doc.includes(`\`${c.code}\``), `docs/errors.md: ${c.code}`);
  }
  for (const a of Object.values(ROUTER_ANSWERS)) assert.ok(doc.includes(`| ${a.status} | \`${a.body.trim()}\``), `docs/errors.md: ${a.body}`);
});
