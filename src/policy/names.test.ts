import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidName, isValidPattern, patternPrefix } from './names.js';

// test-vectors.md §5
const validNames = ['my-key', 'abc123', '0', '123ABC321', '_-___---_', '_0', '0-Z', 'my_key-0', 'a'.repeat(80)];
const invalidNames = ['', 'my.key', 'key/', '☰', 'hel<lo', 'Εmacs', 'a'.repeat(81), '-a', 'a-', '_', 'my-minio-key*', 'my-minio-key/', 'a b', 'a\u0000'];
const validPatterns = ['my-key', 'abc123', '0', '123ABC321', '_-___---_', '_0', '0-Z', '*', 'my*', '_-*', '', 'my-minio-key*', '_*', 'a'.repeat(79) + '*'];
const invalidPatterns = ['*-*', 'my.key', 'key/', '☰', 'hel<lo', 'Εmacs', 'a'.repeat(81), '**', '*a', '-*', '_', 'a-', 'my-minio-key/', 'a*b'];

test('valid names', () => {
  for (const n of validNames) assert.ok(isValidName(n), JSON.stringify(n));
});
test('invalid names', () => {
  for (const n of invalidNames) assert.ok(!isValidName(n), JSON.stringify(n));
});
test('valid listing patterns', () => {
  for (const p of validPatterns) assert.ok(isValidPattern(p), JSON.stringify(p));
});
test('invalid listing patterns', () => {
  for (const p of invalidPatterns) assert.ok(!isValidPattern(p), JSON.stringify(p));
});
test('a pattern selects a prefix; a trailing * is stripped (decisions §16.4)', () => {
  assert.equal(patternPrefix(''), '');
  assert.equal(patternPrefix('*'), '');
  assert.equal(patternPrefix('my-key*'), 'my-key');
  assert.equal(patternPrefix('my-key'), 'my-key');
});
