/** Unknown fields: every key no reader asked for is a warning (issue 15 point 6). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import YAML from 'yaml';
import { HERE, parse, yml } from '../../test/helpers/config-testing.js';
import { ConfigError } from './config-error.js';
import type { ConfigWarning } from './config-warning.js';
import { parseKeyStoreConfig } from './keystore-file.js';
import type { ParseConfigOptions } from './parse-config.js';
import type { ServerConfig } from './types.js';

/** Parses text as kes.yml and returns the config and the warnings. */
function parseWarn(text: string, options: ParseConfigOptions = {}): { config: ServerConfig; warnings: ConfigWarning[] } {
  const warnings: ConfigWarning[] = [];
  const config = parse(text, { ...options, warnings });
  return { config, warnings };
}

/** The warning messages of text. */
function messages(text: string, options: ParseConfigOptions = {}): string[] {
  return parseWarn(text, options).warnings.map((w) => w.message);
}

/** The line of text marked with HERE. */
function lineOf(text: string): number {
  const i = text.split('\n').findIndex((line) => line.includes(HERE));
  assert.ok(i >= 0, 'no line marked');
  return i + 1;
}

/** Asserts exactly one unknown-field warning for field, at the marked line, with the reason. */
function assertUnknown(text: string, field: string, reason: string): void {
  const { warnings } = parseWarn(text);
  assert.equal(warnings.length, 1, JSON.stringify(warnings.map((w) => w.message)));
  const [w] = warnings as [ConfigWarning];
  assert.equal(w.kind, 'unknown-field');
  assert.equal(w.field, field);
  assert.equal(w.line, lineOf(text));
  assert.equal(w.reason, reason);
  assert.equal(w.message, `kes.yml:${w.line}: ${field}: ${reason}`);
}

test('a valid config has no warnings', () => {
  assert.deepEqual(messages(yml('address: 127.0.0.1:7373\n')), []);
});

test('a top-level typo: adress is reported, and the default address is used (KES ignores it)', () => {
  const text = yml(`adress: 127.0.0.1:7373  ${HERE}\n`);
  assertUnknown(text, 'adress', 'unknown field, ignored (did you mean "address"?)');
  assert.equal(parse(text).address, '0.0.0.0:7373');
});

test('tls: auth is known, auht is reported', () => {
  assert.deepEqual(messages(yml('tls:\n  key: k\n  cert: c\n  auth: on\n')), []);
  assertUnknown(yml(`tls:\n  key: k\n  cert: c\n  auht: on  ${HERE}\n`), 'tls.auht', 'unknown field, ignored (did you mean "auth"?)');
});

test('a field at the wrong level names the place it belongs', () => {
  assertUnknown(yml(`auth: on  ${HERE}\n`), 'auth', 'unknown field, ignored (did you mean "tls.auth"?)');
  assertUnknown(yml(`cache:\n  any: 5m  ${HERE}\n`), 'cache.any', 'unknown field, ignored (did you mean "cache.expiry.any"?)');
});

test('policy: names are not fields; alow inside a policy is reported', () => {
  const text = yml(`policy:\n  my-app:\n    alow:  ${HERE}\n      - /v1/key/generate/*\n    identities: [ea9826089311fe44d7590408ede9150f7c637b6cab0a91ee6fe1aa5d9fb366f6]\n`);
  assertUnknown(text, 'policy.my-app.alow', 'unknown field, ignored (did you mean "allow"?)');
  assert.deepEqual(parse(text).policies['my-app']?.allow, [], 'a policy that allows nothing, as in KES');
  assert.deepEqual(messages(yml('policy:\n  a: {allow: [x], deny: [y], identities: [id1]}\n  b:\n    paths: [z]\n  c: {}\n')), []);
});

