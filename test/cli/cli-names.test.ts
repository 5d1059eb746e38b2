/**
 * Names on the command line: an argument that starts with '-' (`--` before it), and invalid key,
 * policy and identity names or patterns, refused before any request with the naming rule.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { isValidName } from '../../src/policy/names.js';
import { NAME_RULE } from '../../src/cli/commands/common.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { kes } from '../helpers/cli-io.js';

const RULE = "use 1 to 80 characters of A-Z a-z 0-9 _ -, not starting or ending with '-' (and not '_' alone)";

describe('names on the command line', () => {
  let t: TestServer;
  let env: Record<string, string>;
  const admin = ApiKey.generate();
  // No server there: a name refused locally never gets as far as "connection refused".
  const nowhere = { KES_SERVER: '127.0.0.1:1', KES_API_KEY: admin.toString() };

  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
    });
    env = { KES_SERVER: `127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
  });
  after(() => t.close());

  test('the rule the CLI states is the rule of policy/names.ts', () => {
    assert.equal(NAME_RULE, RULE);
    for (const ok of ['a', 'A-z_0', '_a', 'a_', '__', 'a'.repeat(80), '0']) assert.ok(isValidName(ok), ok);
    for (const bad of ['', '_', 'a'.repeat(81), '-a', 'a-', 'a.b', 'a b', 'a/b', 'ä']) assert.ok(!isValidName(bad), bad);
  });

  test('an argument that looks like a flag: the error says to put -- before it', async () => {
    let r = await kes(['key', 'create', '-leading'], nowhere);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], "Error: unknown flag: -leading (an argument that starts with '-' goes after --: kes key create -- -leading)");
    r = await kes(['key', 'create', '--', '-leading'], nowhere);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], `Error: invalid key name "-leading": ${RULE}`);
    r = await kes(['key', 'create', '--nope'], nowhere);
    assert.equal(r.stderr.split('\n')[0], 'Error: unknown flag: --nope', 'a long flag is a mistyped flag');
  });

  test('-- passes an argument that starts with -', async () => {
    await kes(['key', 'create', 'dash-key'], env);
    let r = await kes(['key', 'encrypt', 'dash-key', '--', '-n secret'], env);
    assert.equal(r.code, 0, r.stderr);
    r = await kes(['key', 'decrypt', 'dash-key', JSON.parse(r.stdout).ciphertext], env);
    assert.equal(Buffer.from(JSON.parse(r.stdout).plaintext, 'base64').toString(), '-n secret');
  });

  test('invalid names are refused before any request, with the rule', async () => {
    const cases: [string[], string][] = [
      [['key', 'create', 'ok', 'a b'], 'key name "a b"'],
      [['key', 'import', 'a.b', Buffer.alloc(32).toString('base64')], 'key name "a.b"'],
      [['key', 'info', 'x-'], 'key name "x-"'],
      [['key', 'rm', '_'], 'key name "_"'],
      [['key', 'encrypt', 'a'.repeat(81), 'm'], `key name "${'a'.repeat(81)}"`],
      [['key', 'decrypt', 'a/b', 'AAAA'], 'key name "a/b"'],
      [['key', 'dek', 'ä'], 'key name "ä"'],
      [['policy', 'info', 'my policy'], 'policy name "my policy"'],
      [['policy', 'show', 'p.1'], 'policy name "p.1"'],
      [['identity', 'info', 'not hex'], 'identity name "not hex"'],
    ];
    for (const [argv, what] of cases) {
      const r = await kes(argv, nowhere);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal(r.stderr.split('\n')[0], `Error: invalid ${what}: ${RULE}`, argv.join(' '));
    }
  });

  test('invalid patterns are refused with the rule; a bare prefix still lists', async () => {
    for (const argv of [['key', 'ls', 'a b*'], ['ls', '-p', '*x'], ['policy', 'ls', 'a*b'], ['identity', 'ls', '--', '-*']]) {
      const r = await kes(argv, nowhere);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, /^Error: invalid pattern ".+": use the start of a name \(A-Z a-z 0-9 _ -, not starting with '-'\), optionally followed by \*\n/, argv.join(' '));
    }
    await kes(['key', 'create', 'pre-fix'], env);
    for (const argv of [['ls', 'pre-'], ['key', 'ls', 'pre-*'], ['key', 'ls', 'pre-fix'], ['key', 'ls', '*']]) {
      const r = await kes(argv, env);
      assert.match(r.stdout, /^(.*\n)*pre-fix\n/, argv.join(' '));
    }
  });
});
