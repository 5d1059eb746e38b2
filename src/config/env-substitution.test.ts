import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConfigError, HERE, parse, yml } from '../../test/helpers/config-testing.js';
import { LOG_DEBUG } from './types.js';

test('${NAME} is replaced before typed decoding: strings, booleans, durations, levels, lists', () => {
  const env = {
    ADDR: '127.0.0.1:7000',
    ADMIN: 'disabled',
    KEY: '/run/secrets/kes.key',
    AUTH: 'on',
    SKIP: 'true',
    TIMEOUT: '15s',
    ANY: '1m',
    LEVEL: 'debug',
    ID: 'ea9826089311fe44d7590408ede9150f7c637b6cab0a91ee6fe1aa5d9fb366f6',
    KEYNAME: 'from-env',
    DIR: '/var/keys',
  };
  const config = parse(
    [
      'address: ${ADDR}',
      'admin:',
      '  identity: "${ADMIN}"', // quoted scalars too
      'tls:',
      '  key: ${ KEY }', // whitespace inside the braces is trimmed
      '  cert: "  ${KEY}  "', // and around the reference
      '  auth: ${AUTH}',
      'api:',
      '  /v1/ready:',
      '    skip_auth: ${SKIP}',
      '    timeout: ${TIMEOUT}',
      'policy:',
      '  app:',
      '    identities:',
      '      - ${ID}', // in a flow list [...] the reference must be quoted
      'cache:',
      '  expiry:',
      '    any: ${ANY}',
      'log:',
      '  error: ${LEVEL}',
      'keys:',
      '  - name: ${KEYNAME}',
      'keystore:',
      '  fs:',
      '    path: ${DIR}',
      '',
    ].join('\n'),
    { env },
  );
  assert.equal(config.address, '127.0.0.1:7000');
  assert.equal(config.admin, 'disabled');
  assert.equal(config.tls.keyFile, '/run/secrets/kes.key');
  assert.equal(config.tls.certFile, '/run/secrets/kes.key');
  assert.equal(config.tls.auth, 'on');
  assert.deepEqual(config.api['/v1/ready'], { skipAuth: true, timeoutMs: 15_000 });
  assert.deepEqual(config.policies.app?.identities, [env.ID]);
  assert.equal(config.cache.any, 60_000);
  assert.equal(config.log.error, LOG_DEBUG);
  assert.deepEqual(config.keys, ['from-env']);
  assert.deepEqual(config.keystore, { type: 'fs', path: '/var/keys' });
});

test('the substituted text is read as a plain scalar and validated like one', () => {
  assertConfigError(yml(`api:\n  /v1/status:\n    skip_auth: \${SKIP}  ${HERE}\n`), 'api./v1/status.skip_auth', /must be true or false, got "maybe"/, { env: { SKIP: 'maybe' } });
  assertConfigError(yml(`cache:\n  expiry:\n    any: \${ANY}  ${HERE}\n`), 'cache.expiry.any', /must not be negative/, { env: { ANY: '-1m' } });
  assertConfigError(yml(`admin:\n  identity: \${ADMIN}  ${HERE}\n`), 'admin.identity', /^required$/, { env: { ADMIN: '' } });
  // The value is not YAML-parsed: a value that looks like YAML syntax stays the string.
  assert.equal(parse(yml('tls:\n  key: k\n  cert: c\n  password: ${PW}\n'), { env: { PW: '#[not: yaml]' } }).tls.password, '#[not: yaml]');
});

test('a missing variable is an error with its name and line', () => {
  assertConfigError(
    yml(`tls:\n  key: k\n  cert: c\n  password: \${KES_TLS_PASSWORD}  ${HERE}\n`),
    'tls.password',
    /^referenced env\. variable 'KES_TLS_PASSWORD' in line '6' not found$/,
  );
  assertConfigError(yml(`keys:\n  - name: a\n  - name: \${ NEXT }  ${HERE}\n`), 'keys[1].name', /^referenced env\. variable 'NEXT' in line '8' not found$/);
});

test('names of Object.prototype members are variables like any other (found by a property test)', () => {
  // `${constructor}` used to resolve to Object and crash typed reading with a TypeError.
  assertConfigError(yml(`log:\n  error: \${constructor}  ${HERE}\n`), 'log.error', /^referenced env\. variable 'constructor' in line '\d+' not found$/);
  assertConfigError(yml(`version: \${__proto__}  ${HERE}\n`), 'version', /^referenced env\. variable '__proto__' in line '\d+' not found$/);
  assert.equal(parse(yml('address: ${toString}\n'), { env: { toString: '127.0.0.1:7000' } }).address, '127.0.0.1:7000');
});

test('no partial interpolation', () => {
  const config = parse(yml('tls:\n  key: a${X}\n  cert: ${X}b\n  password: $X\n'), { env: { X: 'value' } });
  assert.deepEqual([config.tls.keyFile, config.tls.certFile, config.tls.password], ['a${X}', '${X}b', '$X']);
});

test('policy patterns, api path keys and unknown fields are not substituted', () => {
  const config = parse(yml('policy:\n  app:\n    allow:\n      - ${ALLOW}\n    deny: ["${DENY}"]\n    paths:\n      - ${PATHS}\n', 'unknown: ${MISSING}\n'), { env: { ALLOW: '/v1/*' } });
  assert.deepEqual(config.policies.app, { allow: ['${ALLOW}', '${PATHS}'], deny: ['${DENY}'], identities: [] });
  assertConfigError(yml(`api:\n  \${ROUTE}:  ${HERE}\n    timeout: 1s\n`), 'api.${ROUTE}', /unknown API path "\$\{ROUTE\}"/, { env: { ROUTE: '/v1/status' } });
  assertConfigError(yml(`policy:\n  \${NAME}:  ${HERE}\n    allow: []\n`), 'policy.${NAME}', /invalid policy name/, { env: { NAME: 'app' } });
});

test('parseConfig reads process.env by default', () => {
  const name = `OPENKES_CONFIG_TEST_${process.pid}`;
  process.env[name] = '/from/process/env';
  try {
    const config = parse(yml(`keystore:\n  fs:\n    path: \${${name}}\n`), { env: undefined });
    assert.deepEqual(config.keystore, { type: 'fs', path: '/from/process/env' });
  } finally {
    delete process.env[name];
  }
});
