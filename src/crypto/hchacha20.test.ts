import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hchacha20 } from './hchacha20.js';

test('hchacha20 matches the draft-irtf-cfrg-xchacha §2.2.1 test vector', () => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  const input = Buffer.from('000000090000004a0000000031415927', 'hex');
  assert.equal(hchacha20(key, input).toString('hex'), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
});

test('hchacha20 derives the per-message keys of the KES ChaCha20 vectors (test-vectors.md §2.2)', () => {
  const zero = Buffer.alloc(32);
  const k2 = Buffer.from('7431db4d6828f98877bbcd384980793b254ccba4622de258050b61d5fe8a9445', 'hex');
  const cases: [Buffer, string, string][] = [
    [zero, 'b377d267abe4e66f837d003cc9959e52', 'e25c22e98dd69b98b2dced7aa861f5625958730e0411adcc7f38b24dcdfd8fed'],
    [zero, '102d1e669ecfaadf8b9e439a7b9c5a02', '520097427582db3010f03343b1cef292acfc0ee5df024e23bcfaebc0107e7e19'],
    [zero, '40afe6a9b43e31dbea9f3a1884adb9e4', '480e36d5e4f59de35d1e8ecbf64b3ae0c27b7e4b45be058770c48d7f5d547b10'],
    [k2, '5fb7915115a6425419b3871ece26cf67', '33c9d554900c9205af5c734019603b89206079233ff7c8acef7b5ea7a0e9e461'],
  ];
  for (const [i, [key, iv, want]] of cases.entries()) {
    assert.equal(hchacha20(key, Buffer.from(iv, 'hex')).toString('hex'), want, `case ${i}`);
  }
});

test('hchacha20 rejects wrong key and input sizes', () => {
  assert.throws(() => hchacha20(Buffer.alloc(31), Buffer.alloc(16)), RangeError);
  assert.throws(() => hchacha20(Buffer.alloc(32), Buffer.alloc(24)), RangeError);
});
