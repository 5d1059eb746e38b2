import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from './config-error.js';
import { ADMIN, assertConfigError, HERE, parse, TLS, yml } from '../../test/helpers/config-testing.js';

const ID1 = 'ea9826089311fe44d7590408ede9150f7c637b6cab0a91ee6fe1aa5d9fb366f6';
const ID2 = '0426fa9a04bc2756b92fbe8a97e1a1e07b53ecf04ed33da22c33e5c9faeb8cbb';
const PROXY = '57eb2da320a48ebe2750e95c50b3d64240aef4cd5d54c28a4f25155e88c98580';

test('the helper finds the marked line', () => {
  assert.throws(() => assertConfigError(yml(`version: v2\n`, `log: {error: on}  ${HERE}\n`), 'version', /invalid server config version/), assert.AssertionError);
});

test('YAML syntax errors carry their line', () => {
  assert.throws(
    () => parse(`${ADMIN}${TLS}keystore:\n  fs: [\n    path: x\n`),
    (err: unknown) => err instanceof ConfigError && err.line !== undefined && err.line >= 7 && /^kes\.yml:\d+: invalid YAML: /.test(err.message),
  );
  assert.throws(() => parse(`${ADMIN}admin:\n  identity: again\n`), (err: unknown) => err instanceof ConfigError && err.line === 3 && /unique/.test(err.message));
});

test('the top level must be a mapping; the file must not be empty', () => {
  assertConfigError(`- a  ${HERE}\n- b\n`, '', /top level must be a mapping/);
  assert.throws(() => parse('# only a comment\n'), /kes\.yml: the config file is empty/);
});

test('version: only v1', () => {
  assertConfigError(yml(`version: v2  ${HERE}\n`), 'version', /^invalid server config version "v2"/);
  assertConfigError(yml(`version: 1  ${HERE}\n`), 'version', /^invalid server config version "1"/);
});

test('address: IP literal host (or empty) and a port 0…65535', () => {
  for (const good of [':7373', '127.0.0.1:0', '[::]:65535', '[fe80::1]:7373']) assert.equal(parse(yml(`address: "${good}"\n`)).address, good);
  assertConfigError(yml(`address: localhost:7373  ${HERE}\n`), 'address', /host "localhost" must be an IP address/);
  assertConfigError(yml(`address: "::1:7373"  ${HERE}\n`), 'address', /must be an IP address/);
  assertConfigError(yml(`address: 0.0.0.0:70000  ${HERE}\n`), 'address', /invalid port "70000"/);
  assertConfigError(yml(`address: 0.0.0.0  ${HERE}\n`), 'address', /missing port/);
});

test('admin.identity is required', () => {
  assertConfigError(yml(`admin:\n  identity: ""  ${HERE}\n`), 'admin.identity', /^required$/);
  assertConfigError(yml(`admin:  ${HERE}\n  other: x\n`), 'admin.identity', /^required$/);
  assertConfigError(`${TLS}keystore:\n  fs: {path: p}\n`, 'admin.identity', /^required$/);
  assertConfigError(yml(`root: ""  ${HERE}\n`), 'root', /^required$/);
  assertConfigError(yml(`admin:\n  identity: x\n`, `root: y  ${HERE}\n`), 'root', /mutually exclusive/);
});

test('tls: key and cert required, auth only ""/on/off', () => {
  assertConfigError(yml(`tls:  ${HERE}\n  cert: ./public.crt\n`), 'tls.key', /^required$/);
  assertConfigError(yml(`tls:  ${HERE}\n  key: ./private.key\n`), 'tls.cert', /^required$/);
  assertConfigError(`${ADMIN}keystore:\n  fs: {path: p}\n`, 'tls.key', /^required$/);
  assertConfigError(yml(`tls:\n  key: k\n  cert: c\n  auth: maybe  ${HERE}\n`), 'tls.auth', /^must be "on" or "off", got "maybe"$/);
  assert.equal(parse(yml(`tls:\n  key: k\n  cert: c\n  auth: ""\n`)).tls.auth, 'off');
  assert.equal(parse(yml(`tls:\n  key: k\n  cert: c\n  auth: Off\n`)).tls.auth, 'off');
  assertConfigError(yml(`tls: ./cert.pem  ${HERE}\n`), 'tls', /must be a mapping/);
});

