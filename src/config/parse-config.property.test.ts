import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import YAML from 'yaml';
import { ConfigError } from './config-error.js';
import { parseConfig } from './parse-config.js';
import { parseKeyStoreConfig } from './keystore-file.js';
import type { Env } from './config-node.js';
import { instanceOf, outcome, type Outcome } from '../../test/helpers/property.js';

/** A valid config touching every section; properties change one part of it. */
function baseConfig(): Record<string, unknown> {
  return {
    version: 'v1',
    address: '0.0.0.0:7373',
    admin: { identity: 'disabled' },
    tls: { key: './private.key', cert: './public.crt', auth: 'off', ca: './ca', proxy: { identities: ['proxy1'], header: { cert: 'X-Cert' } } },
    api: { '/v1/ready': { skip_auth: true, timeout: '15s' }, '/v1/key/generate/': { timeout: '1s' } },
    policy: { app: { allow: ['/v1/key/generate/*'], deny: ['/v1/key/delete/*'], identities: ['id1'] } },
    cache: { expiry: { any: '5m', unused: '30s', offline: '0s' } },
    log: { error: 'on', audit: 'off' },
    keys: [{ name: 'k1' }],
    keystore: { fs: { path: '/tmp/keys' } },
  };
}

/** Paths of the scalars that are read with `${NAME}` substitution. */
const SCALARS: (string | number)[][] = [
  ['version'],
  ['address'],
  ['admin', 'identity'],
  ['tls', 'key'],
  ['tls', 'cert'],
  ['tls', 'auth'],
  ['tls', 'ca'],
  ['tls', 'proxy', 'identities', 0],
  ['tls', 'proxy', 'header', 'cert'],
  ['api', '/v1/ready', 'skip_auth'],
  ['api', '/v1/ready', 'timeout'],
  ['policy', 'app', 'identities', 0],
  ['cache', 'expiry', 'any'],
  ['cache', 'expiry', 'unused'],
  ['log', 'error'],
  ['log', 'audit'],
  ['keys', 0, 'name'],
  ['keystore', 'fs', 'path'],
];

/** Every other place a value can be replaced: sections, lists and pattern lists. */
const PLACES: (string | number)[][] = [
  ...SCALARS,
  [],
  ['admin'],
  ['root'],
  ['tls'],
  ['tls', 'proxy'],
  ['tls', 'proxy', 'identities'],
  ['api'],
  ['api', '/v1/ready'],
  ['api', '/v1/nope'],
  ['policy'],
  ['policy', 'app'],
  ['policy', 'app', 'allow'],
  ['policy', 'app', 'paths'],
  ['policy', 'app', 'identities'],
  ['policy', 'bad name'],
  ['cache'],
  ['cache', 'expiry'],
  ['log'],
  ['keys'],
  ['keys', 1],
  ['keystore'],
  ['keystore', 'fs'],
];

