import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { assertConfigError, HERE, parse, yml } from '../../test/helpers/config-testing.js';
import type { KeyStoreConfig } from './registry.js';

const keystore = (section: string, env: Record<string, string> = {}): KeyStoreConfig => parse(yml(`keystore:\n${section}`), { env }).keystore;
const here = fileURLToPath(new URL('.', import.meta.url));

test('exactly one keystore', () => {
  assertConfigError(yml(`keystore:  ${HERE}\n  unknown: {}\n`), 'keystore', /^no keystore specified$/);
  assertConfigError(yml(`keystore:  ${HERE}\n  fs:\n`), 'keystore', /^no keystore specified$/);
  assertConfigError(`admin: {identity: x}\ntls: {key: k, cert: c}\n`, 'keystore', /^no keystore specified$/);
  assertConfigError(
    yml(`keystore:  ${HERE}\n  fs:\n    path: /tmp/keys\n  vault:\n    endpoint: https://127.0.0.1:8200\n`),
    'keystore',
    /^more than one keystore specified: fs, vault$/,
  );
});

test('kes and generic are recognised and rejected', () => {
  assertConfigError(yml(`keystore:\n  kes:  ${HERE}\n    endpoint: [https://127.0.0.1:7373]\n`), 'keystore.kes', /^keystore 'kes' is not supported by this version$/);
  assertConfigError(yml(`keystore:\n  generic:  ${HERE}\n    endpoint: http://127.0.0.1:7001\n`), 'keystore.generic', /^keystore 'generic' is not supported by this version$/);
});

test('fs: path required', () => {
  assertConfigError(yml(`keystore:\n  fs:\n    path: ""  ${HERE}\n`), 'keystore.fs.path', /^required$/);
  assertConfigError(yml(`keystore:\n  fs:  ${HERE}\n    dir: /tmp\n`), 'keystore.fs.path', /^required$/);
});

test('vault: defaults (engine kv, version v1, approle engine, ping 15s) and transit', () => {
  assert.deepEqual(keystore('  vault:\n    endpoint: https://vault:8200\n    transit:\n      key: my-transit-key\n    approle:\n      id: i\n      secret: s\n      namespace: /\n'), {
    type: 'vault',
    endpoint: 'https://vault:8200',
    engine: 'kv',
    version: 'v1',
    transit: { engine: 'transit', key: 'my-transit-key' },
    approle: { namespace: '/', engine: 'approle', id: 'i', secret: 's' },
    statusPingMs: 15_000,
  } satisfies KeyStoreConfig);
  const k8s = keystore('  vault:\n    endpoint: https://vault:8200\n    kubernetes:\n      jwt: a.b.c\n    tls:\n      key: k.pem\n      cert: c.pem\n      ca: ca.pem\n');
  assert.deepEqual(k8s.type === 'vault' && [k8s.kubernetes, k8s.tls], [
    { engine: 'kubernetes', role: '', jwt: 'a.b.c' },
    { keyFile: 'k.pem', certFile: 'c.pem', caPath: 'ca.pem' },
  ]);
});

test('vault: validation', () => {
  const vault = (body: string) => yml(`keystore:\n  vault:  ${body.includes(HERE) ? '' : HERE}\n${body}`);
  assertConfigError(vault('    approle: {id: i, secret: s}\n'), 'keystore.vault.endpoint', /^required$/);
  assertConfigError(vault('    endpoint: https://v\n'), 'keystore.vault', /either approle or kubernetes/);
  assertConfigError(vault('    endpoint: https://v\n    approle: {id: i, secret: s}\n    kubernetes: {jwt: j}\n'), 'keystore.vault', /mutually exclusive/);
  assertConfigError(vault(`    endpoint: https://v\n    version: v3  ${HERE}\n    approle: {id: i, secret: s}\n`), 'keystore.vault.version', /must be v1 or v2, got "v3"/);
  assertConfigError(vault(`    endpoint: https://v\n    approle:  ${HERE}\n      id: i\n`), 'keystore.vault.approle.secret', /^required$/);
  assertConfigError(vault(`    endpoint: https://v\n    approle:  ${HERE}\n      secret: s\n`), 'keystore.vault.approle.id', /^required$/);
  assertConfigError(vault(`    endpoint: https://v\n    kubernetes:  ${HERE}\n      role: r\n`), 'keystore.vault.kubernetes.jwt', /^required$/);
  assertConfigError(
    vault(`    endpoint: https://v\n    kubernetes:\n      jwt: ./no/such/token  ${HERE}\n`),
    'keystore.vault.kubernetes.jwt',
    /cannot read the service account token file "\.\/no\/such\/token"/,
    { baseDir: here },
  );
  assertConfigError(vault(`    endpoint: https://v\n    approle: {id: i, secret: s}\n    transit:  ${HERE}\n      engine: t\n`), 'keystore.vault.transit.key', /^required$/);
  assertConfigError(vault(`    endpoint: https://v\n    approle: {id: i, secret: s}\n    tls:  ${HERE}\n      key: k.pem\n`), 'keystore.vault.tls', /key and cert must be specified together/);
  assertConfigError(vault(`    endpoint: https://v\n    approle: {id: i, secret: s}\n    tls:  ${HERE}\n      cert: c.pem\n`), 'keystore.vault.tls', /key and cert must be specified together/);
  assertConfigError(vault(`    endpoint: https://v\n    approle: {id: i, secret: s}\n    status:\n      ping: -1s  ${HERE}\n`), 'keystore.vault.status.ping', /must not be negative/);
});

