import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './config-error.js';
import { loadConfigFile, parseConfig } from './parse-config.js';
import { LOG_INFO, LOG_OFF, LOG_WARN, type KeyStoreConfig, type ServerConfig } from './types.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const testdata = (name: string) => fileURLToPath(new URL(`testdata/${name}`, import.meta.url));
/** Parses a fixture the way the tests of test-vectors.md §11 do: paths relative to src/config. */
const parseFixture = (name: string): ServerConfig => parseConfig(readFileSync(testdata(name), 'utf8'), { env: {}, filename: name, baseDir: here });

const KESCONF_ADMIN = 'c84cc9b91ae2399b043da7eca616048d4b4200edf2ff418d8af3835911db945d';
const DEFAULT_CACHE = { any: 300_000, unused: 30_000, offline: 0 };

test('fs.yml (test-vectors.md §11)', () => {
  const config = parseFixture('fs.yml');
  assert.deepEqual(config, {
    address: '0.0.0.0:7373',
    admin: KESCONF_ADMIN,
    tls: { keyFile: './private.key', certFile: './public.crt', auth: 'off' },
    api: {},
    policies: {},
    cache: DEFAULT_CACHE,
    log: { error: LOG_INFO, audit: LOG_OFF },
    keys: [],
    rotation: [],
    keystore: { type: 'fs', path: '/tmp/keys' },
  } satisfies ServerConfig);
});

test('custom-api.yml: per-route timeouts and skip_auth, no version, admin disabled (test-vectors.md §11)', () => {
  const config = parseFixture('custom-api.yml');
  assert.equal(config.admin, 'disabled');
  assert.deepEqual(config.api, {
    '/v1/status': { skipAuth: true, timeoutMs: 17_000 },
    '/v1/metrics': { skipAuth: true, timeoutMs: 22_000 },
  });
  assert.deepEqual(config.cache, DEFAULT_CACHE);
});

const VAULT_APPROLE: KeyStoreConfig = {
  type: 'vault',
  endpoint: 'https://127.0.0.1:8200',
  engine: 'kv',
  version: 'v2',
  namespace: 'ns1',
  prefix: 'tenant-1',
  approle: { engine: 'approle', id: 'db02de05-fa39-4855-059b-67221c5c2f63', secret: '6a174c20-f6de-a53c-74d2-6018fcceff64' },
  statusPingMs: 15_000,
};

for (const name of ['vault-approle.yml', 'vault.yml']) {
  test(`${name}: Vault with AppRole (test-vectors.md §11)`, () => {
    assert.deepEqual(parseFixture(name).keystore, VAULT_APPROLE);
  });
}

test('vault-k8s.yml: Vault with an inline Kubernetes JWT (test-vectors.md §11)', () => {
  const jwt = /jwt: (.*)/.exec(readFileSync(testdata('vault-k8s.yml'), 'utf8'))?.[1];
  assert.ok(jwt !== undefined && jwt.length > 20 && !jwt.includes('/'));
  assert.deepEqual(parseFixture('vault-k8s.yml').keystore, {
    type: 'vault',
    endpoint: 'https://127.0.0.1:8201',
    engine: 'secrets',
    version: 'v1',
    namespace: 'ns2',
    prefix: 'tenant-2',
    kubernetes: { engine: 'kubernetes', role: 'default', jwt },
    statusPingMs: 15_000,
  } satisfies KeyStoreConfig);
});

test('vault-k8s-with-service-account-file.yml keeps the JWT path; the file must exist (test-vectors.md §11)', () => {
  const keystore = parseFixture('vault-k8s-with-service-account-file.yml').keystore;
  assert.equal(keystore.type, 'vault');
  assert.deepEqual(keystore.type === 'vault' && keystore.kubernetes, { engine: 'kubernetes', role: 'default', jwt: './testdata/vault-k8s-service-account' });
  // Read from another directory, the relative path does not resolve: a load-time error.
  const text = readFileSync(testdata('vault-k8s-with-service-account-file.yml'), 'utf8');
  assert.throws(
    () => parseConfig(text, { env: {}, filename: 'k8s.yml', baseDir: testdata('') }),
    (err: unknown) => err instanceof ConfigError && err.field === 'keystore.vault.kubernetes.jwt' && err.line === 18 && /k8s\.yml:18: .*cannot read the service account token file/.test(err.message),
  );
});

