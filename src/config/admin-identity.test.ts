/** admin.identity: a value that is not an identity disables the admin (KES) and is a warning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConfigError, HERE, parse, yml } from '../../test/helpers/config-testing.js';
import type { ConfigWarning } from './config-warning.js';
import type { ParseConfigOptions } from './parse-config.js';

const IDENTITY = '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22';
/** The API key of IDENTITY (docs/test-vectors.md §1): a secret, never to be shown. */
const API_KEY = 'kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYDRc';

/** Parses a config with the given admin.identity; returns the admin and the warnings. */
function admin(value: string, options: ParseConfigOptions = {}): { admin: string; warnings: ConfigWarning[] } {
  const warnings: ConfigWarning[] = [];
  const config = parse(yml(`admin:\n  identity: ${value}\n`), { ...options, warnings });
  return { admin: config.admin, warnings };
}

test('an identity, `disabled` (any case) and a ${NAME} that holds one of them: no warning', () => {
  for (const value of [IDENTITY, 'disabled', 'Disabled', 'DISABLED', '"disabled"']) {
    assert.deepEqual(admin(value).warnings, [], value);
  }
  assert.deepEqual(admin('${ADMIN}', { env: { ADMIN: 'disabled' } }).warnings, []);
  assert.deepEqual(admin('${ADMIN}', { env: { ADMIN: IDENTITY } }).warnings, []);
});

test('any other value disables the admin as in KES, kept as written, with a warning', () => {
  const { admin: value, warnings } = admin('abc');
  assert.equal(value, 'abc');
  assert.equal(warnings.length, 1);
  const [w] = warnings as [ConfigWarning];
  assert.equal(w.kind, 'admin-identity');
  assert.equal(w.field, 'admin.identity');
  assert.equal(w.line, 5);
  assert.equal(w.message, 'kes.yml:5: admin.identity: "abc" is not an identity (64 hex characters): the admin is disabled (write "disabled" if that is what you mean)');
  assert.match(admin('off').warnings[0]!.reason, /^"off" is not an identity/);
  assert.match(admin(IDENTITY.slice(1)).warnings[0]!.reason, /is not an identity \(64 hex characters\)/);
});

test('a ${NAME} value names the variable', () => {
  const { warnings } = admin('${ADMIN}', { env: { ADMIN: 'nobody' } });
  assert.equal(warnings[0]?.reason, '"nobody" (from ${ADMIN}) is not an identity (64 hex characters): the admin is disabled (write "disabled" if that is what you mean)');
});

test('upper-case hex matches no client (identities are lower case): the warning gives the right value', () => {
  const { admin: value, warnings } = admin(IDENTITY.toUpperCase());
  assert.equal(value, IDENTITY.toUpperCase());
  assert.equal(
    warnings[0]?.reason,
    `"${IDENTITY.toUpperCase()}" is not an identity: identities are lower-case hex, so no client matches it and the admin is disabled; write "${IDENTITY}"`,
  );
});

test('an API key: the warning gives its identity and never the key', () => {
  for (const key of [API_KEY, API_KEY.slice('kes:v1:'.length)]) {
    const { admin: value, warnings } = admin(`"${key}"`);
    assert.equal(value, key, 'kept as written: the admin is disabled, as in KES');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.reason, `is an API key, not an identity, so the admin is disabled; its identity is ${IDENTITY}: put that there instead`);
    assert.ok(!warnings[0]!.message.includes(key.slice(10)), 'the API key is a secret');
  }
  const fromEnv = admin('${ADMIN_KEY}', { env: { ADMIN_KEY: API_KEY } }).warnings[0]!;
  assert.match(fromEnv.reason, /^is an API key \(from \$\{ADMIN_KEY\}\), not an identity/);
});

test('text that looks like an API key but is not one is not shown either', () => {
  const broken = 'kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYD';
  const { warnings } = admin(`"${broken}"`);
  assert.equal(warnings[0]?.reason, 'looks like an API key but is not a valid one, and is not an identity (64 hex characters): the admin is disabled');
});

test('long values are shortened', () => {
  const long = 'x'.repeat(200);
  const reason = admin(long).warnings[0]!.reason;
  assert.ok(reason.startsWith(`"${'x'.repeat(71)}…" is not an identity`), reason);
});

test('the legacy root: is checked the same way', () => {
  const warnings: ConfigWarning[] = [];
  const config = parse(yml(`root: abc  ${HERE}\n`), { warnings });
  assert.equal(config.admin, 'abc');
  assert.equal(warnings[0]?.field, 'root');
  assert.match(warnings[0]!.reason, /^"abc" is not an identity/);
});

test('`admin: disabled` (a scalar) is an error, as in KES, that says what to write', () => {
  assertConfigError(yml(`admin: disabled  ${HERE}\n`), 'admin', /^must be a mapping: to disable the admin write "identity: disabled" under admin:$/);
  assert.equal(parse(yml('admin:\n  identity: disabled\n')).admin, 'disabled', 'the form SECURITY.md means');
});
