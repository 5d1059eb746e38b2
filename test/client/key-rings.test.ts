/** The SDK's key ring methods against a real server: rotateKey, versions in describeKey, deleteKey({version}), rewrap. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { KesClient, isKesError, ApiKey, ConnectionError } from '../../src/client/index.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** The header of a ciphertext sealed with version n ≥ 2 (docs/key-rings.md). */
const header = (n: number) => Buffer.concat([Buffer.from('6f6b7601', 'hex'), Buffer.from([0, 0, 0, n])]);

describe('KesClient key rings', () => {
  let t: TestServer;
  let kes: KesClient;
  let app: KesClient;
  const adminKey = ApiKey.generate();
  const appKey = ApiKey.generate();
  const context = Buffer.from('bucket/object');

  before(async () => {
    t = await startTestServer((config) => {
      config.admin = adminKey.identity;
      config.policies = { app: { allow: ['/v1/key/generate/app-*', '/v1/key/rewrap/app-*'], deny: [], identities: [appKey.identity] } };
    });
    kes = new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: adminKey, ca: t.pki.ca.certPem });
    app = new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: appKey, ca: t.pki.ca.certPem });
  });
  after(async () => {
    kes.close();
    app.close();
    await t.close();
  });

  test('a key never rotated is version 1, described by KES\'s fields', async () => {
    await kes.createKey('plain');
    const k = await kes.describeKey('plain');
    assert.equal(k.version, 1);
    assert.deepEqual(k.versions, [{ version: 1, algorithm: 'AES256', createdAt: k.createdAt, createdBy: adminKey.identity }]);
  });

  test('rotateKey adds a version with random bytes; data of every version decrypts', async () => {
    await kes.createKey('rot');
    const v1 = await kes.generateKey('rot', context);
    assert.equal(await kes.rotateKey('rot'), 2);
    const v2 = await kes.generateKey('rot', context);
    assert.deepEqual(v2.ciphertext.subarray(0, 8), header(2), 'new data is sealed with version 2');
    assert.equal(await kes.rotateKey('rot'), 3);
    for (const dk of [v1, v2]) assert.deepEqual(await kes.decrypt('rot', dk.ciphertext, context), dk.plaintext);
  });

  test('rotateKey with key and cipher uses those bytes (bring your own key)', async () => {
    await kes.createKey('byo');
    const bytes = Buffer.alloc(32, 9);
    assert.equal(await kes.rotateKey('byo', { key: bytes, cipher: 'ChaCha20' }), 2);
    assert.equal(await kes.rotateKey('byo', { key: Buffer.alloc(32, 10) }), 3, 'cipher defaults to AES256');
    const k = await kes.describeKey('byo');
    assert.deepEqual(k.versions.map((v) => [v.version, v.algorithm]), [[1, 'AES256'], [2, 'ChaCha20'], [3, 'AES256']]);

    // Version 2's ciphertexts are KES's raw format under the given bytes, after the header: a
    // key imported with the same bytes opens them.
    await kes.rotateKey('byo', { key: bytes, cipher: 'ChaCha20' });
    const sealed = await kes.encrypt('byo', Buffer.from('mine'), context);
    assert.deepEqual(sealed.subarray(0, 8), header(4));
    await kes.importKey('byo-copy', bytes, 'ChaCha20');
    assert.equal((await kes.decrypt('byo-copy', sealed.subarray(8), context)).toString(), 'mine');
  });

  test('describeKey lists the versions; KES\'s fields are the latest version\'s', async () => {
    await kes.createKey('desc');
    await kes.rotateKey('desc', { key: Buffer.alloc(32, 1), cipher: 'ChaCha20' });
    const k = await kes.describeKey('desc');
    assert.equal(k.name, 'desc');
    assert.equal(k.version, 2);
    assert.deepEqual(k.versions.map((v) => v.version), [1, 2]);
    for (const v of k.versions) {
      assert.ok(v.createdAt instanceof Date && Math.abs(v.createdAt.getTime() - Date.now()) < 60_000);
      assert.equal(v.createdBy, adminKey.identity);
    }
    assert.deepEqual([k.algorithm, k.createdAt, k.createdBy], [k.versions[1]!.algorithm, k.versions[1]!.createdAt, k.versions[1]!.createdBy]);
    assert.equal(k.versions[0]!.algorithm, 'AES256');
  });

  test('deleteKey with a version retires exactly that version', async () => {
    await kes.createKey('retire');
    const v1 = await kes.generateKey('retire', context);
    await kes.rotateKey('retire');
    const v2 = await kes.generateKey('retire', context);
    await kes.deleteKey('retire', { version: 1 });
    await assert.rejects(kes.decrypt('retire', v1.ciphertext, context), (e) => isKesError(e, 'KES_ERR_DECRYPT') && e.status === 400);
    assert.deepEqual(await kes.decrypt('retire', v2.ciphertext, context), v2.plaintext);
    const k = await kes.describeKey('retire');
    assert.deepEqual([k.version, k.versions.map((v) => v.version)], [2, [2]]);

    await assert.rejects(kes.deleteKey('retire', { version: 1 }), (e) => isKesError(e, 'KES_ERR_VERSION_NOT_FOUND') && e.status === 404);
    await assert.rejects(kes.deleteKey('retire', { version: 2 }), (e) => isKesError(e, 'KES_ERR_ONLY_VERSION') && e.status === 400);
    await assert.rejects(kes.deleteKey('nope', { version: 1 }), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND'));
    assert.equal((await kes.describeKey('retire')).version, 2, 'the key is still there');
  });

  test('deleteKey refuses a version that is not a version number, and never deletes the key instead', async () => {
    await kes.createKey('careful');
    for (const version of [0, -1, 1.5, 2 ** 32, Number.NaN, undefined]) {
      await assert.rejects(kes.deleteKey('careful', { version }), TypeError, String(version));
    }
    assert.equal((await kes.describeKey('careful')).name, 'careful');
    await kes.rotateKey('careful');
    await kes.deleteKey('careful');
    await assert.rejects(kes.describeKey('careful'), (e) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND'), 'plain deleteKey deletes every version');
  });

  test('rewrap seals a ciphertext of any version with the latest, bound to the same context', async () => {
    await kes.createKey('wrap');
    const v1 = await kes.generateKey('wrap', context);
    await kes.rotateKey('wrap');
    await kes.rotateKey('wrap');
    const rewrapped = await kes.rewrap('wrap', v1.ciphertext, context);
    assert.deepEqual(rewrapped.subarray(0, 8), header(3));
    await kes.deleteKey('wrap', { version: 1 });
    assert.deepEqual(await kes.decrypt('wrap', rewrapped, context), v1.plaintext, 'the rewrapped data key outlives version 1');
    await assert.rejects(kes.decrypt('wrap', rewrapped), (e) => isKesError(e, 'KES_ERR_DECRYPT'), 'still bound to the context');
    await assert.rejects(kes.rewrap('wrap', v1.ciphertext, context), (e) => isKesError(e, 'KES_ERR_DECRYPT'), 'version 1 is gone');

    // Without a context on either side.
    const sealed = await kes.encrypt('wrap', Buffer.from('no context'));
    assert.equal((await kes.decrypt('wrap', await kes.rewrap('wrap', sealed))).toString(), 'no context');
  });

  test('errors map through the catalogue', async () => {
    await kes.createKey('errs');
    await kes.createKey('app-key');
    const cases: [Promise<unknown>, string, number][] = [
      [kes.rotateKey('nope'), 'KES_ERR_KEY_NOT_FOUND', 404],
      [kes.rotateKey('errs', { key: Buffer.alloc(16) }), 'KES_ERR_INVALID_KEY_SIZE', 406],
      [kes.rotateKey('bad.name'), 'KES_ERR_INVALID_NAME', 400],
      [kes.rewrap('nope', Buffer.alloc(60)), 'KES_ERR_KEY_NOT_FOUND', 404],
      [kes.rewrap('errs', Buffer.alloc(60)), 'KES_ERR_DECRYPT', 400],
      [app.rotateKey('app-key'), 'KES_ERR_NOT_ALLOWED', 403],
      // Rewrap decrypts: the policy must allow /v1/key/decrypt/ too.
      [app.rewrap('app-key', Buffer.alloc(60)), 'KES_ERR_NOT_ALLOWED', 403],
      [app.deleteKey('app-key', { version: 1 }), 'KES_ERR_NOT_ALLOWED', 403],
    ];
    for (const [promise, code, status] of cases) {
      await assert.rejects(promise, (e) => isKesError(e) && e.code === code && e.status === status, code);
    }
    await assert.rejects(kes.rotateKey('errs', { cipher: 'ChaCha20' }), TypeError, 'a cipher without key bytes');
    assert.equal((await kes.describeKey('errs')).version, 1, 'no failed call rotated');
  });
});

