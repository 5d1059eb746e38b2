import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdKey, keyAfter, nameOf, prefixRange } from './keys.js';

const hex = (b: Buffer) => b.toString('hex');
const bytes = (...v: number[]) => Buffer.from(v);

test('etcdKey is the prefix followed by the UTF-8 name', () => {
  assert.equal(etcdKey(Buffer.from('kes/keys/'), 'my-key').toString(), 'kes/keys/my-key');
  assert.equal(hex(etcdKey(Buffer.from('p/'), 'é')), hex(Buffer.from('p/\u00e9', 'utf8')));
  assert.equal(etcdKey(Buffer.alloc(0), 'k').toString(), 'k');
});

const rangeCases: Array<{ prefix: Buffer; key: Buffer; end: Buffer }> = [
  { prefix: Buffer.from('kes/keys/'), key: Buffer.from('kes/keys/'), end: Buffer.from('kes/keys0') },
  { prefix: Buffer.from('a'), key: Buffer.from('a'), end: Buffer.from('b') },
  { prefix: bytes(0x61, 0xff), key: bytes(0x61, 0xff), end: bytes(0x62) },
  { prefix: bytes(0x61, 0xfe, 0xff, 0xff), key: bytes(0x61, 0xfe, 0xff, 0xff), end: bytes(0x61, 0xff) },
  { prefix: bytes(0xff, 0xff), key: bytes(0xff, 0xff), end: bytes(0) },
  { prefix: Buffer.alloc(0), key: bytes(0), end: bytes(0) },
];

test('prefixRange covers exactly the keys starting with the prefix', () => {
  for (const [i, c] of rangeCases.entries()) {
    const r = prefixRange(c.prefix);
    assert.equal(hex(r.key), hex(c.key), `case ${i}: key`);
    assert.equal(hex(r.rangeEnd), hex(c.end), `case ${i}: range end`);
  }
});

test('prefixRange does not modify the prefix', () => {
  const prefix = Buffer.from('abc');
  prefixRange(prefix);
  assert.equal(prefix.toString(), 'abc');
});

test('keyAfter is the next key in byte order', () => {
  const k = Buffer.from('kes/keys/a');
  const next = keyAfter(k);
  assert.equal(hex(next), hex(Buffer.concat([k, bytes(0)])));
  assert.ok(Buffer.compare(k, next) < 0);
  assert.ok(Buffer.compare(next, Buffer.from('kes/keys/a\u0001')) < 0, 'nothing fits in between');
});

test('nameOf strips the prefix and decodes UTF-8', () => {
  const prefix = Buffer.from('kes/keys/');
  assert.equal(nameOf(prefix, Buffer.from('kes/keys/my-key')), 'my-key');
  assert.equal(nameOf(prefix, Buffer.from('kes/keys/\ufeffbom-first')), '\ufeffbom-first', 'a leading BOM is part of the name');
  assert.equal(nameOf(prefix, Buffer.from('kes/keys/😀')), '😀');
});

test('nameOf gives undefined for keys that are not UTF-8', () => {
  const prefix = Buffer.from('p/');
  assert.equal(nameOf(prefix, Buffer.concat([prefix, bytes(0xff, 0x61)])), undefined);
  assert.equal(nameOf(prefix, Buffer.concat([prefix, bytes(0xed, 0xa0, 0x80)])), undefined, 'an encoded surrogate');
});
