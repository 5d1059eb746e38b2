/**
 * MinKMS's key commands (docs/minkms.md–§10, docs/minkms.md "Keys", "Listings") through the
 * SDK's KmsClient against a real server: create, import, versions, status, listing pages,
 * encryption across rotations, data keys, MACs, deletes, and the default enclave being KES's
 * keys while other enclaves' keys stay apart.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KmsClient } from '../../src/client/kms-client.js';
import { KesError } from '../../src/api/errors.js';
import { CMD } from '../../src/kms/commands.js';
import * as M from '../../src/kms/messages.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestClient } from '../helpers/https-client.js';
import { assertKmsError, frame, post, rawOf, SENTINELS, type RawClient } from '../helpers/minkms.js';

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
const h1 = (hexId: string) => `h1:${Buffer.from(hexId, 'hex').toString('base64url')}`;

describe('MinKMS keys', () => {
  let t: TestServer;
  let kms: KmsClient;
  let kes: TestClient;
  let raw: RawClient;
  before(async () => {
    t = await startTestServer();
    kms = new KmsClient({ endpoints: `https://127.0.0.1:${t.port}`, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem });
    kes = t.client();
    raw = rawOf(t, t.admin);
  });
  after(async () => {
    kms.close();
    raw.close();
    await t.close();
  });

  /** The error a call fails with: [code, status, message]. */
  const failure = async (p: Promise<unknown>, what = ''): Promise<[string, number, string]> => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof KesError, `${what}: not a KesError: ${String(err)}`);
      return [err.code, err.status, err.message];
    }
    return assert.fail(`${what}: no error`);
  };
  const NOT_FOUND = ['KES_ERR_KEY_NOT_FOUND', ...SENTINELS.keyNotFound];
  const versions = async (name: string, enclave?: string) => {
    const out: number[] = [];
    for (let v = 1; v <= 12; v++) {
      try {
        out.push((await kms.keyStatus(name, { version: v, ...(enclave !== undefined && { enclave }) })).version);
      } catch (err) {
        if (!(err instanceof KesError && err.code === 'KES_ERR_KEY_NOT_FOUND')) throw err;
      }
    }
    return out;
  };

  test('create: version 1, AES256 by default or the type asked for, by the caller; again is 409', async () => {
    await kms.createKey('c-1');
    await kms.createKey('c-2', { type: 'ChaCha20' });
    await kms.createKey('c-3', { type: 'AES256' });
    const [s1, s2, s3] = await kms.keyStatus(['c-1', 'c-2', 'c-3']);
    assert.deepEqual([s1!.version, s1!.type, s1!.createdBy], [1, 'AES256', h1(t.admin.identity)]);
    assert.deepEqual([s2!.version, s2!.type], [1, 'ChaCha20']);
    assert.deepEqual([s3!.version, s3!.type], [1, 'AES256']);
    assert.deepEqual(await failure(kms.createKey('c-1')), ['KMS_ERR_KEY_EXISTS', ...SENTINELS.keyExists]);
    assert.deepEqual(await failure(kms.createKey('c-1', { type: 'ChaCha20' })), ['KMS_ERR_KEY_EXISTS', ...SENTINELS.keyExists]);
    assert.equal((await kms.keyStatus('c-1')).type, 'AES256', 'not replaced');
  });

  test('create refuses unknown types and invalid names with 400', async () => {
    assertKmsError(await post(raw, '/v1/kms', frame(CMD.KEY_CREATE, M.CreateKeyRequest.encode({ name: 'c-bad', type: 'DES' }))), 400, "invalid request: unsupported key type 'DES'");
    for (const name of ['', 'a.b', '-x', 'a/b', 'x'.repeat(81)]) {
      const [code, status] = await failure(kms.createKey(name), name);
      assert.deepEqual([code, status], ['KMS_ERR_BAD_REQUEST', 400], name);
    }
    assert.deepEqual(await failure(kms.keyStatus('c-bad')), NOT_FOUND);
  });

  test('import: the given material is the key (the KES API\'s import of the same bytes decrypts it)', async () => {
    const material = Buffer.alloc(32, 0x5a);
    await kms.importKey('imp-a', material, 'AES256');
    assert.equal((await kes.request('PUT', '/v1/key/import/imp-b', { key: b64(material), cipher: 'AES256' })).status, 200);
    const e = await kms.encrypt('imp-a', Buffer.from('secret'), { associatedData: Buffer.from('ctx') });
    const d = await kes.request('PUT', '/v1/key/decrypt/imp-b', { ciphertext: b64(e.ciphertext), context: b64('ctx') });
    assert.equal(d.status, 200, d.body);
    assert.equal(Buffer.from(d.json().plaintext, 'base64').toString(), 'secret');
    // Another key does not decrypt it.
    await kms.importKey('imp-c', Buffer.alloc(32, 0x5b), 'AES256');
    assert.deepEqual(await failure(kms.decrypt('imp-c', e.ciphertext, { associatedData: Buffer.from('ctx') })), ['KMS_ERR_DECRYPT', ...SENTINELS.decrypt]);
    await kms.importKey('imp-d', Buffer.alloc(32, 1), 'ChaCha20');
    assert.equal((await kms.keyStatus('imp-d')).type, 'ChaCha20');
    assert.deepEqual(await failure(kms.importKey('imp-a', material)), ['KMS_ERR_KEY_EXISTS', ...SENTINELS.keyExists]);
    assert.deepEqual(await failure(kms.importKey('imp-e', Buffer.alloc(16))), ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: invalid key size']);
    assert.deepEqual(await failure(kms.keyStatus('imp-e')), NOT_FOUND);
  });

  test('add version: the next number; status of each version and of the latest; a missing key is 404', async () => {
    await kms.createKey('v-1');
    await kms.createKey('v-1', { addVersion: true });
    await kms.createKey('v-1', { addVersion: true, type: 'ChaCha20' });
    const latest = await kms.keyStatus('v-1');
    assert.deepEqual([latest.version, latest.type], [3, 'ChaCha20']);
    assert.deepEqual(await versions('v-1'), [1, 2, 3]);
    assert.deepEqual(
      (await kms.keyStatus([{ name: 'v-1', version: 1 }, { name: 'v-1', version: 2 }, 'v-1'])).map((s) => [s.version, s.type]),
      [
        [1, 'AES256'],
        [2, 'AES256'],
        [3, 'ChaCha20'],
      ],
    );
    assert.deepEqual(await failure(kms.keyStatus('v-1', { version: 4 })), NOT_FOUND);
    assert.deepEqual(await failure(kms.createKey('v-missing', { addVersion: true })), NOT_FOUND);
    assert.deepEqual(await failure(kms.keyStatus('v-missing')), NOT_FOUND, 'AddVersion does not create a key');
  });

  describe('listing pages (§10)', () => {
    const E = 'paging';
    const names = Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
    let k: KmsClient;
    before(async () => {
      await kms.createEnclave(E);
      k = new KmsClient({ endpoints: `https://127.0.0.1:${t.port}`, ca: t.pki.ca.certPem, cert: t.admin.certPem, key: t.admin.keyPem, enclave: E });
      for (const n of [...names].reverse()) await k.createKey(n);
      await k.createKey('pagf');
      await k.createKey('other');
      await k.createKey('page-03', { addVersion: true });
    });
    after(() => k.close());

    const page = async (o: { prefix?: string; continueAt?: string; limit?: number }) => {
      const p = await k.listKeys(o);
      return [p.items.map((i) => i.name), p.continueAt];
    };

    test('pages of limit items in ascending order; continue_at names the first item not returned, "" at the end', async () => {
      assert.deepEqual(await page({ prefix: 'page-', limit: 10 }), [names.slice(0, 10), 'page-10']);
      assert.deepEqual(await page({ prefix: 'page-', limit: 10, continueAt: 'page-10' }), [names.slice(10, 20), 'page-20']);
      assert.deepEqual(await page({ prefix: 'page-', limit: 10, continueAt: 'page-20' }), [names.slice(20), '']);
      assert.deepEqual(await page({ prefix: 'page-', limit: 25 }), [names, ''], 'exactly full: complete');
    });

    test('limit 0 is the server default (at least 1000): everything in one page', async () => {
      assert.deepEqual(await page({}), [[...names, 'pagf', 'other'].sort(), '']);
    });

    test('continue_at is inclusive; between names the page starts at the next one', async () => {
      assert.deepEqual(await page({ prefix: 'page-', limit: 3, continueAt: 'page-05' }), [['page-05', 'page-06', 'page-07'], 'page-08']);
      assert.deepEqual(await page({ prefix: 'page-', limit: 2, continueAt: 'page-055' }), [['page-06', 'page-07'], 'page-08']);
      assert.deepEqual(await page({ prefix: '', limit: 2, continueAt: 'page-24' }), [['page-24', 'pagf'], '']);
    });

    test('a continue_at that does not start with the prefix gives an empty page', async () => {
      assert.deepEqual(await page({ prefix: 'page-', continueAt: 'other' }), [[], '']);
      assert.deepEqual(await page({ prefix: 'page-', continueAt: 'zzz' }), [[], '']);
    });

    test('one trailing * of the prefix is ignored (MinIO passes patterns); * alone lists all', async () => {
      assert.deepEqual(await page({ prefix: 'page-1*' }), [names.slice(10, 20), '']);
      assert.deepEqual(await page({ prefix: 'page-1' }), [names.slice(10, 20), '']);
      assert.deepEqual(await page({ prefix: '*' }), await page({ prefix: '' }));
      assert.deepEqual(await page({ prefix: 'pag*' }), [[...names, 'pagf'], '']);
    });

    test('each key is described by its latest version', async () => {
      const p = await k.listKeys({ prefix: 'page-0', limit: 4 });
      assert.deepEqual(p.items.map((i) => [i.name, i.version, i.type, i.createdBy]), [
        ['page-00', 1, 'AES256', h1(t.admin.identity)],
        ['page-01', 1, 'AES256', h1(t.admin.identity)],
        ['page-02', 1, 'AES256', h1(t.admin.identity)],
        ['page-03', 2, 'AES256', h1(t.admin.identity)],
      ]);
    });

    test('the iterator walks every page', async () => {
      const seen: string[] = [];
      for await (const key of k.iterateKeys({ prefix: 'page-', limit: 7 })) seen.push(key.name);
      assert.deepEqual(seen, names);
    });
  });

  test('after rotations, MinIO\'s decrypt (version 0) opens ciphertexts of every live version', async () => {
    await kms.createKey('rot');
    const aad = Buffer.from('{"bucket":"b"}');
    const sealed: M.EncryptResponse[] = [];
    sealed.push(await kms.encrypt('rot', Buffer.from('v1'), { associatedData: aad }));
    await kms.createKey('rot', { addVersion: true });
    sealed.push(await kms.encrypt('rot', Buffer.from('v2'), { associatedData: aad }));
    await kms.createKey('rot', { addVersion: true });
    sealed.push(await kms.encrypt('rot', Buffer.from('v3'), { associatedData: aad }));
    const byOne = await kms.encrypt('rot', Buffer.from('by-1'), { version: 1, associatedData: aad });
    assert.deepEqual([...sealed.map((s) => s.version), byOne.version], [1, 2, 3, 1]);
    for (const [i, s] of sealed.entries()) {
      assert.equal((await kms.decrypt('rot', s.ciphertext, { associatedData: aad })).toString(), `v${i + 1}`, 'version 0');
      assert.equal((await kms.decrypt('rot', s.ciphertext, { associatedData: aad, version: s.version })).toString(), `v${i + 1}`, 'its version');
    }
    assert.equal((await kms.decrypt('rot', byOne.ciphertext, { associatedData: aad })).toString(), 'by-1');
    // Wrong associated data, a modified ciphertext, and a version the key does not have.
    assert.deepEqual(await failure(kms.decrypt('rot', sealed[1]!.ciphertext, { associatedData: Buffer.from('{}') })), ['KMS_ERR_DECRYPT', ...SENTINELS.decrypt]);
    const tampered = Buffer.from(sealed[2]!.ciphertext);
    tampered[tampered.length - 1]! ^= 1;
    assert.deepEqual(await failure(kms.decrypt('rot', tampered, { associatedData: aad })), ['KMS_ERR_DECRYPT', ...SENTINELS.decrypt]);
    assert.deepEqual(await failure(kms.decrypt('rot', sealed[0]!.ciphertext, { associatedData: aad, version: 9 })), NOT_FOUND);
    assert.deepEqual(await failure(kms.encrypt('rot', Buffer.from('x'), { version: 9 })), NOT_FOUND);
    // Empty and absent associated data are the same bytes on the wire.
    const none = await kms.encrypt('rot', Buffer.from('n'));
    assert.equal((await kms.decrypt('rot', none.ciphertext, { associatedData: Buffer.alloc(0) })).toString(), 'n');
    // A deleted version's ciphertexts no longer decrypt; the others still do.
    await kms.deleteKey('rot', { version: 1 });
    assert.deepEqual(await failure(kms.decrypt('rot', sealed[0]!.ciphertext, { associatedData: aad })), ['KMS_ERR_DECRYPT', ...SENTINELS.decrypt]);
    assert.equal((await kms.decrypt('rot', sealed[1]!.ciphertext, { associatedData: aad })).toString(), 'v2');
  });

  test('generate: length 0 is 32, 1 to 1024 as asked, 1025 is 400; the data key decrypts with its associated data', async () => {
    await kms.createKey('gen');
    const aad = Buffer.from('{}');
    for (const [length, expected] of [
      [0, 32],
      [undefined, 32],
      [1, 1],
      [1024, 1024],
    ] as const) {
      const dk = await kms.generateKey('gen', { associatedData: aad, ...(length !== undefined && { length }) });
      assert.deepEqual([dk.version, dk.plaintext.length], [1, expected], `length ${length}`);
      assert.deepEqual(await kms.decrypt('gen', dk.ciphertext, { associatedData: aad }), dk.plaintext);
    }
    const a = await kms.generateKey('gen');
    const b = await kms.generateKey('gen');
    assert.notDeepEqual(a.plaintext, b.plaintext, 'fresh every time');
    assert.deepEqual(await failure(kms.generateKey('gen', { length: 1025 })), ['KMS_ERR_BAD_REQUEST', 400, 'invalid request: data key length must be 1 to 1024 bytes']);
    assert.deepEqual(await failure(kms.generateKey('gen-missing')), NOT_FOUND);
    await kms.createKey('gen', { addVersion: true });
    const old = await kms.generateKey('gen', { version: 1 });
    const latest = await kms.generateKey('gen');
    assert.deepEqual([old.version, latest.version], [1, 2]);
    assert.deepEqual(await kms.decrypt('gen', old.ciphertext), old.plaintext);
  });

  test('MAC: deterministic per version and message; version 1\'s is KES\'s HMAC; another version MACs differently', async () => {
    await kms.createKey('mac');
    const m = Buffer.from('root credentials');
    const a = await kms.mac('mac', m);
    const b = await kms.mac('mac', m);
    assert.deepEqual([a.version, a.mac.length], [1, 32]);
    assert.deepEqual(a.mac, b.mac);
    assert.notDeepEqual((await kms.mac('mac', Buffer.from('other'))).mac, a.mac);
    const h = await kes.request('PUT', '/v1/key/hmac/mac', { message: b64(m) });
    assert.equal(h.json().hmac, b64(a.mac), 'the KES API\'s HMAC of the key');
    await kms.createKey('mac', { addVersion: true });
    const v2 = await kms.mac('mac', m);
    const v1 = await kms.mac('mac', m, { version: 1 });
    assert.deepEqual([v2.version, v1.version], [2, 1]);
    assert.deepEqual(v1.mac, a.mac, 'version 1 MACs as before the rotation');
    assert.notDeepEqual(v2.mac, a.mac);
    assert.deepEqual((await kms.mac('mac', m)).mac, v2.mac);
    assert.equal((await kes.request('PUT', '/v1/key/hmac/mac', { message: b64(m) })).json().hmac, b64(a.mac), 'KES\'s HMAC does not change with a rotation');
  });

  test('delete: a version, the latest, the last remaining one (the key goes), all versions', async () => {
    await kms.createKey('del');
    for (let i = 0; i < 3; i++) await kms.createKey('del', { addVersion: true });
    await kms.deleteKey('del', { version: 2 });
    assert.deepEqual(await versions('del'), [1, 3, 4]);
    assert.deepEqual(await failure(kms.deleteKey('del', { version: 2 })), NOT_FOUND, 'gone already');
    await kms.deleteKey('del'); // the latest: 4
    assert.deepEqual(await versions('del'), [1, 3]);
    assert.equal((await kms.keyStatus('del')).version, 3);
    await kms.deleteKey('del', { version: 0 }); // the latest again: 3
    assert.deepEqual(await versions('del'), [1]);
    await kms.deleteKey('del'); // the last remaining version: the key goes
    assert.deepEqual(await failure(kms.keyStatus('del')), NOT_FOUND);
    assert.deepEqual((await kms.listKeys({ prefix: 'del' })).items, []);
    assert.deepEqual(await failure(kms.deleteKey('del')), NOT_FOUND);
    // The name is free again: a new key of version 1.
    await kms.createKey('del');
    assert.equal((await kms.keyStatus('del')).version, 1);

    await kms.createKey('del-all');
    await kms.createKey('del-all', { addVersion: true });
    await kms.deleteKey('del-all', { allVersions: true });
    assert.deepEqual(await failure(kms.keyStatus('del-all', { version: 1 })), NOT_FOUND);
    assert.deepEqual(await failure(kms.deleteKey('del-all', { allVersions: true })), NOT_FOUND);
    assert.deepEqual(await failure(kms.deleteKey('no-such-key', { version: 1 })), NOT_FOUND);
    // AllVersions with a version is refused (the SDK refuses it client-side; sent raw here).
    await kms.createKey('del-odd');
    const odd = await post(raw, '/v1/kms', frame(CMD.KEY_DELETE, M.DeleteKeyRequest.encode({ name: 'del-odd', version: 1, allVersions: true })));
    assertKmsError(odd, 400, 'invalid request: version must be 0 when all versions are deleted');
    assert.equal((await kms.keyStatus('del-odd')).version, 1);
  });

  test('version numbers are never given twice: delete version 2 of {1, 2}, then AddVersion gives 3', async () => {
    await kms.createKey('reuse');
    await kms.createKey('reuse', { addVersion: true });
    await kms.deleteKey('reuse', { version: 2 });
    await kms.createKey('reuse', { addVersion: true });
    assert.deepEqual(await versions('reuse'), [1, 3]);
    // Also when the latest is deleted as "version 0".
    await kms.deleteKey('reuse');
    await kms.createKey('reuse', { addVersion: true });
    assert.deepEqual(await versions('reuse'), [1, 4]);
  });

  test('a key created through the KES API is the same key through MinKMS (default enclave): versions and ciphertexts both ways', async () => {
    assert.equal((await kes.request('PUT', '/v1/key/create/interop')).status, 200);
    const s = await kms.keyStatus('interop');
    assert.deepEqual([s.name, s.version, s.type, s.createdBy], ['interop', 1, 'AES256', h1(t.admin.identity)]);
    const ctx = Buffer.from('{"bucket":"b","object":"o"}');
    const kesDk = (await kes.request('PUT', '/v1/key/generate/interop', { context: b64(ctx) })).json();
    assert.deepEqual(await kms.decrypt('interop', Buffer.from(kesDk.ciphertext, 'base64'), { associatedData: ctx }), Buffer.from(kesDk.plaintext, 'base64'));

    assert.deepEqual((await kes.request('PUT', '/v1/key/rotate/interop')).json(), { version: 2 });
    assert.equal((await kms.keyStatus('interop')).version, 2);
    await kms.createKey('interop', { addVersion: true });
    const described = (await kes.request('GET', '/v1/key/describe/interop')).json();
    assert.deepEqual(described.versions.map((v: { version: number }) => v.version), [1, 2, 3]);

    const kmsDk = await kms.generateKey('interop', { associatedData: ctx });
    assert.equal(kmsDk.version, 3);
    const d = await kes.request('PUT', '/v1/key/decrypt/interop', { ciphertext: b64(kmsDk.ciphertext), context: b64(ctx) });
    assert.equal(d.status, 200, d.body);
    assert.equal(d.json().plaintext, b64(kmsDk.plaintext));
    // The KES data key of version 1 still decrypts through MinKMS (version 0) after both rotations.
    assert.deepEqual(await kms.decrypt('interop', Buffer.from(kesDk.ciphertext, 'base64'), { associatedData: ctx }), Buffer.from(kesDk.plaintext, 'base64'));

    // A MinKMS key is a KES key; a MinKMS delete is seen by the KES API.
    await kms.createKey('interop-2');
    const listed = (await kes.request('GET', '/v1/key/list/interop*')).json();
    assert.deepEqual(listed.names, ['interop', 'interop-2']);
    await kms.deleteKey('interop-2', { allVersions: true });
    assert.equal((await kes.request('GET', '/v1/key/describe/interop-2')).status, 404);
    assert.equal((await kes.request('DELETE', '/v1/key/delete/interop')).status, 200);
    assert.deepEqual(await failure(kms.keyStatus('interop')), NOT_FOUND);
  });

  test('keys of a created enclave are invisible to the KES API and to other enclaves', async () => {
    await kms.createEnclave('iso-a');
    await kms.createEnclave('iso-b');
    await kms.createKey('iso-key', { enclave: 'iso-a' });
    await kms.createKey('iso-key', { enclave: 'iso-b' });
    await kms.createKey('iso-only-a', { enclave: 'iso-a' });
    // The KES API (default enclave) sees none of them, nor openkes's own entries.
    const kesList = (await kes.request('GET', '/v1/key/list/*')).json().names as string[];
    for (const n of kesList) assert.ok(!n.startsWith('-') && !n.startsWith('iso'), `KES lists '${n}'`);
    assert.equal((await kes.request('GET', '/v1/key/describe/iso-key')).status, 404);
    assert.deepEqual(await failure(kms.keyStatus('iso-only-a')), NOT_FOUND, 'default enclave');
    for (const n of (await kms.listKeys()).items) assert.ok(!n.name.startsWith('-') && !n.name.startsWith('iso'), `default lists '${n.name}'`);
    // Other enclaves neither.
    assert.deepEqual(await failure(kms.keyStatus('iso-only-a', { enclave: 'iso-b' })), NOT_FOUND);
    assert.deepEqual((await kms.listKeys({ enclave: 'iso-b' })).items.map((k) => k.name), ['iso-key']);
    assert.deepEqual((await kms.listKeys({ enclave: 'iso-a' })).items.map((k) => k.name), ['iso-key', 'iso-only-a']);
    // The same name is a different key in each enclave.
    const e = await kms.encrypt('iso-key', Buffer.from('a'), { enclave: 'iso-a' });
    assert.deepEqual(await failure(kms.decrypt('iso-key', e.ciphertext, { enclave: 'iso-b' })), ['KMS_ERR_DECRYPT', ...SENTINELS.decrypt]);
    assert.equal((await kms.decrypt('iso-key', e.ciphertext, { enclave: 'iso-a' })).toString(), 'a');
    // A KES key of the same name is yet another.
    assert.equal((await kes.request('PUT', '/v1/key/create/iso-key')).status, 200);
    assert.equal((await kes.request('PUT', '/v1/key/decrypt/iso-key', { ciphertext: b64(e.ciphertext) })).status, 400);
  });
});