test('aws.yml and aws-no-credentials.yml (test-vectors.md §11)', () => {
  assert.deepEqual(parseFixture('aws.yml').keystore, {
    type: 'aws',
    endpoint: 'secretsmanager.us-east-2.amazonaws.com',
    region: 'us-east-2',
    credentials: { accessKey: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  } satisfies KeyStoreConfig);
  assert.deepEqual(parseFixture('aws-no-credentials.yml').keystore, {
    type: 'aws',
    endpoint: 'secretsmanager.us-east-2.amazonaws.com',
    region: 'us-east-2',
  } satisfies KeyStoreConfig);
});

test('full-v1.yml: every section', () => {
  assert.deepEqual(parseFixture('full-v1.yml'), {
    address: '[::1]:7000',
    admin: '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22',
    tls: {
      keyFile: '/etc/kes/server.key',
      certFile: '/etc/kes/server.crt',
      password: 's3cr3t',
      auth: 'on',
      caPath: '/etc/kes/ca/',
      proxy: { identities: ['57eb2da320a48ebe2750e95c50b3d64240aef4cd5d54c28a4f25155e88c98580'], certHeader: 'X-Forwarded-Client-Cert' },
    },
    api: {
      '/v1/ready': { skipAuth: true, timeoutMs: 1_000 },
      '/v1/key/generate/': { skipAuth: false, timeoutMs: 90_000 },
      '/v1/log/audit': { skipAuth: false },
    },
    policies: {
      minio: {
        allow: ['/v1/key/create/minio-*', '/v1/key/generate/minio-*', '/v1/key/decrypt/minio-*'],
        deny: ['/v1/key/generate/minio-internal'],
        identities: ['ea9826089311fe44d7590408ede9150f7c637b6cab0a91ee6fe1aa5d9fb366f6', '0426fa9a04bc2756b92fbe8a97e1a1e07b53ecf04ed33da22c33e5c9faeb8cbb'],
      },
      monitoring: { allow: ['/v1/metrics', '/v1/status'], deny: [], identities: ['ab785e3b95d80d72cc9c27cb9fde886a0bf9068a69d40e3bd08a54e68c3f2bf7'] },
      empty: { allow: [], deny: [], identities: [] },
    },
    cache: { any: 600_000, unused: 60_000, offline: 7_200_000 },
    log: { error: LOG_WARN, audit: LOG_INFO },
    keys: ['minio-default', 'minio-backup'],
    rotation: [],
    keystore: { type: 'fs', path: '/var/lib/kes/keys' },
  } satisfies ServerConfig);
});

test('legacy v0.14 shape: root, policy paths, keys list + keystore', () => {
  const config = parseFixture('legacy-v0.14.yml');
  assert.equal(config.admin, '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22');
  assert.deepEqual(config.policies, {
    'my-app': {
      allow: ['/v1/key/create/my-app*', '/v1/key/generate/my-app*', '/v1/key/decrypt/my-app*'],
      deny: [],
      identities: ['ea9826089311fe44d7590408ede9150f7c637b6cab0a91ee6fe1aa5d9fb366f6'],
    },
  });
  assert.deepEqual(config.cache, { any: 300_000, unused: 20_000, offline: 0 });
  assert.deepEqual(config.log, { error: LOG_INFO, audit: LOG_OFF });
  assert.deepEqual(config.keys, ['my-app-key']);
  assert.deepEqual(config.keystore, { type: 'fs', path: './keys' });
});

test('legacy v0.15 … v0.18 shape: root, allow/deny, empty proxy list, Vault with retry', () => {
  const config = parseFixture('legacy-v0.17.yml');
  assert.equal(config.admin, '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22');
  assert.deepEqual(config.tls, { keyFile: './server.key', certFile: './server.cert', auth: 'off' }, 'no proxy without identities');
  assert.deepEqual(config.policies['my-app']?.deny, ['/v1/key/generate/my-app-internal*']);
  assert.deepEqual(config.keystore, {
    type: 'vault',
    endpoint: 'https://vault.example.com:8200',
    engine: 'kv',
    version: 'v1',
    approle: { engine: 'approle', id: 'db02de05-fa39-4855-059b-67221c5c2f63', secret: '6a174c20-f6de-a53c-74d2-6018fcceff64' },
    tls: { caPath: './vault-ca.crt' },
    statusPingMs: 10_000,
  } satisfies KeyStoreConfig);
});

test('legacy v0.13 shape (keys: holding the keystore) is rejected with a hint', () => {
  assert.throws(
    () => parseFixture('legacy-v0.13.yml'),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.field === 'keys' &&
      err.line === 7 &&
      err.message.startsWith('legacy-v0.13.yml:7: keys: ') &&
      /move it under 'keystore:'/.test(err.message),
  );
});

test('docs/kes-config.example.yml parses', () => {
  const text = readFileSync(new URL('../../docs/kes-config.example.yml', import.meta.url), 'utf8');
  const config = parseConfig(text, { env: {}, filename: 'kes-config.example.yml' });
  assert.equal(config.admin, 'disabled');
  assert.deepEqual(config.tls, { keyFile: './server.key', certFile: './server.crt', auth: 'off' });
  assert.deepEqual(config.api['/v1/metrics'], { skipAuth: true, timeoutMs: 15_000 });
  assert.deepEqual(config.policies.minio?.identities, ['ea9826089311fe44d7590408ede9150f7c637b6cab0a91ee6fe1aa5d9fb366f6']);
  assert.deepEqual(config.policies.monitoring, { allow: ['/v1/status', '/v1/metrics'], deny: [], identities: [] });
  assert.deepEqual(config.cache, DEFAULT_CACHE);
  assert.deepEqual(config.log, { error: LOG_INFO, audit: LOG_OFF });
  assert.deepEqual(config.keys, ['minio-default']);
  assert.deepEqual(config.keystore, { type: 'fs', path: './keys' });
});

test('loadConfigFile names the file in errors and reads env from its argument', async () => {
  const config = await loadConfigFile(testdata('fs.yml'), {});
  assert.equal(config.admin, KESCONF_ADMIN);
  await assert.rejects(loadConfigFile(testdata('missing.yml'), {}), (err: unknown) => err instanceof ConfigError && err.message.includes('missing.yml') && /cannot read/.test(err.message));
  await assert.rejects(
    loadConfigFile(testdata('legacy-v0.13.yml'), {}),
    (err: unknown) => err instanceof ConfigError && err.file === testdata('legacy-v0.13.yml') && err.message.startsWith(`${testdata('legacy-v0.13.yml')}:7: keys:`),
  );
});

test('defaults: address, tls.auth, cache, log', () => {
  const config = parseConfig('admin: {identity: x}\ntls: {key: k, cert: c}\nkeystore: {fs: {path: p}}\n', { env: {} });
  assert.equal(config.address, '0.0.0.0:7373');
  assert.equal(config.tls.auth, 'off');
  assert.deepEqual(config.cache, DEFAULT_CACHE);
  assert.deepEqual(config.log, { error: LOG_INFO, audit: LOG_OFF });
});

test('cache: a missing or 0 expiry gets its default, each one on its own (not the HEAD bug)', () => {
  const cache = (expiry: string) => parseConfig(`admin: {identity: x}\ntls: {key: k, cert: c}\ncache: {expiry: ${expiry}}\nkeystore: {fs: {path: p}}\n`, { env: {} }).cache;
  assert.deepEqual(cache('{any: 1m}'), { any: 60_000, unused: 30_000, offline: 0 });
  assert.deepEqual(cache('{unused: 10s}'), { any: 300_000, unused: 10_000, offline: 0 });
  assert.deepEqual(cache('{any: 0, unused: 0s, offline: 1h}'), { any: 300_000, unused: 30_000, offline: 3_600_000 });
});

test('tls.ticket_lifetime (openkes): a duration up to 7 days, 0 = no resumption, absent = default', () => {
  const tls = (extra: string) => parseConfig(`admin: {identity: x}\ntls: {key: k, cert: c${extra}}\nkeystore: {fs: {path: p}}\n`, { env: {} }).tls;
  assert.equal(tls('').ticketLifetimeMs, undefined);
  assert.equal(tls(', ticket_lifetime: 10m').ticketLifetimeMs, 600_000);
  assert.equal(tls(', ticket_lifetime: 0').ticketLifetimeMs, 0);
  assert.equal(tls(', ticket_lifetime: 168h').ticketLifetimeMs, 7 * 24 * 3_600_000);
  assert.throws(() => tls(', ticket_lifetime: 169h'), (err: unknown) => err instanceof ConfigError && err.field === 'tls.ticket_lifetime' && /at most 168h/.test(err.message));
  assert.throws(() => tls(', ticket_lifetime: soon'), (err: unknown) => err instanceof ConfigError && /invalid duration "soon"/.test(err.message));
});

test('YAML anchors, aliases and merge keys (<<) are followed', () => {
  const config = parseConfig(
    [
      'x-common: &files',
      '  key: ./private.key',
      '  cert: ./public.crt',
      'x-read: &read',
      '  allow: [/v1/key/describe/*]',
      '  deny: [/v1/key/describe/secret]',
      'admin: {identity: disabled}',
      'tls:',
      '  <<: *files',
      '  cert: ./override.crt',
      'policy:',
      '  reader:',
      '    <<: [*read, {allow: [ignored], identities: [a1]}]',
      '  alias: *read',
      'keystore:',
      '  fs: {path: /tmp/keys}',
      '',
    ].join('\n'),
    { env: {} },
  );
  assert.deepEqual(config.tls, { keyFile: './private.key', certFile: './override.crt', auth: 'off' });
  assert.deepEqual(config.policies, {
    reader: { allow: ['/v1/key/describe/*'], deny: ['/v1/key/describe/secret'], identities: ['a1'] },
    alias: { allow: ['/v1/key/describe/*'], deny: ['/v1/key/describe/secret'], identities: [] },
  });
  assert.throws(
    () => parseConfig('admin: {identity: x}\ntls:\n  <<: [k, c]\n', { env: {}, filename: 'm.yml' }),
    (err: unknown) => err instanceof ConfigError && err.field === 'tls' && err.line === 3 && /merge key/.test(err.message),
  );
});

test("identities in MinKMS's h1: form name the same keys as their hex (admin and policy identities)", () => {
  // docs/minkms.md "Identities": the worked example.
  const hex = 'a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5';
  const h1 = 'h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU';
  const other = '3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22';
  const text = `address: 0.0.0.0:7373\nadmin:\n  identity: ${h1}\ntls:\n  key: k.key\n  cert: k.crt\npolicy:\n  p:\n    allow: [/v1/key/create/*]\n    identities: [${h1}]\nkeystore:\n  fs:\n    path: ./keys\n`;
  // The admin in h1: form becomes its hex.
  const config = parseConfig(text.replace(`identities: [${h1}]`, `identities: [${other}]`), { env: {}, filename: 'h1.yml', baseDir: here });
  assert.equal(config.admin, hex);
  // A policy identity in h1: form is the admin's hex, which no policy may hold.
  assert.throws(() => parseConfig(text, { env: {}, filename: 'h1.yml', baseDir: here }), /the admin identity cannot be assigned to a policy/);
  // An invalid h1: identity is kept as written (it disables the admin, as any non-identity does).
  const bad = parseConfig(text.replace(`identity: ${h1}`, 'identity: h1:short').replace(`identities: [${h1}]`, `identities: [${other}]`), { env: {}, filename: 'h1.yml', baseDir: here });
  assert.equal(bad.admin, 'h1:short');
});