test('api: route paths are not fields; a typo inside a route is reported', () => {
  assertUnknown(yml(`api:\n  /v1/status:\n    skip_auth: true\n    timout: 1s  ${HERE}\n`), 'api./v1/status.timout', 'unknown field, ignored (did you mean "timeout"?)');
  assert.deepEqual(messages(yml('api:\n  max_connections: 10\n  /v1/ready: {skip_auth: true}\n')), []);
});

test('lists of mappings: keys[0].nmae', () => {
  assertUnknown(yml(`keys:\n  - name: a\n  - name: b\n    nmae: c  ${HERE}\n`), 'keys[1].nmae', 'unknown field, ignored (did you mean "name"?)');
});

test('key store sections: a typo in a backend field', () => {
  const vault = (extra: string) => `keystore:\n  vault:\n    endpoint: https://vault:8200\n    token: t\n${extra}`;
  assertUnknown(yml(vault(`    enginee: kv  ${HERE}\n`)), 'keystore.vault.enginee', 'unknown field, ignored (did you mean "engine"?)');
  assertUnknown(yml(vault(`    status:\n      pnig: 5s  ${HERE}\n`)), 'keystore.vault.status.pnig', 'unknown field, ignored (did you mean "ping"?)');
  assertUnknown(yml(`keystore:\n  etcd:\n    endpoints: [http://e:2379]\n    prefx: p/  ${HERE}\n`), 'keystore.etcd.prefx', 'unknown field, ignored (did you mean "prefix"?)');
  assertUnknown(yml(`keystore:\n  fs:\n    path: /keys\n    pth: /other  ${HERE}\n`), 'keystore.fs.pth', 'unknown field, ignored (did you mean "path"?)');
  assertUnknown(yml(`keystore:\n  fs:\n    path: /keys\n  fss:  ${HERE}\n    path: /x\n`), 'keystore.fss', 'unknown field, ignored (did you mean "fs"?)');
});

test('a required field missing next to its typo says so in the error', () => {
  assert.throws(
    () => parse(yml('keystore:\n  fs:\n    pth: /keys\n')),
    (err: unknown) => err instanceof ConfigError && err.field === 'keystore.fs.path' && err.reason === 'required (is "pth" a typo of "path"?)',
  );
  assert.throws(() => parse(yml('tls:\n  kye: k\n  cert: c\n')), (err: unknown) => err instanceof ConfigError && /^required \(is "kye" a typo of "key"\?\)$/.test(err.reason));
});

test('fields KES accepts and openkes ignores are not reported: Vault and Gemalto retry', () => {
  const vault = 'keystore:\n  vault:\n    endpoint: https://vault:8200\n';
  assert.deepEqual(messages(yml(`${vault}    approle:\n      id: i\n      secret: s\n      retry: 15s\n`)), []);
  assert.deepEqual(messages(yml(`${vault}    kubernetes:\n      role: r\n      jwt: j\n      retry: 15s\n`)), []);
  const gemalto = 'keystore:\n  gemalto:\n    keysecure:\n      endpoint: https://ks\n      credentials:\n        token: t\n        domain: d\n        retry: 15s\n      tls:\n        ca: ca.pem\n';
  assert.deepEqual(messages(yml(gemalto)), []);
});

test('fields read only in some cases are known in all: tls.proxy.header.cert without proxies', () => {
  assert.deepEqual(messages(yml('tls:\n  key: k\n  cert: c\n  proxy:\n    identities: []\n    header:\n      cert: X-Cert\n')), []);
});

test('an unknown subtree is reported once, at its top key', () => {
  assertUnknown(yml(`logging:  ${HERE}\n  error: on\n  audti: off\n  deeper: {a: {b: c}}\n`), 'logging', 'unknown field, ignored');
});

