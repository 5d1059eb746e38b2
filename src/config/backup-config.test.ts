/** `backup:` (openkes, docs/backup.md): the backup key of `/v1/db`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { BackupKey } from '../backup/backup-key.js';
import { ConfigError } from './config-error.js';
import type { ConfigWarning } from './config-warning.js';
import { assertConfigError, HERE, parse, yml } from '../../test/helpers/config-testing.js';

const KEY_BYTES = Buffer.from('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'hex');
const KEY_B64 = KEY_BYTES.toString('base64');

test('backup is off unless set', () => {
  assert.equal(parse(yml('address: 127.0.0.1:7373\n')).backup, undefined);
  assert.equal(parse(yml('backup:\n')).backup, undefined);
  assert.ok(!('backup' in parse(yml('address: 127.0.0.1:7373\n'))));
});

test('backup.key: base64 or hex of 32 bytes, usually from the environment', () => {
  const expected = BackupKey.fromBytes(KEY_BYTES);
  const cases: Array<[string, string, Record<string, string>]> = [
    ['from the environment', 'backup:\n  key: ${KES_BACKUP_KEY}\n', { KES_BACKUP_KEY: KEY_B64 }],
    ['from the environment, with the newline of a file', 'backup:\n  key: ${KES_BACKUP_KEY}\n', { KES_BACKUP_KEY: `${KEY_B64}\n` }],
    ['base64 in the file', `backup:\n  key: ${KEY_B64}\n`, {}],
    ['quoted hex in the file', `backup:\n  key: "${KEY_BYTES.toString('hex')}"\n`, {}],
  ];
  for (const [title, text, env] of cases) {
    const key = parse(yml(text), { env }).backup?.key;
    assert.ok(key instanceof BackupKey && key.equals(expected), title);
  }
});

test('backup errors name the field and line, and never the key', () => {
  const short = Buffer.alloc(24, 0x61).toString('base64');
  assertConfigError(yml(`backup:  ${HERE}\n  kee: x\n`), 'backup.key', /^required \(is "kee" a typo of "key"\?\): the backup key, 32 random bytes in base64.*openssl rand -base64 32/);
  assertConfigError(yml(`backup:  ${HERE}\n  path: x\n`), 'backup.key', /^required: the backup key/);
  assertConfigError(yml(`backup:\n  key: ""  ${HERE}\n`), 'backup.key', /^required/);
  assertConfigError(yml(`backup: ${KEY_B64}  ${HERE}\n`), 'backup', /must be a mapping/);
  assertConfigError(yml(`backup:\n  key: ${short}  ${HERE}\n`), 'backup.key', /^the backup key is 24 bytes, not 32: use 32 random bytes in base64/);
  assertConfigError(yml(`backup:\n  key: \${KES_BACKUP_KEY}  ${HERE}\n`), 'backup.key', /^the backup key is neither base64 nor hex/, { env: { KES_BACKUP_KEY: 'my secret password' } });
  assertConfigError(yml(`backup:\n  key: \${KES_BACKUP_KEY}  ${HERE}\n`), 'backup.key', /referenced env. variable 'KES_BACKUP_KEY'.*not found/);
  assertConfigError(yml(`backup:\n  key:  ${HERE}\n    - a\n`), 'backup.key', /must be a single value/);
  for (const [text, env, secret] of [
    [`backup:\n  key: ${short}\n`, {}, short],
    ['backup:\n  key: ${K}\n', { K: 'my secret password' }, 'my secret password'],
    ['backup:\n  key: ${K}\n', { K: `${KEY_B64}AAAA` }, `${KEY_B64}AAAA`],
  ] as const) {
    assert.throws(
      () => parse(yml(text), { env }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes(secret) && !err.message.includes(secret.slice(0, 8)),
    );
  }
});

test('backup.kee is an unknown field (did you mean "key"?); backup.key is known', () => {
  const warnings: ConfigWarning[] = [];
  parse(yml(`backup:\n  key: ${KEY_B64}\n`), { warnings });
  assert.equal(warnings.length, 0);
  parse(yml(`backup:\n  key: ${KEY_B64}\n  kee: ${KEY_B64}\n`), { warnings });
  assert.deepEqual(
    warnings.map((w) => w.message),
    ['kes.yml:8: backup.kee: unknown field, ignored (did you mean "key"?)'],
  );
  assert.ok(!warnings[0]!.message.includes(KEY_B64));
});

test('a parsed config shows no key: inspect and JSON', () => {
  const config = parse(yml(`backup:\n  key: ${KEY_B64}\n`));
  for (const text of [inspect(config, { depth: 10 }), JSON.stringify(config)]) {
    assert.ok(!text.includes(KEY_B64) && !text.includes(KEY_BYTES.toString('hex')), text);
  }
});
