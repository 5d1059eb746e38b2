import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { BackupKey, BackupKeyError } from './backup-key.js';

const BYTES = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const B64 = BYTES.toString('base64');

test('parses base64 (as openssl rand -base64 32 prints it) and hex of 32 bytes', () => {
  const key = BackupKey.fromBytes(BYTES);
  const cases: Array<[string, string]> = [
    ['padded base64', B64],
    ['base64 without padding', B64.replace(/=+$/, '')],
    ['base64 with a trailing newline', `${B64}\n`],
    ['hex', BYTES.toString('hex')],
    ['upper-case hex', BYTES.toString('hex').toUpperCase()],
    ['hex with spaces around it', `  ${BYTES.toString('hex')} `],
  ];
  for (const [title, text] of cases) assert.ok(BackupKey.parse(text).equals(key), title);
});

test('refuses anything else, with a message that says what to do and never repeats the value', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['blank', '   ', /empty/],
    ['16 bytes of base64', Buffer.alloc(16, 7).toString('base64'), /16 bytes, not 32/],
    ['48 bytes of base64', Buffer.alloc(48, 7).toString('base64'), /48 bytes, not 32/],
    ['31 bytes of hex', Buffer.alloc(31, 0xab).toString('hex'), /neither base64 nor hex|not 32/],
    ['a password', 'correct horse battery staple', /neither base64 nor hex/],
    ['URL-safe base64', Buffer.alloc(32, 0xfb).toString('base64url'), /URL-safe base64/],
    ['too much padding', `${B64}=`, /neither base64 nor hex/],
    ['non-canonical last character', B64.replace(/.=$/, (m) => String.fromCharCode(m.charCodeAt(0) + 1) + '='), /neither base64 nor hex/],
  ];
  for (const [title, text, reason] of cases) {
    assert.throws(
      () => BackupKey.parse(text),
      (err: unknown) => {
        assert.ok(err instanceof BackupKeyError, title);
        assert.match(err.message, reason, title);
        assert.match(err.message, /openssl rand -base64 32/, title);
        if (text.trim() !== '') assert.ok(!err.message.includes(text.trim()), `${title}: the message repeats the value`);
        return true;
      },
    );
  }
  assert.throws(() => BackupKey.fromBytes(Buffer.alloc(31)), BackupKeyError);
});

test('inspect, String(), JSON and template strings never show the key', () => {
  const key = BackupKey.parse(B64);
  const shown = [inspect(key), inspect({ backup: { key } }, { depth: 5 }), String(key), `${key}`, JSON.stringify({ backup: { key } }), inspect(key, { showHidden: true })];
  for (const text of shown) {
    assert.ok(!text.includes(B64) && !text.includes(B64.slice(0, 12)), text);
    assert.ok(!text.includes(BYTES.toString('hex').slice(0, 12)), text);
  }
  assert.equal(JSON.stringify({ key }), '{"key":"<redacted backup key>"}');
  // structuredClone (worker messages) does not carry private fields either.
  assert.ok(!(structuredClone(key) instanceof BackupKey));
});

test('derive is HKDF-SHA256: distinct per salt and info, the same for the same key', () => {
  const a = BackupKey.fromBytes(BYTES);
  const b = BackupKey.parse(BYTES.toString('hex'));
  const salt = Buffer.alloc(32, 1);
  assert.deepEqual(a.derive(salt, 'x'), b.derive(salt, 'x'));
  assert.notDeepEqual(a.derive(salt, 'x'), a.derive(Buffer.alloc(32, 2), 'x'));
  assert.notDeepEqual(a.derive(salt, 'x'), a.derive(salt, 'y'));
  assert.equal(a.derive(salt, 'x', 16).length, 16);
  assert.deepEqual(a.derive(salt, 'openkes backup v1'), Buffer.from(hkdfSync('sha256', BYTES, salt, 'openkes backup v1', 32)));
});

test('generate takes its randomness as an argument; exportBase64 round-trips through parse', () => {
  const key = BackupKey.generate(() => Buffer.from(BYTES));
  assert.ok(key.equals(BackupKey.fromBytes(BYTES)));
  assert.ok(BackupKey.parse(key.exportBase64()).equals(key));
  assert.ok(!BackupKey.generate().equals(BackupKey.generate()));
});
