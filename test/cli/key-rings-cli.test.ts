/**
 * The key ring commands of the `kes` CLI against a real server: rotate, info with versions,
 * rm --version, rewrap; and `kes key info` of a key never rotated prints what it always did.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { formatDate } from '../../src/cli/output.js';
import { createSelfSignedFromApiKey } from '../../src/pki/api-key-certificate.js';
import { createTestPki } from '../helpers/certs.js';
import { httpsClient } from '../helpers/https-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { kes } from '../helpers/cli-io.js';

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
/** A describe answer's times to the millisecond, as the CLI's Dates keep them. */
const millis = (o: Record<string, unknown>) => JSON.parse(JSON.stringify(o).replace(/"(\d{4}-\d\d-\d\dT[^"]+Z)"/g, (_, t: string) => JSON.stringify(new Date(t).toISOString())));

describe('kes key: key versions', () => {
  let t: TestServer;
  let env: Record<string, string>;
  const admin = ApiKey.generate();
  const id = admin.identity;

  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
    });
    env = { KES_SERVER: `https://127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
  });
  after(() => t.close());

  /** The server's own describe answer, as the admin (its API key's certificate). */
  const describeKey = async (name: string) => {
    const client = httpsClient(t.port, t.pki.ca.certPem, { certPem: createSelfSignedFromApiKey(admin).pem, keyPem: admin.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    try {
      return (await client.request('GET', `/v1/key/describe/${name}`)).json() as Record<string, unknown> & { created_at: string; versions: Record<string, unknown>[] };
    } finally {
      client.close();
    }
  };

  test('key info of a key never rotated: the same four lines as before key versions, and --json gains version 1', async () => {
    assert.equal((await kes(['key', 'create', 'plain'], env)).code, 0);
    const d = await describeKey('plain');
    const date = formatDate(new Date(d.created_at));
    // What `kes key info` printed before key versions existed, byte for byte (piped and on a terminal).
    const before = `Name       plain\nAlgorithm  AES256\nDate       ${date}\nOwner      ${id}\n`;
    assert.deepEqual(await kes(['key', 'info', 'plain'], env), { code: 0, stdout: before, stderr: '' });
    assert.deepEqual(await kes(['key', 'info', 'plain'], env, { tty: true }), { code: 0, stdout: before, stderr: '' });
    const colored = await kes(['key', 'info', '--color', 'always', 'plain'], env, { tty: true });
    assert.equal(colored.stdout, `\x1b[1mName       \x1b[0mplain\n\x1b[1mAlgorithm  \x1b[0mAES256\n\x1b[1mDate       \x1b[0m${date}\n\x1b[1mOwner      \x1b[0m${id}\n`);

    const r = await kes(['key', 'info', '--json', 'plain'], env);
    const at = new Date(d.created_at).toISOString();
    assert.equal(
      r.stdout,
      `{"name":"plain","algorithm":"AES256","created_at":"${at}","created_by":"${id}","version":1,"versions":[{"version":1,"algorithm":"AES256","created_at":"${at}","created_by":"${id}"}]}\n`,
    );
    assert.deepEqual(JSON.parse(r.stdout), millis(d), "the server's describe answer");
  });

  test('key rotate: a sentence on a terminal, {"version":N} when piped', async () => {
    await kes(['key', 'create', 'rot'], env);
    assert.deepEqual(await kes(['key', 'rotate', 'rot'], env, { tty: true }), { code: 0, stdout: 'Rotated key "rot" to version 2\n', stderr: '' });
    assert.deepEqual(await kes(['key', 'rotate', 'rot'], env), { code: 0, stdout: '{"version":3}\n', stderr: '' });
    assert.deepEqual(await kes(['key', 'rotate', 'nope'], env), { code: 1, stdout: '', stderr: 'Error: key does not exist\n' });
  });

  test('key rotate --key --cipher: bring your own key', async () => {
    await kes(['key', 'create', 'byo'], env);
    let r = await kes(['key', 'rotate', 'byo', '--key', b64(Buffer.alloc(32, 4)), '--cipher', 'ChaCha20'], env);
    assert.deepEqual([r.code, r.stdout], [0, '{"version":2}\n']);
    r = await kes(['key', 'rotate', 'byo', '--key', b64(Buffer.alloc(32, 5))], env);
    assert.deepEqual([r.code, r.stdout], [0, '{"version":3}\n'], '--cipher defaults to AES256');
    const d = await describeKey('byo');
    assert.deepEqual(d.versions.map((v) => v.algorithm), ['AES256', 'ChaCha20', 'AES256']);

    const usage: [string[], string][] = [
      [['byo', '--cipher', 'ChaCha20'], '--cipher names the algorithm of the --key bytes: give --key too'],
      [['byo', '--key', b64(Buffer.alloc(16))], '--key is 16 bytes: a key version is 32 bytes (44 characters of base64)'],
      [['byo', '--key', 'not base64!'], '--key is not valid base64'],
      [['byo', '--key', b64(Buffer.alloc(32)), '--cipher', 'DES'], "invalid --cipher 'DES': use AES256 or ChaCha20"],
      [[], 'missing argument: kes key rotate NAME'],
      [['byo', 'other'], 'too many arguments: kes key rotate NAME'],
    ];
    for (const [args, message] of usage) {
      r = await kes(['key', 'rotate', ...args], env);
      assert.equal(r.code, 2, args.join(' '));
      assert.ok(r.stderr.startsWith(`Error: ${message}`), r.stderr);
    }
    assert.equal((await describeKey('byo')).version, 3, 'no usage error rotated');
  });

  test('key info of a rotated key: the latest version, then a table of the versions; --json as the server describes it', async () => {
    await kes(['key', 'create', 'ring'], env);
    await kes(['key', 'rotate', 'ring', '--key', b64(Buffer.alloc(32, 1)), '--cipher', 'ChaCha20'], env);
    await kes(['key', 'rotate', 'ring'], env);
    await kes(['key', 'rm', 'ring', '--version', '2'], env);
    const d = await describeKey('ring');
    const date = (i: number) => formatDate(new Date(d.versions[i]!.created_at as string));
    const r = await kes(['key', 'info', 'ring'], env, { tty: true });
    assert.equal(
      r.stdout,
      [
        'Name       ring',
        'Algorithm  AES256',
        `Date       ${date(1)}`,
        `Owner      ${id}`,
        'Version    3',
        '',
        'Version  Algorithm  Date                 Owner',
        `1        AES256     ${date(0)}  ${id}`,
        `3        AES256     ${date(1)}  ${id}`,
        '',
      ].join('\n'),
    );
    const json = await kes(['key', 'info', '--json', 'ring'], env);
    assert.deepEqual(JSON.parse(json.stdout), millis(d));
    assert.deepEqual(Object.keys(JSON.parse(json.stdout)), ['name', 'algorithm', 'created_at', 'created_by', 'version', 'versions']);
  });

  test('key rm --version retires one version: its data no longer decrypts, the rest does', async () => {
    await kes(['key', 'create', 'retire'], env);
    const context = b64('bucket/object');
    const v1 = JSON.parse((await kes(['key', 'dek', 'retire', context], env)).stdout) as { plaintext: string; ciphertext: string };
    await kes(['key', 'rotate', 'retire'], env);
    const v2 = JSON.parse((await kes(['key', 'dek', 'retire', context], env)).stdout) as { plaintext: string; ciphertext: string };

    assert.deepEqual(await kes(['key', 'rm', 'retire', '--version', '1'], env), { code: 0, stdout: '', stderr: '' });
    let r = await kes(['key', 'decrypt', 'retire', v1.ciphertext, context], env);
    assert.deepEqual([r.code, r.stderr], [1, 'Error: decryption failed: ciphertext is not authentic\n']);
    r = await kes(['key', 'decrypt', 'retire', v2.ciphertext, context], env);
    assert.equal(JSON.parse(r.stdout).plaintext, v2.plaintext);

    r = await kes(['key', 'rm', 'retire', '--version', '1'], env);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'Error: failed to delete version 1 of key "retire": key version does not exist\n' });
    r = await kes(['key', 'rm', '--version=2', 'retire'], env);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'Error: failed to delete version 2 of key "retire": the only version of a key cannot be deleted ("kes key rm retire" deletes the key)\n' });
    r = await kes(['key', 'rm', 'nope', '--version', '1'], env);
    assert.deepEqual([r.code, r.stderr], [1, 'Error: failed to delete version 1 of key "nope": key does not exist\n']);

    for (const [args, message] of [
      [['retire', '--version', '0'], "invalid --version '0': give a version number from 1 to 4294967295 (\"kes key info retire\" lists them)"],
      [['retire', '--version', 'two'], "invalid --version 'two'"],
      [['retire', '--version', '4294967296'], "invalid --version '4294967296'"],
      [['retire', 'other', '--version', '1'], 'too many arguments: kes key rm NAME --version N (one key at a time)'],
    ] as const) {
      r = await kes(['key', 'rm', ...args], env);
      assert.equal(r.code, 2, args.join(' '));
      assert.ok(r.stderr.startsWith(`Error: ${message}`), r.stderr);
    }
    // Without --version, rm deletes the key with every version, as before.
    assert.deepEqual(await kes(['key', 'rm', 'retire'], env), { code: 0, stdout: '', stderr: '' });
    assert.equal((await kes(['key', 'info', 'retire'], env)).stderr, 'Error: key does not exist\n');
  });

  test('key rewrap: the same plaintext under the latest version, bound to the same context', async () => {
    await kes(['key', 'create', 'wrap'], env);
    const context = b64('bucket/object');
    const dek = JSON.parse((await kes(['key', 'dek', 'wrap', context], env)).stdout) as { plaintext: string; ciphertext: string };
    await kes(['key', 'rotate', 'wrap'], env);

    let r = await kes(['key', 'rewrap', 'wrap', dek.ciphertext, context], env);
    assert.match(r.stdout, /^\{"ciphertext":"[^"]+"\}\n$/, 'one line of JSON when piped');
    const { ciphertext } = JSON.parse(r.stdout) as { ciphertext: string };
    assert.equal(Buffer.from(ciphertext, 'base64').subarray(0, 8).toString('hex'), '6f6b760100000002', 'sealed with version 2');
    await kes(['key', 'rm', 'wrap', '--version', '1'], env);
    r = await kes(['key', 'decrypt', 'wrap', ciphertext, context], env);
    assert.equal(JSON.parse(r.stdout).plaintext, dek.plaintext);

    r = await kes(['key', 'rewrap', 'wrap', ciphertext, context], env, { tty: true });
    assert.match(r.stdout, /^\nciphertext: [A-Za-z0-9+/]+=*\n$/, 'a labelled line on a terminal');
    r = await kes(['key', 'rewrap', 'wrap', ciphertext], env);
    assert.deepEqual([r.code, r.stderr], [1, 'Error: decryption failed: ciphertext is not authentic\n'], 'the context is needed');
    r = await kes(['key', 'rewrap', 'wrap', 'not base64!'], env);
    assert.deepEqual([r.code, r.stderr.split('\n')[0]], [2, 'Error: CIPHERTEXT is not valid base64']);
    r = await kes(['key', 'rewrap', 'wrap', ciphertext, 'not base64!'], env);
    assert.deepEqual([r.code, r.stderr.split('\n')[0]], [2, 'Error: CONTEXT is not valid base64']);
  });

  test('--help explains each command', async () => {
    const expected: [string[], string[]][] = [
      [['rotate'], ['kes key rotate [options] NAME', '--key B64', '--cipher AES256|ChaCha20', 'still decrypts', '{"version":N}', 'Examples:']],
      [['rewrap'], ['kes key rewrap [options] NAME CIPHERTEXT [CONTEXT]', 'latest version', 'never leaves', '/v1/key/decrypt/NAME', 'Examples:']],
      [['rm'], ['kes key rm [options] NAME --version N', '--version N', 'kes key rm my-key --version 1']],
      [['info'], ['"version" and "versions"']],
      [[], ['rotate    Rotate a key: add a new version', "rewrap    Re-encrypt a ciphertext with a key's latest version"]],
    ];
    for (const [command, texts] of expected) {
      const r = await kes(['key', ...command, '--help'], {});
      assert.equal(r.code, 0);
      for (const text of texts) assert.ok(r.stdout.includes(text), `${command.join(' ')}: ${text}\n${r.stdout}`);
    }
  });
});

describe('kes key: a KES server, which has no key versions', () => {
  const pki = createTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'kes-ring-cli-'));
  // As KES's router: every path it does not know is `404 page not found`.
  const server = https.createServer({ key: pki.server.keyPem, cert: pki.server.certPem }, (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('404 page not found\n');
  });
  let env: Record<string, string>;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    writeFileSync(join(dir, 'ca.crt'), pki.ca.certPem);
    env = { KES_SERVER: `https://localhost:${(server.address() as { port: number }).port}`, KES_API_KEY: ApiKey.generate().toString(), KES_CAPATH: join(dir, 'ca.crt') };
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('rotate, rm --version and rewrap say that the server lacks key versions', async () => {
    const lacks = 'the server does not know this API (404 page not found): key versions (rotate, rm --version, rewrap) are an openkes extension that KES servers do not have';
    assert.deepEqual(await kes(['key', 'rotate', 'k'], env), { code: 1, stdout: '', stderr: `Error: ${lacks}\n` });
    assert.deepEqual(await kes(['key', 'rewrap', 'k', b64(Buffer.alloc(60))], env), { code: 1, stdout: '', stderr: `Error: ${lacks}\n` });
    assert.deepEqual(await kes(['key', 'rm', 'k', '--version', '1'], env), { code: 1, stdout: '', stderr: `Error: failed to delete version 1 of key "k": ${lacks}\n` });
  });
});