describe('KesClient: rotations are not sent twice', () => {
  let t: TestServer;
  let swallower: tls.Server;
  let swallowed = 0;
  const adminKey = ApiKey.generate();
  before(async () => {
    t = await startTestServer((config) => {
      config.admin = adminKey.identity;
    });
    // An endpoint that takes a request and drops the connection without an answer: the request
    // may have been carried out there.
    swallower = tls.createServer({ key: t.pki.server.keyPem, cert: t.pki.server.certPem }, (socket) => {
      socket.once('data', () => {
        swallowed++;
        socket.destroy();
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => swallower.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    swallower.close();
    await t.close();
  });

  const client = (...endpoints: string[]) => new KesClient({ endpoints, apiKey: adminKey, ca: t.pki.ca.certPem });
  const lost = () => `127.0.0.1:${(swallower.address() as net.AddressInfo).port}`;

  test('an answer lost after the request was sent: no retry, no other endpoint; other calls fail over', async () => {
    const admin = client(`127.0.0.1:${t.port}`);
    await admin.createKey('once');
    const kes = client(lost(), `127.0.0.1:${t.port}`);
    try {
      const before = swallowed;
      await assert.rejects(kes.rotateKey('once'), (e: unknown) => e instanceof ConnectionError);
      assert.equal(swallowed - before, 1, 'sent once');
      assert.equal((await admin.describeKey('once')).version, 1, 'not rotated through the other endpoint');
      // A fresh client tries the endpoints in the given order again (a failed one goes last).
      const again = client(lost(), `127.0.0.1:${t.port}`);
      try {
        await assert.rejects(again.deleteKey('once', { version: 1 }), (e: unknown) => e instanceof ConnectionError);
        // A call that changes nothing fails over to the server that answers.
        const fresh = client(lost(), `127.0.0.1:${t.port}`);
        assert.equal((await fresh.describeKey('once')).version, 1);
        fresh.close();
      } finally {
        again.close();
      }
    } finally {
      kes.close();
      admin.close();
    }
  });

  test('a refused connection cannot have reached a server: the rotation goes to the next endpoint', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const kes = client(`127.0.0.1:${port}`, `127.0.0.1:${t.port}`);
    try {
      await kes.createKey('refused');
      assert.equal(await kes.rotateKey('refused'), 2);
    } finally {
      kes.close();
    }
  });
});