test('tls.proxy: identities must be valid and not the admin; default header', () => {
  const proxy = (ids: string) => `tls:\n  key: k\n  cert: c\n  proxy:\n    identities:\n${ids}`;
  assert.deepEqual(parse(yml(proxy(`      - ${PROXY}\n`))).tls.proxy, { identities: [PROXY], certHeader: 'X-Tls-Client-Cert' });
  assertConfigError(yml(`admin:\n  identity: ${PROXY}\n`, proxy(`      - ${PROXY}  ${HERE}\n`)), 'tls.proxy.identities[0]', /admin identity cannot be a TLS proxy/);
  assertConfigError(yml(proxy(`      - ${PROXY}\n      - not.valid  ${HERE}\n`)), 'tls.proxy.identities[1]', /invalid identity "not\.valid"/);
});

test('api: unknown paths and skip_auth outside the four allowed routes are errors naming the route', () => {
  assertConfigError(yml(`api:\n  /v1/key/create:  ${HERE}\n    timeout: 1s\n`), 'api./v1/key/create', /unknown API path "\/v1\/key\/create"/);
  assertConfigError(yml(`api:\n  /v1/ready:\n    timeout: 1s\n  /v1/nope: {}  ${HERE}\n`), 'api./v1/nope', /unknown API path "\/v1\/nope"/);
  assertConfigError(yml(`api:\n  /v1/key/generate/:\n    skip_auth: true  ${HERE}\n`), 'api./v1/key/generate/.skip_auth', /not allowed for \/v1\/key\/generate\//);
  assertConfigError(yml(`api:\n  /version:\n    skip_auth: on  ${HERE}\n`), 'api./version.skip_auth', /not allowed for \/version/);
  assertConfigError(yml(`api:\n  /v1/ready:\n    skip_auth: perhaps  ${HERE}\n`), 'api./v1/ready.skip_auth', /must be true or false, got "perhaps"/);
  assertConfigError(yml(`api:\n  /v1/status:\n    timeout: -1s  ${HERE}\n`), 'api./v1/status.timeout', /must not be negative/);
  assertConfigError(yml(`api:\n  /v1/status:\n    timeout: 15  ${HERE}\n`), 'api./v1/status.timeout', /invalid duration "15"/);
  // skip_auth: false is fine anywhere, and every route of the server may be configured.
  const api = parse(yml(`api:\n  /v1/key/bulk/decrypt/:\n    skip_auth: false\n  /v1/api:\n    skip_auth: true\n`)).api;
  assert.deepEqual(api, { '/v1/key/bulk/decrypt/': { skipAuth: false }, '/v1/api': { skipAuth: true } });
});

test('policy: names and identities must be valid names', () => {
  assertConfigError(yml(`policy:\n  my.policy:  ${HERE}\n    allow: [/v1/status]\n`), 'policy.my.policy', /invalid policy name "my\.policy"/);
  assertConfigError(yml(`policy:\n  -bad:  ${HERE}\n    allow: []\n`), 'policy.-bad', /invalid policy name/);
  assertConfigError(yml(`policy:\n  app:\n    identities:\n      - ${ID1}\n      - "with space"  ${HERE}\n`), 'policy.app.identities[1]', /invalid identity "with space"/);
  assertConfigError(yml(`policy:\n  app:\n    identities:\n      - _  ${HERE}\n`), 'policy.app.identities[0]', /invalid identity "_"/);
});

test('policy: an identity belongs to one policy and is neither admin nor proxy', () => {
  assertConfigError(
    yml(`policy:\n  a:\n    identities: [${ID1}]\n  b:\n    identities:\n      - ${ID2}\n      - ${ID1}  ${HERE}\n`),
    'policy.b.identities[1]',
    /already assigned to policy 'a'/,
  );
  assertConfigError(yml(`admin:\n  identity: ${ID1}\n`, `policy:\n  a:\n    identities:\n      - ${ID1}  ${HERE}\n`), 'policy.a.identities[0]', /admin identity/);
  assertConfigError(
    yml(`tls:\n  key: k\n  cert: c\n  proxy:\n    identities: [${PROXY}]\n`, `policy:\n  a:\n    identities:\n      - ${PROXY}  ${HERE}\n`),
    'policy.a.identities[0]',
    /TLS proxy identity/,
  );
  // Listed twice in the same policy is not a conflict.
  assert.deepEqual(parse(yml(`policy:\n  a:\n    identities: [${ID1}, ${ID1}]\n`)).policies.a?.identities, [ID1]);
});

test('policy patterns are not validated', () => {
  const policies = parse(yml(`policy:\n  a:\n    allow: ["/v1/key/*/my-key", "[a-z]?", ""]\n`)).policies;
  assert.deepEqual(policies.a?.allow, ['/v1/key/*/my-key', '[a-z]?', '']);
});

test('cache: negative and malformed durations', () => {
  assertConfigError(yml(`cache:\n  expiry:\n    any: -5m  ${HERE}\n`), 'cache.expiry.any', /must not be negative, got -5m/);
  assertConfigError(yml(`cache:\n  expiry:\n    unused: -1ns  ${HERE}\n`), 'cache.expiry.unused', /must not be negative/);
  assertConfigError(yml(`cache:\n  expiry:\n    offline: 1 hour  ${HERE}\n`), 'cache.expiry.offline', /invalid duration "1 hour"/);
});

test('log: levels', () => {
  assertConfigError(yml(`log:\n  error: verbose  ${HERE}\n`), 'log.error', /invalid log level "verbose"/);
  assertConfigError(yml(`log:\n  audit: true  ${HERE}\n`), 'log.audit', /invalid log level "true"/);
  assert.deepEqual(parse(yml(`log:\n  error: debug\n  audit: INFO+2\n`)).log, { error: -4, audit: 2 });
});

test('keys: names validated, duplicates rejected, legacy mapping rejected', () => {
  assertConfigError(yml(`keys:\n  - name: my-key\n  - name: my.key  ${HERE}\n`), 'keys[1].name', /invalid key name "my\.key"/);
  assertConfigError(yml(`keys:\n  - name: my-key\n  - name: my-key  ${HERE}\n`), 'keys[1].name', /duplicate key name "my-key"/);
  assertConfigError(yml(`keys:\n  - name: ""  ${HERE}\n`), 'keys[0].name', /^required$/);
  assertConfigError(yml(`keys:\n  - my-key  ${HERE}\n`), 'keys[0]', /must be a mapping with a name/);
  assertConfigError(yml(`keys:  ${HERE}\n  vault:\n    endpoint: https://127.0.0.1:8200\n`), 'keys', /KES v0\.13 and older.*move it under 'keystore:'/);
});

test('the error message format: file:line: field: reason', () => {
  try {
    parse(yml(`tls:\n  key: k\n  cert: c\n  auth: maybe\n`));
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, 'kes.yml:6: tls.auth: must be "on" or "off", got "maybe"');
  }
  assert.equal(new ConfigError('boom', { line: 3, field: 'a.b' }).message, 'line 3: a.b: boom');
  assert.equal(new ConfigError('boom').message, 'boom');
});

test('rotation: key names or patterns, with a period of at least 1s', () => {
  assert.deepEqual(parse(yml(`rotation:\n  - keys: minio-*\n    every: 720h\n  - keys: app-key\n    every: 1h30m\n`)).rotation, [
    { pattern: 'minio-*', everyMs: 720 * 3_600_000 },
    { pattern: 'app-key', everyMs: 90 * 60_000 },
  ]);
  assert.deepEqual(parse(yml('')).rotation, []);
  assertConfigError(yml(`rotation:\n  - keys: a*b  ${HERE}\n    every: 1h\n`), 'rotation[0].keys', /invalid key name or pattern "a\*b"/);
  assertConfigError(yml(`rotation:\n  - keys: k  ${HERE}\n`), 'rotation[0].every', /required: how often/);
  assertConfigError(yml(`rotation:\n  - keys: k\n    every: 500ms  ${HERE}\n`), 'rotation[0].every', /at least 1s/);
  assertConfigError(yml(`rotation:\n  - k  ${HERE}\n`), 'rotation[0]', /must be a mapping/);
});