test('merge keys: merged fields are checked where they are merged; overridden ones are fine', () => {
  const defs = 'x-tls: &t\n  key: k\n  cert: c\n';
  assert.deepEqual(messages(`${defs}${yml('tls:\n  <<: *t\n  key: other\n')}`), [], 'the anchored section is a definition, not a field');
  assertUnknown(`${defs}${yml(`tls:\n  <<: *t\n  auht: on  ${HERE}\n`)}`, 'tls.auht', 'unknown field, ignored (did you mean "auth"?)');
  // A typo inside the anchor is reported once, at its line, under the path where it is merged.
  const typo = `x-tls: &t\n  key: k\n  cert: c\n  passwrd: p  ${HERE}\n${yml('tls:\n  <<: [*t]\n')}`;
  assertUnknown(typo, 'tls.passwrd', 'unknown field, ignored (did you mean "password"?)');
});

test('anchors and aliases: an unused anchored section is reported; an alias is checked where it is used', () => {
  assertUnknown(yml(`x-unused: &u  ${HERE}\n  a: b\n`), 'x-unused', 'unknown field, ignored');
  const text = `x-policy: &p\n  allow: [/v1/status]\n  alow: [/v1/metrics]  ${HERE}\n${yml('policy:\n  a: *p\n  b: *p\n')}`;
  assertUnknown(text, 'policy.a.alow', 'unknown field, ignored (did you mean "allow"?)');
  assertUnknown(yml(`tls: &t\n  key: k\n  cert: c\nother: *t  ${HERE}\n`), 'other', 'unknown field, ignored');
});

test('a mapping key that is not a single value is reported', () => {
  const { warnings } = parseWarn(yml('? [a, b]\n: v\n'));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /^kes\.yml:\d+: a mapping key that is not a single value, ignored$/);
});

test('warnings are sorted by line; an invalid file gives an error and no warnings', () => {
  const { warnings } = parseWarn(yml('zzz: 1\n', 'aaa: 2\n'));
  assert.deepEqual(warnings.map((w) => w.field), ['zzz', 'aaa']);
  const sink: ConfigWarning[] = [];
  assert.throws(() => parse(yml('adress: x\n', 'address: nope\n'), { warnings: sink }), ConfigError);
  assert.deepEqual(sink, []);
});

