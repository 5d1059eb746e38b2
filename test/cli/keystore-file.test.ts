/** loadKeyStoreConfigFile / parseKeyStoreConfig: only the keystore section, with the full parser's errors. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config-error.js';
import { loadKeyStoreConfigFile, parseKeyStoreConfig } from '../../src/config/keystore-file.js';
import { parseConfig } from '../../src/config/parse-config.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kes-keystore-file-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('reads the keystore section and ignores the rest, even when the rest is invalid', () => {
  assert.deepEqual(parseKeyStoreConfig('keystore:\n  fs:\n    path: /var/kes\n'), { type: 'fs', path: '/var/kes' });
  const text = 'address: not-an-address\ntls:\n  auth: maybe\nkeystore:\n  fs:\n    path: /var/kes\n';
  assert.throws(() => parseConfig(text, { env: {} }), ConfigError, 'the full parser rejects it');
  assert.deepEqual(parseKeyStoreConfig(text, { env: {} }), { type: 'fs', path: '/var/kes' });
});

test('replaces ${VAR} references from the given environment', () => {
  assert.deepEqual(parseKeyStoreConfig('keystore:\n  fs:\n    path: ${KEYS}\n', { env: { KEYS: '/srv/keys' } }), { type: 'fs', path: '/srv/keys' });
});

test('errors are those of the full parser, naming the file, line and field', () => {
  const cases: [text: string, message: string][] = [
    ['', 'k.yml: the config file is empty'],
    ['- a\n- b\n', 'k.yml:1: the top level must be a mapping'],
    ['keystore:\n  fs: [\n', 'k.yml:3: invalid YAML: '],
    ['version: v2\nkeystore:\n  fs:\n    path: /x\n', 'k.yml:1: version: invalid server config version "v2" (only v1 is supported)'],
    ['admin:\n  identity: x\n', 'k.yml: keystore: no keystore specified'],
    ['keystore:\n  fs:\n    path: ${NOPE}\n', "k.yml:3: keystore.fs.path: referenced env. variable 'NOPE' in line '3' not found"],
    ['keys:\n  fs:\n    path: /x\n', 'k.yml:1: keys: this is the keystore section of KES v0.13 and older'],
    ['keystore:\n  kes:\n    endpoint: [https://127.0.0.1:7373]\n', "k.yml:2: keystore.kes: keystore 'kes' is not supported by this version"],
  ];
  for (const [i, [text, message]] of cases.entries()) {
    assert.throws(() => parseKeyStoreConfig(text, { env: {}, filename: 'k.yml' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, text);
      assert.ok(err.message.startsWith(message), `${JSON.stringify(text)}: ${err.message}`);
      return true;
    });
    // The full parser checks these before admin and tls: it says the same thing.
    if (i < 4) {
      assert.throws(() => parseConfig(text, { env: {}, filename: 'k.yml' }), (err: unknown) => (err as Error).message.startsWith(message));
    }
  }
});

test('loadKeyStoreConfigFile reads a file; a missing file names it', async () => {
  const file = join(dir, 'kes.yml');
  writeFileSync(file, 'keystore:\n  fs:\n    path: ${KEYS_DIR}\n');
  assert.deepEqual(await loadKeyStoreConfigFile(file, { KEYS_DIR: dir }), { type: 'fs', path: dir });
  await assert.rejects(loadKeyStoreConfigFile(join(dir, 'missing.yml'), {}), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^.*missing\.yml: cannot read the config file: ENOENT/);
    return true;
  });
});
