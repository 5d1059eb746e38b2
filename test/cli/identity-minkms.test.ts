/**
 * MinKMS credentials in the CLI (docs/minkms.md): `--minkms` on `kes identity`, `kes identity of`
 * and `kes identity new`; `k1:`/`k2:` keys and `h1:`/hex identities as arguments; `k1:` keys as
 * `--api-key` / KES_API_KEY of the client commands (the same client certificate key as the
 * `kes:v1:` form) and `k2:` keys refused there. The default outputs are pinned by identity.test.ts.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { K2_CLIENT_REFUSAL, KmsApiKey, kmsApiKeyOf, kmsIdentityOf } from '../../src/auth/kms-credentials.js';
import { KesClient } from '../../src/client/client.js';
import { kes } from '../helpers/cli-io.js';
import { opensslCertificate } from '../helpers/openssl.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { ROOT } from './run-cli.js';

/** docs/minkms.md */
const K1 = 'k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const KES = 'kes:v1:AAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';
const HEX = 'a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5';
const H1 = 'h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU';
const K2 = 'k2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const K2_H1 = 'h1:qPDLDm2YqNmz2tOtZplAjSBFA3PYtU2NYVmst6Pp6lg';
const K2_HEX = Buffer.from(K2_H1.slice(3), 'base64url').toString('hex');

const K1_KEY = /^k1:[A-Za-z0-9_-]{43}$/;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kes-identity-minkms-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** Parses `Label:  value` lines, keeping their order. */
function fields(text: string): [string, string][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => {
      const m = /^([^:]+):\s+(.*)$/.exec(line);
      assert.ok(m, `not a field line: ${JSON.stringify(line)}`);
      return [m[1]!, m[2]!];
    });
}

const sha256 = (spki: Buffer) => createHash('sha256').update(spki).digest('hex');

describe('kes identity --minkms (new key)', () => {
  test('piped: only the k1: key, which is a valid KES key too', async () => {
    const a = await kes(['identity', '--minkms'], {});
    const b = await kes(['identity', '--minkms'], {});
    assert.deepEqual([a.code, a.stderr], [0, '']);
    assert.match(a.stdout, /^k1:[A-Za-z0-9_-]{43}\n$/);
    assert.notEqual(a.stdout, b.stdout);
    const key = KmsApiKey.parse(a.stdout.trim());
    assert.equal(kmsApiKeyOf(key.toApiKey()), a.stdout.trim());
  });

  test('on a terminal: both forms of the key and of the identity, and how to use them', async () => {
    const r = await kes(['identity', '--minkms'], {}, { tty: true });
    assert.deepEqual([r.code, r.stderr], [0, '']);
    const kesKey = /kes:v1:\S+/.exec(r.stdout)![0];
    const k1 = /k1:\S+/.exec(r.stdout)![0];
    const apiKey = ApiKey.parse(kesKey);
    assert.match(k1, K1_KEY);
    assert.equal(kmsApiKeyOf(apiKey), k1, 'the same key');
    const lines = r.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 5), ['Your API key (KES and MinKMS forms of the same key):', '', `   ${kesKey}`, `   ${k1}`, '']);
    assert.ok(lines.includes(`   ${apiKey.identity}`), r.stdout);
    assert.ok(lines.includes(`   ${kmsIdentityOf(apiKey.identity)}`), r.stdout);
    assert.ok(r.stdout.includes(`   export KES_API_KEY=${kesKey}\n   export MINIO_KMS_API_KEY=${k1}\n`), r.stdout);
    assert.match(r.stdout, /Keep it secret and safe/);
  });

  test('without --minkms nothing MinKMS is printed', async () => {
    for (const tty of [false, true]) {
      const r = await kes(['identity'], {}, { tty });
      assert.ok(!/k1:|h1:|MinKMS|MINIO_KMS/.test(r.stdout), r.stdout);
    }
  });
});