test('fortanix, gemalto, entrust', () => {
  assert.deepEqual(keystore('  fortanix:\n    sdkms:\n      endpoint: https://sdkms.fortanix.com\n      group_id: g\n      credentials:\n        key: api-key\n      tls:\n        ca: ca.pem\n'), {
    type: 'fortanix',
    endpoint: 'https://sdkms.fortanix.com',
    groupId: 'g',
    apiKey: 'api-key',
    caPath: 'ca.pem',
  } satisfies KeyStoreConfig);
  assert.deepEqual(keystore('  gemalto:\n    keysecure:\n      endpoint: https://ks\n      credentials:\n        token: t\n        domain: d\n        retry: 15s\n'), {
    type: 'gemalto',
    endpoint: 'https://ks',
    token: 't',
    domain: 'd',
  } satisfies KeyStoreConfig);
  assert.deepEqual(keystore('  entrust:\n    keycontrol:\n      endpoint: https://kc\n      vault_id: v\n      box_id: b\n      credentials:\n        username: u\n        password: p\n'), {
    type: 'entrust',
    endpoint: 'https://kc',
    vaultId: 'v',
    boxId: 'b',
    username: 'u',
    password: 'p',
  } satisfies KeyStoreConfig);
  assertConfigError(yml(`keystore:\n  fortanix:\n    sdkms:  ${HERE}\n      endpoint: https://f\n`), 'keystore.fortanix.sdkms.credentials.key', /^required$/);
  assertConfigError(yml(`keystore:\n  fortanix:  ${HERE}\n    endpoint: https://f\n`), 'keystore.fortanix.sdkms', /^required$/);
  assertConfigError(yml(`keystore:\n  gemalto:\n    keysecure:  ${HERE}\n      credentials: {token: t}\n`), 'keystore.gemalto.keysecure.endpoint', /^required$/);
  assertConfigError(yml(`keystore:\n  gemalto:\n    keysecure:\n      endpoint: https://g\n      credentials:  ${HERE}\n        domain: d\n`), 'keystore.gemalto.keysecure.credentials.token', /^required$/);
  for (const missing of ['endpoint', 'vault_id', 'box_id']) {
    const fields = { endpoint: 'https://kc', vault_id: 'v', box_id: 'b' } as Record<string, string>;
    delete fields[missing];
    const body = Object.entries(fields).map(([k, v]) => `      ${k}: ${v}\n`).join('');
    assertConfigError(yml(`keystore:\n  entrust:\n    keycontrol:  ${HERE}\n${body}      credentials: {username: u, password: p}\n`), `keystore.entrust.keycontrol.${missing}`, /^required$/);
  }
  assertConfigError(yml(`keystore:\n  entrust:\n    keycontrol:\n      endpoint: e\n      vault_id: v\n      box_id: b\n      credentials:  ${HERE}\n        username: u\n`), 'keystore.entrust.keycontrol.credentials.password', /^required$/);
});

test('aws: endpoint and region required', () => {
  assertConfigError(yml(`keystore:\n  aws:\n    secretsmanager:  ${HERE}\n      region: us-east-1\n`), 'keystore.aws.secretsmanager.endpoint', /^required$/);
  assertConfigError(yml(`keystore:\n  aws:\n    secretsmanager:  ${HERE}\n      endpoint: e\n`), 'keystore.aws.secretsmanager.region', /^required$/);
  assert.deepEqual(keystore('  aws:\n    secretsmanager:\n      endpoint: e\n      region: r\n      kmskey: alias/kes\n      credentials:\n        token: ${TOKEN}\n', { TOKEN: 't' }), {
    type: 'aws',
    endpoint: 'e',
    region: 'r',
    kmsKey: 'alias/kes',
    credentials: { sessionToken: 't' },
  } satisfies KeyStoreConfig);
});