/** Env names, including the names of Object.prototype members. */
const ENV_NAMES = ['A', 'B', 'KES_X', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

/** Values that mean something to some field. */
const MEANINGFUL = [
  '', ' ', 'on', 'off', 'On', 'true', 'False', 'yes', 'maybe', 'v1', 'v2', '0', '-1s', '1h30m', '1.5s', '9999999999h', 'xs',
  'disabled', 'proxy1', 'id1', 'k1', 'bad name', '-a', '_', 'a'.repeat(81), 'INFO+2', 'debug', 'error-1', ':0', ':65536',
  '127.0.0.1:7373', '[::1]:7373', '::1:7373', 'localhost:7373', '/v1/*', 'postgres://h/db', 'a,b', '\n', '"', "'", '#', '&x', '*x',
];

/** `${NAME}` references, well formed or not. */
const reference = fc.oneof(
  fc.constantFrom(...ENV_NAMES).map((n) => `\${${n}}`),
  fc.tuple(fc.constantFrom(' ', '', '\t'), fc.constantFrom(...ENV_NAMES), fc.constantFrom(' ', '')).map(([a, n, b]) => `${a}\${${b}${n}${a}}${b}`),
  fc.constantFrom('${}', '${A', '$A', '${A}${B}', 'x${A}', '${A}x', '${${A}}', '${ }'),
);

const scalar = fc.oneof(fc.constantFrom(...MEANINGFUL), reference, fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom('name', 'identity', 'allow', 'any', 'path'), fc.string({ maxLength: 6 })), scalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** Backend sections: each backend's key, with fields of all of them. */
const BACKENDS = ['fs', 'vault', 'fortanix', 'aws', 'gemalto', 'gcp', 'azure', 'entrust', 'etcd', 'postgres', 'kes', 'generic', 'other'];
const BACKEND_FIELDS = [
  'path', 'endpoint', 'endpoints', 'engine', 'version', 'namespace', 'prefix', 'token', 'approle', 'kubernetes', 'transit', 'status', 'ping',
  'timeout', 'id', 'secret', 'role', 'key', 'cert', 'ca', 'tls', 'sdkms', 'secretsmanager', 'keysecure', 'secretmanager', 'keyvault',
  'keycontrol', 'credentials', 'managed_identity', 'region', 'kmskey', 'accesskey', 'secretkey', 'group_id', 'project_id', 'client_id',
  'tenant_id', 'client_secret', 'vault_id', 'box_id', 'username', 'password', 'url', 'host', 'port', 'user', 'database', 'table', 'jwt',
];
/** A service account token path: never an arbitrary path, which the parser would try to read. */
const JWT = fc.constantFrom('a.jwt.token', './missing/token', '/nonexistent/openkes/token', '/', '${A}');
const backendField = (depth: number): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .dictionary(fc.constantFrom(...BACKEND_FIELDS), depth > 0 ? fc.oneof(scalar, backendField(depth - 1)) : scalar, { maxKeys: 5 })
    .chain((d) => ('jwt' in d ? JWT.map((jwt) => ({ ...d, jwt })) : fc.constant(d)));
const keystore = fc.dictionary(fc.constantFrom(...BACKENDS), fc.oneof(fc.constant(null), backendField(2)), { minKeys: 1, maxKeys: 2 });

function setAt(root: Record<string, unknown>, path: (string | number)[], v: unknown): unknown {
  if (path.length === 0) return v;
  let node: any = root;
  for (const step of path.slice(0, -1)) {
    if (typeof node[step] !== 'object' || node[step] === null) node[step] = typeof step === 'number' ? [] : {};
    node = node[step];
  }
  const last = path[path.length - 1]!;
  if (v === undefined) {
    if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete node[last];
  } else {
    node[last] = v;
  }
  return root;
}

type Render = 'yaml' | 'json' | 'flow';
function render(doc: unknown, how: Render): string {
  if (how === 'json') return JSON.stringify(doc) ?? '';
  return YAML.stringify(doc, { lineWidth: 0, collectionStyle: how === 'flow' ? 'flow' : 'any' }) ?? '';
}

/** A YAML double-quoted scalar: JSON's escapes, plus \u escapes for what YAML may not print. */
function quoted(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const env: fc.Arbitrary<Env> = fc.dictionary(fc.constantFrom(...ENV_NAMES), fc.oneof(fc.constantFrom(...MEANINGFUL), fc.string({ maxLength: 8 })), { maxKeys: 4 });
const BASE_DIR = tmpdir();

/**
 * Parses with parseConfig and, when keystoreToo, with parseKeyStoreConfig (which reads only
 * version, keys and keystore); anything but a ConfigError fails the property.
 */
function parseBoth(text: string, e: Env, keystoreToo = true): Outcome<unknown> {
  const options = { env: e, filename: 'kes.yml', baseDir: BASE_DIR };
  if (keystoreToo) outcome(() => parseKeyStoreConfig(text, options), instanceOf(ConfigError));
  return outcome(() => parseConfig(text, options), instanceOf(ConfigError));
}

/** The base config rendered once per scalar place, with a marker to replace by a scalar. */
const MARK = 'property-test-marker';
const templates = SCALARS.map((place) => render(setAt(baseConfig(), place, MARK), 'yaml'));

describe('parseConfig (properties)', () => {
  test('the base config is valid', () => {
    const o = parseBoth(render(baseConfig(), 'yaml'), {});
    assert.ok(o.ok, o.ok ? '' : o.error.message);
  });

  test('replacing or removing any part by any value gives a config or a ConfigError', () => {
    const change = fc.record({
      place: fc.constantFrom(...PLACES),
      value: fc.option(value, { nil: undefined, freq: 8 }),
      keystore: fc.option(keystore, { nil: undefined, freq: 2 }),
      how: fc.constantFrom<Render>('yaml', 'json', 'flow'),
      env,
    });
    fc.assert(
      fc.property(change, (c) => {
        let doc = setAt(baseConfig(), c.place, c.value);
        if (c.keystore !== undefined && typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
          doc = setAt(doc as Record<string, unknown>, ['keystore'], c.keystore);
        }
        const keystoreToo = c.keystore !== undefined || c.place.length === 0 || ['version', 'keys', 'keystore'].includes(String(c.place[0]));
        parseBoth(render(doc, c.how), c.env, keystoreToo);
      }),
      { numRuns: 1000 },
    );
  });

  test('a ${NAME} scalar parses exactly like the variable written in its place', () => {
    const wellFormed = fc.string({ unit: 'grapheme', maxLength: 12 });
    const literal = fc.oneof(fc.constantFrom(...MEANINGFUL), wellFormed).filter((s) => !s.includes('${'));
    fc.assert(
      fc.property(fc.nat(SCALARS.length - 1), literal, fc.constantFrom(...ENV_NAMES), fc.constantFrom('', ' '), (i, v, name, space) => {
        const options = { filename: 'kes.yml', baseDir: BASE_DIR };
        const at = (scalar: string) => templates[i]!.replace(MARK, () => quoted(scalar));
        const viaEnv = outcome(() => parseConfig(at(`${space}\${${space}${name}}`), { ...options, env: { [name]: v } }), instanceOf(ConfigError));
        const direct = outcome(() => parseConfig(at(v), { ...options, env: {} }), instanceOf(ConfigError));
        if (viaEnv.ok || direct.ok) {
          assert.ok(viaEnv.ok && direct.ok, `${SCALARS[i]!.join('.')} = ${JSON.stringify(v)}: only one parsed`);
          assert.deepEqual(viaEnv.value, direct.value);
        } else {
          const [a, b] = [viaEnv.error as ConfigError, direct.error as ConfigError];
          assert.equal(a.reason, b.reason);
          assert.equal(a.field, b.field);
          assert.equal(a.line, b.line);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('a reference to a missing variable is a ConfigError naming it, also for Object.prototype names', () => {
    fc.assert(
      fc.property(fc.nat(SCALARS.length - 1), fc.constantFrom(...ENV_NAMES), env, (i, name, e) => {
        const vars: Env = { ...e };
        delete vars[name];
        const o = outcome(() => parseConfig(templates[i]!.replace(MARK, () => `\${ ${name} }`), { env: vars, baseDir: BASE_DIR }), instanceOf(ConfigError));
        assert.ok(!o.ok, `${SCALARS[i]!.join('.')}: \${${name}} resolved although it is not set`);
        const err = o.error as ConfigError;
        assert.equal(err.field, SCALARS[i]!.join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]'));
        assert.match(err.reason, new RegExp(`^referenced env\\. variable '${name}' in line '${err.line}' not found$`));
      }),
      { numRuns: 1000 },
    );
  });

  test('arbitrary text, YAML fragments included, gives a config or a ConfigError', () => {
    const FRAGMENTS = [
      'admin:', '  identity: disabled', 'tls:', '  key: k', '  cert: c', 'keystore:', '  fs:', '    path: /p', 'keys:', '  - name: k',
      '- x', 'a: &x {b: 1}', 'base: &base', '  path: /q', '<<: *base', '  <<: *x', '  <<: [*x, *base]', 'c: *nope', '!!binary AAAA',
      '? [a, b]', ': v', '{a: 1', '[', ']', '"', "'", '|', '>-', '---', '...', '%YAML 1.2', 'x: ${A}', '  ${A}: y', 'dup: 1', 'dup: 2',
      'policy:', '  p:', '    identities: [${A}]', 'api:', '  /v1/ready: {skip_auth: yes}', 'cache: {expiry: {any: 1x}}', '\t', '#c',
    ];
    const indent = fc.constantFrom('', '  ', '    ', ' ');
    const yamlish = fc.array(fc.tuple(indent, fc.constantFrom(...FRAGMENTS)), { maxLength: 12 }).map((lines) => lines.map(([i, l]) => i + l).join('\n'));
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ unit: 'binary', maxLength: 60 }), fc.json({ maxDepth: 2 })), env, (text, e) => {
        parseBoth(text, e);
      }),
      { numRuns: 2000 },
    );
  });
});