describe('kes identity [--minkms] <API-KEY | IDENTITY | FILE>', () => {
  test('the worked example: every form of the key or identity gives the same identity', async () => {
    for (const arg of [K1, KES, KES.slice('kes:v1:'.length), H1, HEX, HEX.toUpperCase()]) {
      assert.deepEqual(await kes(['identity', arg], {}), { code: 0, stdout: `${HEX}\n`, stderr: '' }, arg);
      assert.deepEqual(await kes(['identity', '--minkms', arg], {}), { code: 0, stdout: `${H1}\n`, stderr: '' }, arg);
      assert.equal((await kes(['identity', arg], {}, { tty: true })).stdout, `Identity:  ${HEX}\n`, arg);
      assert.equal((await kes(['identity', arg, '--minkms'], {}, { tty: true })).stdout, `Identity:         ${HEX}\nMinKMS identity:  ${H1}\n`, arg);
    }
  });

  test('a k2: key has an identity (spec P-256 example)', async () => {
    assert.equal((await kes(['identity', K2], {})).stdout, `${K2_HEX}\n`);
    assert.equal((await kes(['identity', '--minkms', K2], {})).stdout, `${K2_H1}\n`);
  });

  test('--minkms on a certificate or public key file: its h1: identity, as openssl computes it', async () => {
    for (const algorithm of ['ed25519', 'ec', 'rsa'] as const) {
      const cert = opensslCertificate(algorithm);
      const path = file(`minkms-${algorithm}.crt`, cert.certPem);
      assert.equal((await kes(['identity', '--minkms', path], {})).stdout, `${kmsIdentityOf(cert.identity)}\n`, algorithm);
      assert.equal((await kes(['identity', path], {})).stdout, `${cert.identity}\n`, algorithm);
    }
  });

  test('--minkms on an Ed25519 private key file: its k1: key (piped), all four forms on a terminal', async () => {
    const keyPem = ApiKey.parse(KES).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const path = file('example.key', keyPem);
    assert.deepEqual(await kes(['identity', '--minkms', path], {}), { code: 0, stdout: `${K1}\n`, stderr: '' });
    assert.deepEqual(fields((await kes(['identity', '--minkms', path], {}, { tty: true })).stdout), [
      ['API key', KES],
      ['MinKMS API key', K1],
      ['Identity', HEX],
      ['MinKMS identity', H1],
    ]);
    assert.equal((await kes(['identity', path], {})).stdout, `${KES}\n`, 'unchanged without --minkms');
  });

  test('--minkms on an ECDSA private key file: its k2: key with the identity of the key', async () => {
    for (const curve of ['P-256', 'P-384', 'P-521'] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const path = file(`ec-${curve}.key`, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      const identity = sha256(publicKey.export({ type: 'spki', format: 'der' }));
      const r = await kes(['identity', '--minkms', path], {});
      assert.deepEqual([r.code, r.stderr], [0, ''], curve);
      assert.equal(r.stdout, `k2:${privateKey.export({ format: 'jwk' }).d}\n`, curve);
      assert.equal(KmsApiKey.parse(r.stdout.trim()).identity, identity);
      assert.deepEqual(fields((await kes(['identity', '--minkms', path], {}, { tty: true })).stdout), [
        ['MinKMS API key', r.stdout.trim()],
        ['Identity', identity],
        ['MinKMS identity', kmsIdentityOf(identity)],
      ]);
      assert.equal((await kes(['identity', path], {})).code, 1, 'without --minkms: only Ed25519 keys are API keys');
    }
  });

  test('--minkms on an RSA private key file is an error naming the supported keys', async () => {
    const rsa = opensslCertificate('rsa');
    const r = await kes(['identity', '--minkms', file('rsa.key', rsa.keyPem)], {});
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Error: the private key in '.*rsa\.key' is an RSA key: only Ed25519 and ECDSA P-256, P-384 or P-521 keys can be MinKMS API keys\n$/);
  });

  test('--minkms on an encrypted ECDSA key file reads the password from stdin', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const path = file('enc-ec.key', privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString());
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'identity', '--minkms', path], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stdin.end('pw\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.equal(stdout, `k2:${privateKey.export({ format: 'jwk' }).d}\n`);
  });

  test('invalid k1:, k2: and h1: arguments are usage errors that do not repeat the key', async () => {
    const cases: [string, RegExp][] = [
      [K1.slice(0, -1), /^Error: invalid MinKMS API key: a k1: key is 43 base64url characters without padding\n/],
      [`${K1}=`, /^Error: invalid MinKMS API key: a k1: /],
      [`k1:+${K1.slice(4)}`, /^Error: invalid MinKMS API key: a k1: /],
      [`k2:${Buffer.alloc(33, 1).toString('base64url')}`, /^Error: invalid MinKMS API key: a k2: key is 43, 64 or 88 base64url characters/],
      [`k2:${Buffer.alloc(32, 0xff).toString('base64url')}`, /^Error: invalid MinKMS API key: not a valid P-256 private key\n/],
      [`h1:${Buffer.alloc(31, 1).toString('base64url')}`, /^Error: invalid MinKMS identity: expected h1: and 43 base64url characters\n/],
    ];
    for (const [arg, error] of cases) {
      for (const argv of [['identity', arg], ['identity', 'of', arg], ['identity', '--minkms', arg]]) {
        const r = await kes(argv, {});
        assert.equal(r.code, 2, argv.join(' '));
        assert.equal(r.stdout, '');
        assert.match(r.stderr, error, argv.join(' '));
        if (!arg.startsWith('h1:')) assert.ok(!r.stderr.includes(arg.slice(3, 20)), 'the key is not echoed');
      }
    }
  });

  test('--help explains --minkms', async () => {
    const r = await kes(['identity', '--help'], {});
    assert.equal(r.code, 0);
    for (const text of ['--minkms', 'k1:', 'h1:', 'export MINIO_KMS_API_KEY=$(kes identity --minkms)']) assert.ok(r.stdout.includes(text), text);
  });
});

