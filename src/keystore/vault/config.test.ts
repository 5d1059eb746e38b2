import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConfigError, HERE, parse, yml } from '../../../test/helpers/config-testing.js';
import type { KeyStoreConfig } from '../registry.js';

const keystore = (section: string, env: Record<string, string> = {}): KeyStoreConfig => parse(yml(`keystore:\n${section}`), { env }).keystore;
const vault = (body: string) => yml(`keystore:\n  vault:  ${body.includes(HERE) ? '' : HERE}\n${body}`);

test('vault: a static token, also from the environment, and the request timeout', () => {
  assert.deepEqual(keystore('  vault:\n    endpoint: http://127.0.0.1:8200\n    token: hvs.dev-token\n    timeout: 3s\n'), {
    type: 'vault',
    endpoint: 'http://127.0.0.1:8200',
    engine: 'kv',
    version: 'v1',
    token: 'hvs.dev-token',
    statusPingMs: 15_000,
    timeoutMs: 3000,
  } satisfies KeyStoreConfig);
  const fromEnv = keystore('  vault:\n    endpoint: http://127.0.0.1:8200\n    version: v2\n    token: ${VAULT_TOKEN}\n', { VAULT_TOKEN: 'hvs.from-env' });
  assert.equal(fromEnv.type === 'vault' && fromEnv.token, 'hvs.from-env');
  assert.equal(fromEnv.type === 'vault' && fromEnv.timeoutMs, undefined, 'no timeout: the store default');
});

test('vault: exactly one authentication method', () => {
  assertConfigError(vault('    endpoint: https://v\n'), 'keystore.vault', /^either approle or kubernetes authentication \(or a static token\) is required$/);
  assertConfigError(vault('    endpoint: https://v\n    token: t\n    approle: {id: i, secret: s}\n'), 'keystore.vault', /^token and approle are mutually exclusive: specify only one authentication method$/);
  assertConfigError(vault('    endpoint: https://v\n    token: t\n    kubernetes: {jwt: j}\n'), 'keystore.vault', /^token and kubernetes are mutually exclusive/);
  assertConfigError(vault('    endpoint: https://v\n    token: t\n    approle: {id: i, secret: s}\n    kubernetes: {jwt: j}\n'), 'keystore.vault', /^token and approle and kubernetes are mutually exclusive/);
});

test('vault: an empty token is an error, a missing variable names it', () => {
  assertConfigError(vault(`    endpoint: https://v\n    token: ""  ${HERE}\n`), 'keystore.vault.token', /^must not be empty$/);
  assertConfigError(vault(`    endpoint: https://v\n    token: \${VAULT_TOKEN}  ${HERE}\n`), 'keystore.vault.token', /^referenced env\. variable 'VAULT_TOKEN' in line '\d+' not found$/);
});

test('vault: timeout must be a duration, not negative', () => {
  assertConfigError(vault(`    endpoint: https://v\n    token: t\n    timeout: soon  ${HERE}\n`), 'keystore.vault.timeout', /^invalid duration "soon"/);
  assertConfigError(vault(`    endpoint: https://v\n    token: t\n    timeout: -1s  ${HERE}\n`), 'keystore.vault.timeout', /must not be negative/);
});