test('gcp: project_id required, endpoint default', () => {
  assert.deepEqual(keystore('  gcp:\n    secretmanager:\n      project_id: p\n      scopes:\n        - https://www.googleapis.com/auth/cloud-platform\n      credentials:\n        client_email: e@p.iam.gserviceaccount.com\n        client_id: "114153891410700359130"\n        private_key_id: kid\n        private_key: |\n          -----BEGIN PRIVATE KEY-----\n          abc\n          -----END PRIVATE KEY-----\n'), {
    type: 'gcp',
    projectId: 'p',
    endpoint: 'https://secretmanager.googleapis.com',
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    credentials: {
      clientEmail: 'e@p.iam.gserviceaccount.com',
      clientId: '114153891410700359130',
      privateKeyId: 'kid',
      privateKey: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n',
    },
  } satisfies KeyStoreConfig);
  // An unquoted numeric client id keeps its digits (no float rounding).
  const unquoted = keystore('  gcp:\n    secretmanager:\n      project_id: p\n      credentials:\n        client_id: 114153891410700359130\n');
  assert.equal(unquoted.type === 'gcp' && unquoted.credentials.clientId, '114153891410700359130');
  assertConfigError(yml(`keystore:\n  gcp:\n    secretmanager:  ${HERE}\n      endpoint: e\n`), 'keystore.gcp.secretmanager.project_id', /^required$/);
});

test('azure: endpoint, at most one of credentials and managed_identity', () => {
  assert.deepEqual(keystore('  azure:\n    keyvault:\n      endpoint: https://kv.vault.azure.net\n'), { type: 'azure', endpoint: 'https://kv.vault.azure.net' } satisfies KeyStoreConfig);
  assert.deepEqual(keystore('  azure:\n    keyvault:\n      endpoint: e\n      credentials: {tenant_id: t, client_id: c, client_secret: s}\n'), {
    type: 'azure',
    endpoint: 'e',
    credentials: { tenantId: 't', clientId: 'c', clientSecret: 's' },
  } satisfies KeyStoreConfig);
  assert.deepEqual(keystore('  azure:\n    keyvault:\n      endpoint: e\n      managed_identity: {client_id: c}\n'), { type: 'azure', endpoint: 'e', managedIdentity: { clientId: 'c' } } satisfies KeyStoreConfig);
  assertConfigError(yml(`keystore:\n  azure:\n    keyvault:  ${HERE}\n      managed_identity: {client_id: c}\n`), 'keystore.azure.keyvault.endpoint', /^required$/);
  assertConfigError(
    yml(`keystore:\n  azure:\n    keyvault:  ${HERE}\n      endpoint: e\n      credentials: {tenant_id: t, client_id: c, client_secret: s}\n      managed_identity: {client_id: c}\n`),
    'keystore.azure.keyvault',
    /mutually exclusive/,
  );
  assertConfigError(yml(`keystore:\n  azure:\n    keyvault:\n      endpoint: e\n      credentials:  ${HERE}\n        tenant_id: t\n        client_id: c\n`), 'keystore.azure.keyvault.credentials.client_secret', /^required$/);
  assertConfigError(yml(`keystore:\n  azure:\n    keyvault:\n      endpoint: e\n      managed_identity:  ${HERE}\n        other: x\n`), 'keystore.azure.keyvault.managed_identity.client_id', /^required$/);
});

test('etcd: endpoints required (list or comma-separated), prefix default kes/keys/', () => {
  assert.deepEqual(keystore('  etcd:\n    endpoints:\n      - https://etcd-0:2379\n      - https://etcd-1:2379\n'), {
    type: 'etcd',
    endpoints: ['https://etcd-0:2379', 'https://etcd-1:2379'],
    prefix: 'kes/keys/',
  } satisfies KeyStoreConfig);
  assert.deepEqual(keystore('  etcd:\n    endpoints: ${ETCD}\n    prefix: tenant-1/\n    username: kes\n    password: pw\n    tls:\n      ca: ca.pem\n', { ETCD: 'https://a:2379, https://b:2379' }), {
    type: 'etcd',
    endpoints: ['https://a:2379', 'https://b:2379'],
    prefix: 'tenant-1/',
    username: 'kes',
    password: 'pw',
    tls: { caPath: 'ca.pem' },
  } satisfies KeyStoreConfig);
  assertConfigError(yml(`keystore:\n  etcd:  ${HERE}\n    prefix: p/\n`), 'keystore.etcd.endpoints', /required/);
  assertConfigError(yml(`keystore:\n  etcd:\n    endpoints:  ${HERE}\n      - ""\n`), 'keystore.etcd.endpoints', /required/);
  assertConfigError(yml(`keystore:\n  etcd:\n    endpoints: [https://a:2379]\n    tls:  ${HERE}\n      cert: c.pem\n`), 'keystore.etcd.tls', /key and cert must be specified together/);
});

