import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesField, getField, JsonFieldError, parseJsonObject, stringField } from './json.js';

test('field names match case-insensitively and the last match wins, as in Go', () => {
  assert.equal(getField({ Plaintext: 'a' }, 'plaintext'), 'a');
  assert.equal(getField({ PLAINTEXT: 'a', plaintext: 'b' }, 'plaintext'), 'b');
  assert.equal(getField({ plaintext: 'b', PLAINTEXT: 'a' }, 'plaintext'), 'a');
  assert.equal(getField({ '\u212aey': 'kelvin' }, 'key'), 'kelvin');
  assert.equal(getField({ plain: 'x' }, 'plaintext'), undefined);
  assert.equal(getField({ plaintext: null }, 'plaintext'), undefined);
});

test('typed readers', () => {
  assert.equal(stringField({}, 'a'), '');
  assert.equal(stringField({ a: 'x' }, 'a'), 'x');
  assert.throws(() => stringField({ a: 1 }, 'a'), JsonFieldError);
  assert.deepEqual(bytesField({ a: 'AQID' }, 'a'), Buffer.of(1, 2, 3));
  assert.deepEqual(bytesField({ a: null }, 'a'), Buffer.alloc(0));
  assert.throws(() => bytesField({ a: 'AQI' }, 'a'), JsonFieldError);
  assert.throws(() => bytesField({ a: [1] }, 'a'), JsonFieldError);
});

test('parseJsonObject accepts objects only', () => {
  assert.deepEqual(parseJsonObject('{"a":1}'), { a: 1 });
  for (const bad of ['', '[]', 'null', '1', '"x"', '{', '{"a":1}x']) assert.equal(parseJsonObject(bad), undefined, bad);
});
