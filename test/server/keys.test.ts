/** Key endpoints over real mTLS connections (protocol.md §6.6–§6.14, §7). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestClient } from '../helpers/https-client.js';
import { DECRYPT_VECTORS, KEY_Z } from '../helpers/vectors.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const errorBody = (message: string) => `{"message":${JSON.stringify(message)}\n}`;

describe('key API', () => {
  let t: TestServer;
  let c: TestClient;
  before(async () => {
    t = await startTestServer();
    c = t.client();
  });
  after(() => t.close());

  test('create (PUT or POST), then an existing name is 400 key already exists', async () => {
    let r = await c.request('PUT', '/v1/key/create/my-key');
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assert.equal(r.headers['content-length'], '0');
    r = await c.request('POST', '/v1/key/create/my-key-2');
    assert.equal(r.status, 200);
    r = await c.request('POST', '/v1/key/create/my-key');
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.body, errorBody('key already exists'));
  });

  test('describe: KES\'s name, algorithm, created_at, created_by, then the versions', async () => {
    await c.request('POST', '/v1/key/create/described');
    const before = Date.now();
    const r = await c.request('GET', '/v1/key/describe/described');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.ok(r.body.endsWith('}\n'));
    const d = r.json();
    assert.deepEqual(Object.keys(d), ['name', 'algorithm', 'created_at', 'created_by', 'version', 'versions']);
    assert.equal(d.version, 1);
    assert.deepEqual(d.versions, [{ version: 1, algorithm: 'AES256', created_at: d.created_at, created_by: t.admin.identity }]);
    assert.equal(d.name, 'described');
    assert.equal(d.algorithm, 'AES256');
    assert.equal(d.created_by, t.admin.identity);
    assert.match(d.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    assert.ok(Math.abs(Date.parse(d.created_at) - before) < 60_000);
    const missing = await c.request('GET', '/v1/key/describe/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body, errorBody('key does not exist'));
  });

  test('invalid key names are 400 with KES\'s message', async () => {
    for (const [path, name] of [
      ['/v1/key/create/my.key', 'my.key'],
      ['/v1/key/describe/-a', '-a'],
      ['/v1/key/create/a%2Fb', 'a/b'],
      ['/v1/key/generate/' + 'x'.repeat(81), 'x'.repeat(81)],
    ] as const) {
      const r = await c.request(path.includes('generate') ? 'PUT' : path.includes('create') ? 'PUT' : 'GET', path);
      assert.equal(r.status, 400, path);
      assert.equal(r.json().message, `key name '${name}' is empty, too long or contains invalid characters`);
    }
  });

  test('generate: a fresh data key and its ciphertext, with and without a body', async () => {
    await c.request('POST', '/v1/key/create/dek-key');
    const context = b64('{"bucket":"b","object":"o"}');
    const r1 = await c.request('POST', '/v1/key/generate/dek-key', { context });
    const r2 = await c.request('PUT', '/v1/key/generate/dek-key');
    for (const r of [r1, r2]) {
      assert.equal(r.status, 200, r.body);
      const { plaintext, ciphertext } = r.json();
      assert.equal(Buffer.from(plaintext, 'base64').length, 32);
      assert.equal(Buffer.from(ciphertext, 'base64').length, 32 + 44);
    }
    assert.notEqual(r1.json().plaintext, r2.json().plaintext);
    const d = await c.request('POST', '/v1/key/decrypt/dek-key', { ciphertext: r1.json().ciphertext, context });
    assert.equal(d.json().plaintext, r1.json().plaintext);
    const wrong = await c.request('POST', '/v1/key/decrypt/dek-key', { ciphertext: r1.json().ciphertext });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body, errorBody('decryption failed: ciphertext is not authentic'));
  });

  test('encrypt and decrypt round trip; every ciphertext differs', async () => {
    await c.request('POST', '/v1/key/create/enc-key');
    const plaintext = b64(Buffer.alloc(1024));
    const context = b64(Buffer.alloc(80));
    const e1 = (await c.request('PUT', '/v1/key/encrypt/enc-key', { plaintext, context })).json().ciphertext;
    const e2 = (await c.request('PUT', '/v1/key/encrypt/enc-key', { plaintext, context })).json().ciphertext;
    assert.notEqual(e1, e2);
    for (const ciphertext of [e1, e2]) {
      const r = await c.request('PUT', '/v1/key/decrypt/enc-key', { ciphertext, context });
      assert.deepEqual(r.json(), { plaintext });
    }
  });

  test('bad bodies are 400 invalid request body; stored keys are untouched', async () => {
    await c.request('POST', '/v1/key/create/body-key');
    const before = (await c.request('GET', '/v1/key/describe/body-key')).json();
    for (const body of ['', 'not json', '[]', '{"plaintext":5}', '{"plaintext":"AA"}', '{"plaintext":"AAAA","context":"!!"}', '{"plaintext":"AA==" "x"}']) {
      const r = await c.request('PUT', '/v1/key/encrypt/body-key', body);
      assert.equal(r.status, 400, body);
      assert.equal(r.body, errorBody('invalid request body'), body);
    }
    for (const body of ['{"ciphertext":"AAAA"}', '{"ciphertext":""}', '{}', `{"ciphertext":"${b64(Buffer.alloc(100))}"}`]) {
      const r = await c.request('PUT', '/v1/key/decrypt/body-key', body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json().message, 'decryption failed: ciphertext is not authentic', body);
    }
    assert.deepEqual((await c.request('GET', '/v1/key/describe/body-key')).json(), before);
  });

  test('field names are matched case-insensitively as in Go', async () => {
    await c.request('POST', '/v1/key/create/case-key');
    const r = await c.request('PUT', '/v1/key/encrypt/case-key', `{"PlainText":"${b64('hi')}"}`);
    assert.equal(r.status, 200);
    const d = await c.request('PUT', '/v1/key/decrypt/case-key', `{"CIPHERTEXT":"${r.json().ciphertext}"}`);
    assert.equal(Buffer.from(d.json().plaintext, 'base64').toString(), 'hi');
  });

  test('hmac: 32 bytes, deterministic per key, different across keys', async () => {
    await c.request('POST', '/v1/key/create/mac-1');
    await c.request('POST', '/v1/key/create/mac-2');
    const message = b64('message');
    const h1 = (await c.request('PUT', '/v1/key/hmac/mac-1', { message })).json().hmac;
    const h1again = (await c.request('PUT', '/v1/key/hmac/mac-1', { message })).json().hmac;
    const h2 = (await c.request('PUT', '/v1/key/hmac/mac-2', { message })).json().hmac;
    assert.equal(Buffer.from(h1, 'base64').length, 32);
    assert.equal(h1, h1again);
    assert.notEqual(h1, h2);
  });

  test('import: {"key","cipher"}, legacy {"bytes"}, and the 406 errors', async () => {
    const key = b64(KEY_Z);
    assert.equal((await c.request('POST', '/v1/key/import/imp-aes', { key, cipher: 'AES256' })).status, 200);
    assert.equal((await c.request('POST', '/v1/key/import/imp-chacha', { key, cipher: 'ChaCha20' })).status, 200);
    assert.equal((await c.request('POST', '/v1/key/import/imp-xchacha', { key, cipher: 'XCHACHA20-POLY1305' })).status, 200);
    assert.equal((await c.request('POST', '/v1/key/import/imp-legacy', { bytes: key })).status, 200);
    assert.equal((await c.request('GET', '/v1/key/describe/imp-chacha')).json().algorithm, 'ChaCha20');
    assert.equal((await c.request('GET', '/v1/key/describe/imp-xchacha')).json().algorithm, 'ChaCha20');
    assert.equal((await c.request('GET', '/v1/key/describe/imp-legacy')).json().algorithm, 'AES256');

    let r = await c.request('POST', '/v1/key/import/imp-aes', { key, cipher: 'AES256' });
    assert.deepEqual([r.status, r.json().message], [400, 'key already exists']);
    r = await c.request('POST', '/v1/key/import/imp-bad', { key, cipher: 'DES' });
    assert.deepEqual([r.status, r.json().message], [406, "algorithm 'DES' is not supported"]);
    r = await c.request('POST', '/v1/key/import/imp-bad', { key: b64(Buffer.alloc(16)), cipher: 'AES256' });
    assert.deepEqual([r.status, r.json().message], [406, "invalid key size for 'AES256'"]);
    r = await c.request('POST', '/v1/key/import/imp-bad', 'not json');
    assert.deepEqual([r.status, r.json().message], [400, 'invalid import key request body']);
    r = await c.request('POST', '/v1/key/import/imp-bad', { key: 'not base64', cipher: 'AES256' });
    assert.deepEqual([r.status, r.json().message], [400, 'invalid import key request body']);
    assert.equal((await c.request('GET', '/v1/key/describe/imp-bad')).status, 404);
  });

  test('decrypts KES\'s ciphertexts of every format with imported keys (test-vectors.md §2.1)', async () => {
    await c.request('POST', '/v1/key/import/vec-aes', { key: b64(KEY_Z), cipher: 'AES256' });
    await c.request('POST', '/v1/key/import/vec-chacha', { key: b64(KEY_Z), cipher: 'ChaCha20' });
    for (const [i, v] of DECRYPT_VECTORS.entries()) {
      if (!v.key.equals(KEY_Z)) continue;
      const name = v.type === 'AES256' ? 'vec-aes' : 'vec-chacha';
      const r = await c.request('PUT', `/v1/key/decrypt/${name}`, { ciphertext: b64(v.ciphertext) });
      assert.equal(r.status, 200, `vector ${i}: ${r.body}`);
      assert.equal(r.json().plaintext, b64(v.plaintext!), `vector ${i}`);
    }
  });

  test('bulk decrypt (legacy): all in order, one failure fails all, at most 1000', async () => {
    await c.request('POST', '/v1/key/create/bulk-key');
    const items: { ciphertext: string; context: string }[] = [];
    for (const p of ['a', 'b', 'c']) {
      const context = b64(`ctx-${p}`);
      const ciphertext = (await c.request('PUT', '/v1/key/encrypt/bulk-key', { plaintext: b64(p), context })).json().ciphertext;
      items.push({ ciphertext, context });
    }
    let r = await c.request('POST', '/v1/key/bulk/decrypt/bulk-key', items);
    assert.deepEqual(r.json(), ['a', 'b', 'c'].map((p) => ({ plaintext: b64(p) })));
    r = await c.request('POST', '/v1/key/bulk/decrypt/bulk-key', [...items, { ciphertext: items[0]!.ciphertext }]);
    assert.equal(r.status, 400);
    r = await c.request('POST', '/v1/key/bulk/decrypt/bulk-key', Array.from({ length: 1001 }, () => items[0]));
    assert.deepEqual([r.status, r.json().message], [400, 'too many ciphertexts']);
  });

  test('list: sorted names, prefixes with a trailing * stripped, 301 from the bare path', async () => {
    for (const n of ['list-b', 'list-a', 'list-c1', 'list-c2']) await c.request('POST', `/v1/key/create/${n}`);
    let r = await c.request('GET', '/v1/key/list/list-*');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { names: ['list-a', 'list-b', 'list-c1', 'list-c2'] });
    r = await c.request('GET', '/v1/key/list/list-c');
    assert.deepEqual(r.json().names, ['list-c1', 'list-c2']);
    r = await c.request('GET', '/v1/key/list/*');
    assert.ok(r.json().names.includes('list-a'));
    r = await c.request('GET', '/v1/key/list/nothing-here*');
    assert.deepEqual(r.json(), { names: [] });

    r = await c.request('GET', '/v1/key/list?x=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/v1/key/list/?x=1');
    r = await c.request('GET', '/v1/key/list/');
    const all = r.json().names as string[];
    assert.deepEqual(all, [...all].sort());

    r = await c.request('GET', '/v1/key/list/*-*');
    assert.deepEqual([r.status, r.json().message], [400, "listing pattern '*-*' is empty, too long or is invalid"]);
  });

  test('list as NDJSON on Accept: application/x-ndjson (legacy MinIO)', async () => {
    const r = await c.request('GET', '/v1/key/list/list-c*', undefined, { accept: 'application/x-ndjson' });
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    assert.equal(r.body, '{"name":"list-c1"}\n{"name":"list-c2"}\n');
  });

  test('delete: then 404; deleting again is 404', async () => {
    await c.request('POST', '/v1/key/create/gone');
    await c.request('PUT', '/v1/key/encrypt/gone', { plaintext: b64('x') }); // cached now
    let r = await c.request('DELETE', '/v1/key/delete/gone');
    assert.equal(r.status, 200);
    r = await c.request('PUT', '/v1/key/encrypt/gone', { plaintext: b64('x') });
    assert.deepEqual([r.status, r.body], [404, errorBody('key does not exist')]);
    r = await c.request('DELETE', '/v1/key/delete/gone');
    assert.equal(r.status, 404);
  });

  test('the same API over HTTP/2', async () => {
    const h2 = t.http2();
    let r = await h2.request('POST', '/v1/key/create/h2-key');
    assert.equal(r.status, 200);
    r = await h2.request('POST', '/v1/key/encrypt/h2-key', { plaintext: b64('over h2') });
    const { ciphertext } = r.json();
    r = await h2.request('POST', '/v1/key/decrypt/h2-key', { ciphertext });
    assert.equal(Buffer.from(r.json().plaintext, 'base64').toString(), 'over h2');
    r = await h2.request('GET', '/v1/key/list/h2-*');
    assert.deepEqual(r.json(), { names: ['h2-key'] });
  });
});