test('etcd and postgres: timeout is a Go duration bounding every store call (0 = the default)', () => {
  assert.deepEqual(keystore('  etcd:\n    endpoints: [https://a:2379]\n    timeout: 2.5s\n'), { type: 'etcd', endpoints: ['https://a:2379'], prefix: 'kes/keys/', timeoutMs: 2500 } satisfies KeyStoreConfig);
  assert.deepEqual(keystore('  postgres:\n    host: db\n    timeout: 1m\n'), { type: 'postgres', host: 'db', table: 'kes_keys', timeoutMs: 60_000 } satisfies KeyStoreConfig);
  assert.deepEqual(keystore('  postgres:\n    host: db\n    timeout: 0s\n'), { type: 'postgres', host: 'db', table: 'kes_keys' } satisfies KeyStoreConfig);
  assertConfigError(yml(`keystore:\n  etcd:\n    endpoints: [https://a:2379]\n    timeout: soon  ${HERE}\n`), 'keystore.etcd.timeout', /invalid duration "soon"/);
  assertConfigError(yml(`keystore:\n  postgres:\n    host: db\n    timeout: -1s  ${HERE}\n`), 'keystore.postgres.timeout', /must not be negative/);
});

test('postgres: url or host, table a plain SQL identifier (default kes_keys)', () => {
  assert.deepEqual(keystore('  postgres:\n    url: postgres://kes:pw@db:5432/kes?sslmode=verify-full\n'), {
    type: 'postgres',
    url: 'postgres://kes:pw@db:5432/kes?sslmode=verify-full',
    table: 'kes_keys',
  } satisfies KeyStoreConfig);
  assert.deepEqual(keystore('  postgres:\n    host: db\n    port: ${PORT}\n    user: kes\n    password: pw\n    database: kes\n    table: Tenant_1\n    tls:\n      ca: ca.pem\n      cert: c.pem\n      key: k.pem\n', { PORT: '6432' }), {
    type: 'postgres',
    host: 'db',
    port: 6432,
    user: 'kes',
    password: 'pw',
    database: 'kes',
    table: 'Tenant_1',
    tls: { caPath: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' },
  } satisfies KeyStoreConfig);
  assertConfigError(yml(`keystore:\n  postgres:  ${HERE}\n    database: kes\n`), 'keystore.postgres', /either url or host is required/);
  assertConfigError(yml(`keystore:\n  postgres:  ${HERE}\n    url: postgres://db/kes\n    host: db\n`), 'keystore.postgres', /mutually exclusive/);
  assertConfigError(yml(`keystore:\n  postgres:\n    url: mysql://db/kes  ${HERE}\n`), 'keystore.postgres.url', /postgres:\/\//);
  assertConfigError(yml(`keystore:\n  postgres:\n    host: db\n    port: 99999  ${HERE}\n`), 'keystore.postgres.port', /integer from 1 to 65535, got "99999"/);
  for (const table of ['keys; DROP TABLE x', 'public.keys', '1keys', '"keys"', 'a'.repeat(64)]) {
    assertConfigError(yml(`keystore:\n  postgres:\n    host: db\n    table: '${table}'  ${HERE}\n`), 'keystore.postgres.table', /not a plain SQL identifier/);
  }
});

test('every store folder has a descriptor, and every descriptor is in the registry', async () => {
  const { readdirSync, existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { BACKENDS } = await import('./registry.js');
  const folders = readdirSync(here, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  for (const folder of folders) {
    const file = join(here, folder, 'backend.ts');
    assert.ok(existsSync(file), `src/keystore/${folder}/ has no backend.ts descriptor`);
    const exports = Object.values(await import(file)) as unknown[];
    assert.ok(exports.some((e) => (BACKENDS as readonly unknown[]).includes(e)), `the descriptor of src/keystore/${folder}/ is not in registry.ts`);
  }
  assert.equal(new Set(BACKENDS.map((b) => b.type)).size, BACKENDS.length, 'types are unique');
  const keys = BACKENDS.flatMap((b) => ('section' in b && b.section ? [b.section.key] : []));
  assert.equal(new Set(keys).size, keys.length, 'config keys are unique');
});

test('every store that connects has its page in docs/keystores/', async () => {
  const { existsSync } = await import('node:fs');
  const { BACKENDS } = await import('./registry.js');
  for (const b of BACKENDS) {
    if (!('connect' in b) || b.type === 'mem') continue;
    assert.ok(existsSync(new URL(`../../docs/keystores/${b.type}.md`, import.meta.url)), `docs/keystores/${b.type}.md`);
  }
});
