import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { systemErrorText } from './system-error.js';

test('a system error reads as its reason in words', () => {
  const caught = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err;
    }
    throw new Error('no error');
  };
  assert.equal(systemErrorText(caught(() => readFileSync('/nonexistent/x.crt'))), 'no such file or directory');
  assert.equal(systemErrorText(caught(() => readFileSync('/'))), 'illegal operation on a directory');
});

test('other errors keep their message', () => {
  assert.equal(systemErrorText(new Error('bad PEM')), 'bad PEM');
  assert.equal(systemErrorText(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), 'connect ECONNREFUSED 127.0.0.1:1');
  assert.equal(systemErrorText('text'), 'text');
});