describe('kes identity of [--minkms]', () => {
  test('accepts every form of keys and identities; hex by default, h1: with --minkms', async () => {
    const cert = opensslCertificate('ec');
    const path = file('of.crt', cert.certPem);
    const args = [K1, KES, K2, H1, HEX, path];
    const hex = [HEX, HEX, K2_HEX, HEX, HEX, cert.identity];
    assert.deepEqual(await kes(['identity', 'of', ...args], {}), { code: 0, stdout: hex.map((h) => `${h}\n`).join(''), stderr: '' });
    assert.deepEqual(await kes(['identity', 'of', '--minkms', ...args], {}), { code: 0, stdout: hex.map((h) => `${kmsIdentityOf(h)}\n`).join(''), stderr: '' });
  });

  test('on a terminal: the same labels, with h1: identities under --minkms', async () => {
    assert.equal((await kes(['identity', 'of', '--minkms', K1], {}, { tty: true })).stdout, `Identity:  ${H1}\n`);
    const r = await kes(['identity', 'of', '--minkms', K1, H1], {}, { tty: true });
    assert.deepEqual(fields(r.stdout), [
      ['API key (argument 1)', H1],
      ['Identity (argument 2)', H1],
    ]);
    assert.ok(!r.stdout.includes(K1), 'the API key is not printed');
  });

  test('--help names --minkms', async () => {
    assert.match((await kes(['identity', 'of', '--help'], {})).stdout, /--minkms +Print h1: \(MinKMS\) identities instead of hex/);
  });
});

describe('kes identity new --minkms', () => {
  test('adds the MinKMS key and identity after the identity, piped and on a terminal', async () => {
    for (const tty of [false, true]) {
      const r = await kes(['identity', 'new', '--minkms'], {}, { tty });
      assert.deepEqual([r.code, r.stderr], [0, '']);
      const f = fields(r.stdout);
      assert.deepEqual(f.map(([label]) => label), ['API key', 'Identity', 'MinKMS API key', 'MinKMS identity']);
      const [[, kesKey], [, identity], [, k1], [, h1]] = f as [[string, string], [string, string], [string, string], [string, string]];
      assert.equal(ApiKey.parse(kesKey).identity, identity);
      assert.equal(kmsApiKeyOf(ApiKey.parse(kesKey)), k1);
      assert.equal(h1, kmsIdentityOf(identity));
    }
  });

  test('with --key and --cert: the rows follow the identity; the certificate has that identity', async () => {
    const r = await kes(['identity', 'new', '--minkms', '--key', join(dir, 'new.key'), '--cert', join(dir, 'new.crt')], {});
    assert.equal(r.code, 0, r.stderr);
    const f = fields(r.stdout);
    assert.deepEqual(f.map(([label]) => label), ['Private key', 'Certificate', 'API key', 'Identity', 'MinKMS API key', 'MinKMS identity', 'Valid from', 'Valid until']);
    const row = (label: string) => f.find(([l]) => l === label)![1];
    assert.equal((await kes(['identity', '--minkms', join(dir, 'new.crt')], {})).stdout, `${row('MinKMS identity')}\n`);
    assert.equal((await kes(['identity', '--minkms', join(dir, 'new.key')], {})).stdout, `${row('MinKMS API key')}\n`);
  });
});

describe('k1: keys as client credentials', () => {
  let t: TestServer;
  const admin = ApiKey.generate();
  const k1 = kmsApiKeyOf(admin);

  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
    });
  });
  after(() => t.close());

  test('--api-key and KES_API_KEY take a k1: key: the server sees the identity of the kes:v1: key', async () => {
    const server = ['--server', `127.0.0.1:${t.port}`, '--ca', join(t.dir, 'ca.crt')];
    let r = await kes(['key', 'create', 'minkms-a', ...server, '--api-key', k1], {});
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await kes(['key', 'ls', ...server], { KES_API_KEY: k1 });
    assert.deepEqual([r.code, r.stderr], [0, '']);
    assert.match(r.stdout, /minkms-a/);
    r = await kes(['identity', 'info', '--json', ...server], { KES_API_KEY: ` ${k1}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(admin.identity), r.stdout);
  });

  test('the SDK takes a k1: key and makes the same client identity', () => {
    const client = new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: k1 });
    assert.equal(client.identity, admin.identity);
    client.close();
  });

  test('k2: keys are refused with a clear message that does not repeat the key', async () => {
    const server = ['--server', `127.0.0.1:${t.port}`, '--ca', join(t.dir, 'ca.crt')];
    for (const [argv, env] of [
      [['--api-key', K2], {}],
      [[], { KES_API_KEY: K2 }],
    ] as const) {
      const r = await kes(['key', 'ls', ...server, ...argv], env);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `Error: ${argv.length ? '--api-key' : 'KES_API_KEY'}: ${K2_CLIENT_REFUSAL}\n`);
    }
    assert.throws(() => new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: K2 }), { message: K2_CLIENT_REFUSAL });
  });

  test('an invalid k1: key names where it came from and is not echoed', async () => {
    const r = await kes(['key', 'ls', '--server', `127.0.0.1:${t.port}`, '--api-key', K1.slice(0, -2)], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: --api-key: invalid MinKMS API key: /);
    assert.ok(!r.stderr.includes(K1.slice(3, 20)));
  });
});