test('strict: the warnings are errors', () => {
  assert.doesNotThrow(() => parse(yml(''), { strict: true }));
  const one = yml(`adress: x  ${HERE}\n`);
  assert.throws(
    () => parse(one, { strict: true }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.field === 'adress' &&
      err.line === lineOf(one) &&
      err.message === `kes.yml:${lineOf(one)}: adress: unknown field, ignored (did you mean "address"?) (an error with --strict-config)`,
  );
  assert.throws(
    () => parse(yml('admin:\n  identity: abc\n', 'adress: x\n'), { strict: true }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message === 'kes.yml: 2 warnings are errors with --strict-config:\n  kes.yml:5: admin.identity: "abc" is not an identity (64 hex characters): the admin is disabled (write "disabled" if that is what you mean)\n  kes.yml:6: adress: unknown field, ignored (did you mean "address"?)',
  );
});

test('the key store reader checks only the keystore section', () => {
  const text = 'adress: x\ntls: {bad: 1}\nkeystore:\n  fs:\n    path: /keys\n    pth: x\n';
  const warnings: ConfigWarning[] = [];
  assert.deepEqual(parseKeyStoreConfig(text, { env: {}, filename: 'k.yml', warnings }), { type: 'fs', path: '/keys' });
  assert.deepEqual(
    warnings.map((w) => w.message),
    ['k.yml:6: keystore.fs.pth: unknown field, ignored (did you mean "path"?)'],
  );
  assert.throws(() => parseKeyStoreConfig(text, { env: {}, strict: true }), ConfigError);
});

test('property: any unknown key added to any mapping is the one warning, naming its path', () => {
  const base = () => ({
    version: 'v1',
    address: '0.0.0.0:7373',
    admin: { identity: 'disabled' },
    tls: { key: 'k', cert: 'c', auth: 'off', proxy: { identities: ['proxy1'], header: { cert: 'X-Cert' } } },
    api: { '/v1/ready': { skip_auth: true, timeout: '15s' } },
    policy: { app: { allow: ['/v1/key/generate/*'], identities: ['id1'] } },
    cache: { expiry: { any: '5m' } },
    log: { error: 'on', audit_file: { path: '/var/log/a.log' } },
    keys: [{ name: 'k1' }],
    keystore: { vault: { endpoint: 'https://v:8200', approle: { id: 'i', secret: 's' }, tls: { ca: 'ca' }, status: { ping: '5s' } } },
  });
  const MAPS: (string | number)[][] = [
    [], ['admin'], ['tls'], ['tls', 'proxy'], ['tls', 'proxy', 'header'], ['api', '/v1/ready'], ['policy', 'app'], ['cache'], ['cache', 'expiry'],
    ['log'], ['log', 'audit_file'], ['keys', 0], ['keystore'], ['keystore', 'vault'], ['keystore', 'vault', 'approle'], ['keystore', 'vault', 'tls'],
    ['keystore', 'vault', 'status'],
  ];
  const value = fc.oneof(fc.constant('x'), fc.constant(null), fc.constant({ a: { b: 1 } }), fc.constant([1, 2]));
  fc.assert(
    fc.property(fc.constantFrom(...MAPS), fc.stringMatching(/^zz[a-z_]{0,8}$/), value, (path, key, v) => {
      const config = base() as Record<string | number, unknown>;
      let map = config;
      for (const step of path) map = map[step] as Record<string | number, unknown>;
      map[key] = v;
      const field = [...path, key].map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
      assert.deepEqual(parseWarn(YAML.stringify(config)).warnings.map((w) => [w.field, w.reason]), [[field, 'unknown field, ignored']]);
    }),
    { numRuns: 300 },
  );
});

test('every field each key store reads is known, also those read only in some cases', () => {
  const sections = [
    'vault:\n  endpoint: https://v:8200\n  engine: kv\n  version: v2\n  namespace: ns\n  prefix: p\n  timeout: 5s\n  transit: {engine: transit, key: k}\n  kubernetes: {namespace: /, engine: kubernetes, role: r, jwt: j, retry: 1s}\n  tls: {key: k, cert: c, ca: ca}\n  status: {ping: 5s}\n',
    'vault:\n  endpoint: https://v:8200\n  token: t\n',
    'etcd:\n  endpoints: http://a:2379,http://b:2379\n  prefix: p/\n  username: u\n  password: p\n  timeout: 5s\n  tls: {ca: ca, cert: c, key: k}\n',
    'postgres:\n  host: db\n  port: 5432\n  user: u\n  password: p\n  database: d\n  table: t\n  timeout: 5s\n  tls: {ca: ca, cert: c, key: k}\n',
    'postgres:\n  url: postgres://db/kes\n',
    'aws:\n  secretsmanager: {endpoint: e, region: r, kmskey: k, credentials: {accesskey: a, secretkey: s, token: t}}\n',
    'gcp:\n  secretmanager: {project_id: p, endpoint: e, scopes: [s], credentials: {client_email: e, client_id: i, private_key_id: k, private_key: p}}\n',
    'azure:\n  keyvault: {endpoint: e, credentials: {tenant_id: t, client_id: c, client_secret: s}}\n',
    'azure:\n  keyvault: {endpoint: e, managed_identity: {client_id: c}}\n',
    'fortanix:\n  sdkms: {endpoint: e, group_id: g, credentials: {key: k}, tls: {ca: ca}}\n',
    'entrust:\n  keycontrol: {endpoint: e, vault_id: v, box_id: b, credentials: {username: u, password: p}, tls: {ca: ca}}\n',
  ];
  for (const section of sections) {
    const text = yml(`keystore:\n${section.replace(/^/gm, '  ')}`);
    assert.deepEqual(messages(text), [], section);
  }
});
