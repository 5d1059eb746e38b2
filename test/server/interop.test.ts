/**
 * Interoperability with KES's formats, checked by code written here independently of the
 * product: the key file the server writes is decoded per protocol.md §8.3 and used to decrypt the
 * server's ciphertexts per §8.4; ciphertexts made here in all three formats (raw, MessagePack,
 * JSON) are decrypted by the server.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** Minimal protobuf reader: field number → raw value (varints as numbers, others as bytes). */
function protoFields(buf: Buffer): Map<number, Buffer | number> {
  const out = new Map<number, Buffer | number>();
  let i = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    if ((tag & 7) === 0) out.set(tag >> 3, varint());
    else {
      const n = varint();
      out.set(tag >> 3, buf.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

const aesSeal = (key: Buffer, plaintext: Buffer, aad: Buffer) => {
  const iv = randomBytes(16);
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', createHmac('sha256', key).update(iv).digest(), nonce);
  c.setAAD(aad);
  return { iv, nonce, sealed: Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]) };
};

const aesOpen = (key: Buffer, ciphertext: Buffer, aad: Buffer) => {
  const n = ciphertext.length;
  const iv = ciphertext.subarray(n - 28, n - 12);
  const d = createDecipheriv('aes-256-gcm', createHmac('sha256', key).update(iv).digest(), ciphertext.subarray(n - 12));
  d.setAAD(aad);
  d.setAuthTag(ciphertext.subarray(n - 44, n - 28));
  return Buffer.concat([d.update(ciphertext.subarray(0, n - 44)), d.final()]);
};

const msgpackStr = (s: string) => (s.length < 32 ? Buffer.concat([Buffer.of(0xa0 | s.length), Buffer.from(s)]) : Buffer.concat([Buffer.of(0xd9, s.length), Buffer.from(s)]));
const msgpackBin = (b: Buffer) => Buffer.concat([Buffer.of(0xc4, b.length), b]);

describe('KES format interoperability (independent implementation)', () => {
  let t: TestServer;
  let keyBytes: Buffer;
  before(async () => {
    t = await startTestServer((config, _pki, dir) => {
      config.keystore = { type: 'fs', path: join(dir, 'keys') };
    });
    const r = await t.client().request('PUT', '/v1/key/create/interop');
    assert.equal(r.status, 200);
  });
  after(() => t.close());

  test('the key file is base64(protobuf KeyVersion), mode 0600 (protocol.md §8.3)', () => {
    const path = join(t.dir, 'keys', 'interop');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'ascii');
    assert.match(text, /^[A-Za-z0-9+/]+=*$/);
    const version = protoFields(Buffer.from(text, 'base64'));
    const secret = protoFields(version.get(1) as Buffer);
    const hmac = protoFields(version.get(2) as Buffer);
    const created = protoFields(version.get(3) as Buffer);
    assert.equal((secret.get(1) as Buffer).length, 32);
    assert.equal(secret.get(2), 1, 'AES256');
    assert.equal((hmac.get(1) as Buffer).length, 32);
    assert.equal(hmac.get(2), 1, 'SHA256');
    assert.ok(Math.abs((created.get(1) as number) - Date.now() / 1000) < 120);
    assert.equal((version.get(4) as Buffer).toString(), t.admin.identity);
    keyBytes = secret.get(1) as Buffer;
  });

  test('the server\'s ciphertexts decrypt with the key from the file (protocol.md §8.4)', async () => {
    const aad = Buffer.from('bucket/object');
    const plaintext = Buffer.from('interop plaintext');
    const r = await t.client().request('PUT', '/v1/key/encrypt/interop', { plaintext: plaintext.toString('base64'), context: aad.toString('base64') });
    const ciphertext = Buffer.from(r.json().ciphertext, 'base64');
    assert.equal(ciphertext.length, plaintext.length + 44);
    assert.deepEqual(aesOpen(keyBytes, ciphertext, aad), plaintext);
    const g = (await t.client().request('PUT', '/v1/key/generate/interop', { context: aad.toString('base64') })).json();
    assert.deepEqual(aesOpen(keyBytes, Buffer.from(g.ciphertext, 'base64'), aad), Buffer.from(g.plaintext, 'base64'));
  });

  test('the server decrypts ciphertexts made here in the raw, MessagePack and JSON formats', async () => {
    const aad = Buffer.from('context');
    const plaintext = randomBytes(48);
    const formats: [string, Buffer][] = [];
    let s = aesSeal(keyBytes, plaintext, aad);
    formats.push(['raw', Buffer.concat([s.sealed, s.iv, s.nonce])]);
    s = aesSeal(keyBytes, plaintext, aad);
    formats.push(['msgpack', Buffer.concat([Buffer.of(0x95), msgpackStr('AES256-GCM_SHA256'), msgpackStr('0'.repeat(32)), msgpackBin(s.iv), msgpackBin(s.nonce), msgpackBin(s.sealed)])]);
    s = aesSeal(keyBytes, plaintext, aad);
    formats.push(['json', Buffer.from(JSON.stringify({ aead: 'AES-256-GCM-HMAC-SHA-256', id: '', iv: s.iv.toString('base64'), nonce: s.nonce.toString('base64'), bytes: s.sealed.toString('base64') }))]);
    for (const [format, ciphertext] of formats) {
      const r = await t.client().request('PUT', '/v1/key/decrypt/interop', { ciphertext: ciphertext.toString('base64'), context: aad.toString('base64') });
      assert.equal(r.status, 200, `${format}: ${r.body}`);
      assert.deepEqual(Buffer.from(r.json().plaintext, 'base64'), plaintext, format);
      const wrong = await t.client().request('PUT', '/v1/key/decrypt/interop', { ciphertext: ciphertext.toString('base64') });
      assert.equal(wrong.status, 400, `${format} without context`);
    }
  });
});
