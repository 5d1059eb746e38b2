/**
 * The MinKMS wire protocol (docs/minkms.md–§11) against a real in-process server, over HTTP/1.1
 * and HTTP/2 (MinIO's transport negotiates HTTP/2): frames as bytes from the spec, the answer's
 * framing and headers, batches and the requests refused, paths, `/version`, health, the exact
 * error answers the SDK's sentinels compare, and the identity of §2.4. Then the SDK's KmsClient
 * against the same server and against fakes that answer wrongly.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { BackupKey } from '../../src/backup/backup-key.js';
import { KmsClient } from '../../src/client/kms-client.js';
import { ConnectionError } from '../../src/client/errors.js';
import { KesError } from '../../src/api/errors.js';
import { CMD } from '../../src/kms/commands.js';
import * as M from '../../src/kms/messages.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestCert, TestPki } from '../helpers/certs.js';
import { createTestPki } from '../helpers/certs.js';
import { answerOf, assertKmsError, certificateOfApiKey, frame, post, PROTOCOLS, rawOf, SENTINELS, type RawClient } from '../helpers/minkms.js';

/** docs/minkms.md */
const K1 = 'k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const K1_KES = 'kes:v1:AAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';
const K1_HEX = 'a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5';
const K1_H1 = 'h1:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU';
const K2 = 'k2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const K2_H1 = 'h1:qPDLDm2YqNmz2tOtZplAjSBFA3PYtU2NYVmst6Pp6lg';

/** An identity nobody has: 32 zero bytes. */
const UNKNOWN_H1 = `h1:${Buffer.alloc(32).toString('base64url')}`;

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const h1 = (hexId: string) => `h1:${Buffer.from(hexId, 'hex').toString('base64url')}`;
/** One frame of a command with its message. */
/** The host a request names (HTTP/1.1 Host, HTTP/2 :authority), which /version answers as `host`. */
const HOST = (p: string): Record<string, string> => (p === 'HTTP/2' ? { ':authority': 'kms.example.net:7373' } : { host: 'kms.example.net:7373' });
const cmd = <T>(command: number, codec: M.MessageCodec<T>, msg: Partial<T>) => frame(command, codec.encode(msg));

for (const protocol of PROTOCOLS) {
  describe(`MinKMS protocol over ${protocol}`, () => {
    let t: TestServer;
    let c: RawClient;
    let nobody: TestCert;
    const clients: RawClient[] = [];
    const raw = (cert: Parameters<typeof rawOf>[1]) => {
      const r = rawOf(t, cert, protocol);
      clients.push(r);
      return r;
    };
    before(async () => {
      t = await startTestServer();
      c = raw(t.admin);
      nobody = t.pki.client({ commonName: 'nobody' });
    });
    after(async () => {
      for (const r of clients) r.close();
      await t.close();
    });

    test('the worked frames of §5.4, sent as bytes, are understood', async () => {
      // KEY:CREATE {Name my-key}, written by hand: 00c9 00000008 0a06 "my-key".
      answerOf(await post(c, '/v1/kms', hex('00c9 00000008 0a066d792d6b6579')), [201]);
      // KEY:GENERATE {Name my-key, AssociatedData {}, Length 32}.
      const [gen] = answerOf(await post(c, '/v1/kms', hex('00cf 0000000e 0a066d792d6b6579 1a027b7d 2020')), [207]);
      const g = M.GenerateKeyResponse.decode(gen!);
      assert.equal(g.version, 1);
      assert.equal(g.plaintext.length, 32);
      // The data key decrypts with the same associated data (KEY:DECRYPT, version 0 as MinIO sends it).
      const [dec] = answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'my-key', ciphertext: g.ciphertext, associatedData: Buffer.from('{}') })), [206]);
      assert.deepEqual(M.DecryptResponse.decode(dec!).plaintext, g.plaintext);

      // KEY:STATUS ×2 {k1} {k2, Version 2}.
      answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'k1' })), [201]);
      answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'k2' })), [201]);
      answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'k2', addVersion: true })), [201]);
      const statuses = answerOf(await post(c, '/v1/kms', hex('00cc 00000004 0a026b31 00cc 00000006 0a026b32 1002')), [204, 204]);
      const [s1, s2] = statuses.map((p) => M.KeyStatusResponse.decode(p));
      assert.deepEqual([s1!.name, s1!.version, s1!.type, s1!.createdBy], ['k1', 1, 'AES256', h1(t.admin.identity)]);
      assert.deepEqual([s2!.name, s2!.version, s2!.type], ['k2', 2, 'AES256']);
      assert.ok(s1!.createdAt && Math.abs(s1!.createdAt.toMillis() - Date.now()) < 60_000, 'created now');

      // KEY:LIST {Prefix a, Limit 0}: one frame, nothing after it.
      answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'a-key' })), [201]);
      const [list] = answerOf(await post(c, '/v1/kms', hex('00d0 00000003 0a0161')), [208]);
      const l = M.ListKeysResponse.decode(list!);
      assert.deepEqual(l.keys.map((k) => k.name), ['a-key']);
      assert.equal(l.continueAt, '');
    });

    test('a KEY:ENCRYPT answer is laid out as §5.4 shows: 00cd, length, 08 version, 12 ciphertext', async () => {
      answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'enc-layout' })), [201]);
      const r = await post(c, '/v1/kms', cmd(CMD.KEY_ENCRYPT, M.EncryptRequest, { name: 'enc-layout', plaintext: Buffer.from('dead', 'hex') }));
      answerOf(r, [205]);
      assert.equal(r.body.subarray(0, 2).toString('hex'), '00cd');
      assert.equal(r.body.readUInt32BE(2), r.body.length - 6);
      assert.equal(r.body.subarray(6, 9).toString('hex'), '080112', 'version 1, then the ciphertext');
      const ct = M.EncryptResponse.decode(r.body.subarray(6)).ciphertext;
      const [dec] = answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'enc-layout', ciphertext: ct })), [206]);
      assert.equal(M.DecryptResponse.decode(dec!).plaintext.toString('hex'), 'dead');
    });

    test('write commands answer one empty frame', async () => {
      const r = await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'w-empty' }));
      const [payload] = answerOf(r, [201]);
      assert.equal(payload!.length, 0);
      assert.equal(r.body.toString('hex'), '00c900000000');
    });

    test('batches of read commands: one answer per frame, in order, even mixed and repeated', async () => {
      for (const name of ['b-1', 'b-2']) answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name })), [201]);
      const body = Buffer.concat([
        cmd(CMD.KEY_GENERATE, M.GenerateKeyRequest, { name: 'b-1', length: 16 }),
        cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'b-2' }),
        cmd(CMD.KEY_GENERATE, M.GenerateKeyRequest, { name: 'b-2', length: 48 }),
        cmd(CMD.KEY_ENCRYPT, M.EncryptRequest, { name: 'b-1', plaintext: Buffer.from('x') }),
        cmd(CMD.KEY_MAC, M.MACRequest, { name: 'b-2', message: Buffer.from('m') }),
        cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'b-1' }),
      ]);
      const answers = answerOf(await post(c, '/v1/kms', body), [207, 204, 207, 205, 210, 204]);
      assert.equal(M.GenerateKeyResponse.decode(answers[0]!).plaintext.length, 16);
      assert.equal(M.KeyStatusResponse.decode(answers[1]!).name, 'b-2');
      assert.equal(M.GenerateKeyResponse.decode(answers[2]!).plaintext.length, 48);
      assert.equal(M.EncryptResponse.decode(answers[3]!).version, 1);
      assert.equal(M.MACResponse.decode(answers[4]!).mac.length, 32);
      assert.equal(M.KeyStatusResponse.decode(answers[5]!).name, 'b-1');
    });

    test('a batch with one failing command fails whole, with that command\'s error', async () => {
      answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'one-of' })), [201]);
      const body = Buffer.concat([cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'one-of' }), cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'none-of' })]);
      assertKmsError(await post(c, '/v1/kms', body), ...SENTINELS.keyNotFound);
    });

    test('read and write commands together are refused with 400, and nothing is written', async () => {
      const body = Buffer.concat([cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'mixed-1' }), cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'a-key' })]);
      assertKmsError(await post(c, '/v1/kms', body), 400, 'invalid request: read and write commands cannot be sent together');
      const reversed = Buffer.concat([cmd(CMD.KEY_LIST, M.ListRequest, {}), cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'mixed-1' })]);
      assertKmsError(await post(c, '/v1/kms', reversed), 400, 'invalid request: read and write commands cannot be sent together');
      assertKmsError(await post(c, '/v1/kms', cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'mixed-1' })), ...SENTINELS.keyNotFound);
    });

    test('several write commands in one request are refused, and none is carried out', async () => {
      const body = Buffer.concat([cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'wb-1' }), cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'wb-2' })]);
      assertKmsError(await post(c, '/v1/kms', body), 400, 'invalid request: KEY:CREATE cannot be sent in a batch');
      const different = Buffer.concat([cmd(CMD.POLICY_CREATE, M.CreatePolicyRequest, { name: 'wb-p' }), cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'wb-1' })]);
      assert.equal((await post(c, '/v1/kms', different)).status, 400);
      const status = Buffer.concat([cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'wb-1' })]);
      assertKmsError(await post(c, '/v1/kms', status), ...SENTINELS.keyNotFound);
      assertKmsError(await post(c, '/v1/kms', cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'wb-2' })), ...SENTINELS.keyNotFound);
      assertKmsError(await post(c, '/v1/kms', cmd(CMD.POLICY_STATUS, M.PolicyRequest, { name: 'wb-p' })), ...SENTINELS.policyNotFound);
    });

    test('an empty body is 400', async () => {
      assertKmsError(await post(c, '/v1/kms', Buffer.alloc(0)), 400, 'invalid request: no command');
      assertKmsError(await c.request('POST', '/v1/kms'), 400, 'invalid request: no command');
    });

    test('a truncated frame is 400, whether it ends in the header or in the payload', async () => {
      const whole = cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'a-key' });
      for (const [what, body] of [
        ['5 header bytes', whole.subarray(0, 5)],
        ['payload cut short', whole.subarray(0, whole.length - 1)],
        ['a whole frame, then 3 bytes', Buffer.concat([whole, whole.subarray(0, 3)])],
        ['length says more than there is', Buffer.concat([whole.subarray(0, 2), Buffer.from('00000100', 'hex'), whole.subarray(6)])],
      ] as const) {
        assertKmsError(await post(c, '/v1/kms', body), 400, 'invalid request: malformed command frames', what);
      }
    });

    test('a malformed message is 400 naming its command', async () => {
      // Field 1 (Name) declared 16 bytes long with 2 present.
      assertKmsError(await post(c, '/v1/kms', frame(CMD.KEY_STATUS, hex('0a106b31'))), 400, 'invalid request: malformed KEY:STATUS request');
    });

    test('unknown command numbers are 400', async () => {
      for (const n of [0, 7, 100, 105, 200, 211, 307, 405, 999, 0xffff]) {
        assertKmsError(await post(c, '/v1/kms', frame(n)), 400, `invalid request: unknown command ${n}`, `command ${n}`);
      }
      // Also when it follows a valid frame: nothing of the request is carried out.
      const body = Buffer.concat([cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'unk-1' }), frame(999)]);
      assertKmsError(await post(c, '/v1/kms', body), 400, 'invalid request: unknown command 999');
      assertKmsError(await post(c, '/v1/kms', cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'unk-1' })), ...SENTINELS.keyNotFound);
    });

    test('KEY:LISTVERSIONS, cluster and HSM commands are 501', async () => {
      const cases: [number, string][] = [
        [CMD.KEY_LISTVERSIONS, 'not supported: KEY:LISTVERSIONS is not defined by the protocol'],
        [CMD.CLUSTER_ADDNODE, 'not supported: openkes servers share the key store and form no cluster'],
        [CMD.CLUSTER_REMOVENODE, 'not supported: openkes servers share the key store and form no cluster'],
        [CMD.CLUSTER_STATUS, 'not supported: openkes servers share the key store and form no cluster'],
        [CMD.CLUSTER_EDIT, 'not supported: openkes servers share the key store and form no cluster'],
        [CMD.CLUSTER_ADDHSM, 'not supported: openkes keeps no sealed state and uses no HSM'],
        [CMD.CLUSTER_REMOVEHSM, 'not supported: openkes keeps no sealed state and uses no HSM'],
      ];
      for (const [n, message] of cases) assertKmsError(await post(c, '/v1/kms', frame(n)), 501, message, `command ${n}`);
      assertKmsError(await post(c, '/v1/kms/default', frame(CMD.CLUSTER_STATUS)), 501, 'not supported: openkes servers share the key store and form no cluster');
    });

    test('/v1/kms is answered, not redirected; /v1/kms/ and /v1/kms/default are the same default enclave', async () => {
      answerOf(await post(c, '/v1/kms/', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'slash-key' })), [201]);
      for (const path of ['/v1/kms', '/v1/kms/', '/v1/kms/default']) {
        const r = await post(c, path, cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'slash-key' }));
        assert.equal(r.headers.location, undefined, path);
        const [s] = answerOf(r, [204]);
        assert.equal(M.KeyStatusResponse.decode(s!).name, 'slash-key', path);
      }
      // The same key: a ciphertext of one path decrypts through the others.
      const [e] = answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_ENCRYPT, M.EncryptRequest, { name: 'slash-key', plaintext: Buffer.from('p') })), [205]);
      const ct = M.EncryptResponse.decode(e!).ciphertext;
      for (const path of ['/v1/kms/', '/v1/kms/default']) {
        const [d] = answerOf(await post(c, path, cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'slash-key', ciphertext: ct })), [206]);
        assert.equal(M.DecryptResponse.decode(d!).plaintext.toString(), 'p', path);
      }
    });

    test('an unknown enclave is 404 enclave does not exist; an invalid enclave name is 400', async () => {
      assertKmsError(await post(c, '/v1/kms/no-such-enclave', cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'a-key' })), ...SENTINELS.enclaveNotFound);
      assertKmsError(await post(c, '/v1/kms/no-such-enclave', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'x' })), ...SENTINELS.enclaveNotFound);
      const bad = await post(c, '/v1/kms/bad.name', cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'a-key' }));
      assertKmsError(bad, 400, "invalid request: enclave name 'bad.name' is empty, too long or contains invalid characters");
    });

    test('/version as protobuf-JSON: only VersionResponse keys, host = the request\'s host', async () => {
      const r = await c.request('GET', '/version', undefined, { accept: 'application/*', ...HOST(protocol) });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['content-length'], String(r.body.length));
      const v = r.json();
      const known = ['version', 'commit', 'api_version', 'host', 'fips140'];
      for (const key of Object.keys(v)) assert.ok(known.includes(key), `unknown key '${key}' breaks protojson`);
      for (const key of ['version', 'commit', 'api_version', 'host']) if (key in v) assert.equal(typeof v[key], 'string', key);
      if ('fips140' in v) assert.equal(typeof v.fips140, 'boolean');
      assert.ok(v.version, 'a version');
      assert.equal(v.api_version, 'v1');
      assert.equal(v.host, 'kms.example.net:7373');
    });

    test('/version as binary with Accept application/octet-stream', async () => {
      const r = await c.request('GET', '/version', undefined, { accept: 'application/octet-stream', ...HOST(protocol) });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      assert.equal(r.headers['content-length'], String(r.body.length));
      const v = M.VersionResponse.decode(r.body);
      const json = (await c.request('GET', '/version', undefined, HOST(protocol))).json();
      assert.deepEqual([v.version, v.commit, v.apiVersion, v.host], [json.version, json.commit ?? '', 'v1', 'kms.example.net:7373']);
      // Needs no rights: any client certificate will do.
      const a = await raw(nobody).request('GET', '/version', undefined, { accept: 'application/octet-stream', ...HOST(protocol) });
      assert.deepEqual(M.VersionResponse.decode(a.body), v);
    });

    test('health: live and ready answer 200 to any identity, ready also with ?write', async () => {
      for (const client of [c, raw(nobody)]) {
        for (const path of ['/v1/health/live', '/v1/health/ready', '/v1/health/ready?write']) {
          const r = await client.request('GET', path, undefined, { accept: 'application/*' });
          assert.equal(r.status, 200, path);
        }
      }
    });

    test('no client certificate: 400, whatever the command', async () => {
      const anonymous = raw(null);
      const r = await post(anonymous, '/v1/kms', cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'a-key' }));
      assert.equal(r.status, 400);
      assert.deepEqual(r.json(), { message: 'tls: client certificate is required' });
    });

    test('every sentinel of §11.2 with its exact status and message', async () => {
      const none = raw(nobody);
      answerOf(await post(c, '/v1/kms', cmd(CMD.ENCLAVE_CREATE, M.CreateEnclaveRequest, { name: 'sentinels' })), [101]);
      answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'sentinel-key' })), [201]);
      const cases: [string, RawClient, string, Buffer, readonly [number, string]][] = [
        ['permission', none, '/v1/kms', cmd(CMD.KEY_GENERATE, M.GenerateKeyRequest, { name: 'sentinel-key' }), SENTINELS.permission],
        ['enclave exists', c, '/v1/kms', cmd(CMD.ENCLAVE_CREATE, M.CreateEnclaveRequest, { name: 'sentinels' }), SENTINELS.enclaveExists],
        ['enclave not found (status)', c, '/v1/kms', cmd(CMD.ENCLAVE_STATUS, M.EnclaveStatusRequest, { name: 'nope' }), SENTINELS.enclaveNotFound],
        ['enclave not found (path)', c, '/v1/kms/nope', cmd(CMD.KEY_LIST, M.ListRequest, {}), SENTINELS.enclaveNotFound],
        ['key exists', c, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'sentinel-key' }), SENTINELS.keyExists],
        ['key exists (import)', c, '/v1/kms', cmd(CMD.KEY_IMPORT, M.ImportKeyRequest, { name: 'sentinel-key', key: Buffer.alloc(32, 7) }), SENTINELS.keyExists],
        ['key not found', c, '/v1/kms', cmd(CMD.KEY_GENERATE, M.GenerateKeyRequest, { name: 'no-key' }), SENTINELS.keyNotFound],
        ['key version not found', c, '/v1/kms', cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'sentinel-key', version: 9 }), SENTINELS.keyNotFound],
        ['policy not found', c, '/v1/kms', cmd(CMD.POLICY_GET, M.PolicyRequest, { name: 'no-policy' }), SENTINELS.policyNotFound],
        ['identity not found', c, '/v1/kms', cmd(CMD.IDENTITY_STATUS, M.IdentityRequest, { identity: UNKNOWN_H1 }), SENTINELS.identityNotFound],
        ['decrypt', c, '/v1/kms', cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: 'sentinel-key', ciphertext: Buffer.alloc(60, 1) }), SENTINELS.decrypt],
      ];
      for (const [what, client, path, body, [status, message]] of cases) assertKmsError(await post(client, path, body), status, message, what);
    });

    test('the identity of §2.4: a certificate for the seed 00..1f is h1:oFCD…kaU in IDENTITY:STATUS and created_by', async () => {
      const seeded = certificateOfApiKey(K1);
      assert.equal(seeded.identity, K1_HEX);
      assert.equal(seeded.kmsIdentity, K1_H1);
      // Made an Admin of the default enclave by the config's admin (once per server).
      const created = await post(c, '/v1/kms', cmd(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, { identity: K1_H1, privilege: 'Admin' }));
      answerOf(created, [401]);
      const [st] = answerOf(await post(c, '/v1/kms', cmd(CMD.IDENTITY_STATUS, M.IdentityRequest, { identity: K1_H1 })), [403]);
      const id = M.IdentityResponse.decode(st!);
      assert.deepEqual([id.identity, id.privilege, id.createdBy, id.isServiceAccount], [K1_H1, 2, h1(t.admin.identity), false]);
      // The hex form names the same identity.
      const [byHex] = answerOf(await post(c, '/v1/kms', cmd(CMD.IDENTITY_STATUS, M.IdentityRequest, { identity: K1_HEX })), [403]);
      assert.equal(M.IdentityResponse.decode(byHex!).identity, K1_H1);
      // The seeded client creates a key: it is its creator.
      const s = raw(seeded);
      answerOf(await post(s, '/v1/kms', cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: 'seeded-key' })), [201]);
      const [ks] = answerOf(await post(c, '/v1/kms', cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: 'seeded-key' })), [204]);
      assert.equal(M.KeyStatusResponse.decode(ks!).createdBy, K1_H1);
      // And it sees itself in the listing of identities.
      const [ls] = answerOf(await post(s, '/v1/kms', cmd(CMD.IDENTITY_LIST, M.ListRequest, { prefix: 'h1:oFCD' })), [404]);
      assert.deepEqual(M.ListIdentitiesResponse.decode(ls!).identities.map((i) => i.identity), [K1_H1]);
    });
  });
}

describe('KmsClient (the SDK) against a server', () => {
  let t: TestServer;
  let kms: KmsClient;
  let nobody: TestCert;
  const clients: KmsClient[] = [];
  const client = (o: Partial<ConstructorParameters<typeof KmsClient>[0]> = {}) => {
    const k = new KmsClient({ endpoints: `https://127.0.0.1:${t.port}`, ca: t.pki.ca.certPem, ...(o.apiKey === undefined && o.cert === undefined && { cert: t.admin.certPem, key: t.admin.keyPem }), ...o });
    clients.push(k);
    return k;
  };
  before(async () => {
    t = await startTestServer();
    kms = client();
    nobody = t.pki.client({ commonName: 'nobody' });
  });
  after(async () => {
    for (const k of clients) k.close();
    await t.close();
  });

  const code = async (p: Promise<unknown>, what = ''): Promise<[string, number, string]> => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof KesError, `not a KesError: ${String(err)}`);
      return [err.code, err.status, err.message];
    }
    return assert.fail(`${what}: no error`);
  };

  test('API keys: k1, its kes:v1 form and k2 give the identities of §2.4', async () => {
    const byK1 = client({ apiKey: K1 });
    const byKes = client({ apiKey: K1_KES });
    const byK2 = client({ apiKey: K2 });
    assert.deepEqual([byK1.identity, byK1.kmsIdentity, byKes.kmsIdentity, byK2.kmsIdentity], [K1_HEX, K1_H1, K1_H1, K2_H1]);
    await kms.createIdentity(K1_H1, { privilege: 'Admin' });
    await kms.createIdentity(K2_H1, { privilege: 'Admin' });
    await byK1.createKey('by-k1');
    await byK2.createKey('by-k2');
    const [a, b] = await kms.keyStatus(['by-k1', 'by-k2']);
    assert.deepEqual([a!.createdBy, b!.createdBy], [K1_H1, K2_H1], 'the server saw the certificates made from the keys');
    assert.equal((await byKes.keyStatus('by-k1')).name, 'by-k1');
  });

  test('the options refuse a key and a certificate together, and a certificate without its key', () => {
    assert.throws(() => new KmsClient({ endpoints: 'x', apiKey: K1, cert: t.admin.certPem, key: t.admin.keyPem }), TypeError);
    assert.throws(() => new KmsClient({ endpoints: 'x', cert: t.admin.certPem }), TypeError);
  });

  test('keys: create, add version, status (single and batch), encrypt, decrypt, generate, MAC, list, delete', async () => {
    await kms.createKey('sdk-1');
    await kms.createKey('sdk-1', { addVersion: true });
    await kms.importKey('sdk-2', Buffer.alloc(32, 2), 'ChaCha20');
    const s = await kms.keyStatus('sdk-1');
    assert.deepEqual([s.name, s.version, s.type], ['sdk-1', 2, 'AES256']);
    assert.equal((await kms.keyStatus('sdk-1', { version: 1 })).version, 1);
    assert.deepEqual(
      (await kms.keyStatus(['sdk-2', { name: 'sdk-1', version: 1 }])).map((k) => [k.name, k.version, k.type]),
      [
        ['sdk-2', 1, 'ChaCha20'],
        ['sdk-1', 1, 'AES256'],
      ],
    );
    const aad = Buffer.from('{"a":1}');
    const e1 = await kms.encrypt('sdk-1', Buffer.from('one'), { version: 1, associatedData: aad });
    const e2 = await kms.encrypt('sdk-1', Buffer.from('two'), { associatedData: aad });
    assert.deepEqual([e1.version, e2.version], [1, 2]);
    assert.equal((await kms.decrypt('sdk-1', e1.ciphertext, { associatedData: aad })).toString(), 'one');
    const batch = await kms.decryptBatch([
      { name: 'sdk-1', ciphertext: e2.ciphertext, associatedData: aad },
      { name: 'sdk-1', ciphertext: e1.ciphertext, associatedData: aad, version: 1 },
    ]);
    assert.deepEqual(batch.map((d) => d.plaintext.toString()), ['two', 'one']);
    const dk = await kms.generateKey('sdk-2', { associatedData: aad, length: 20 });
    assert.deepEqual([dk.version, dk.plaintext.length], [1, 20]);
    assert.deepEqual(await kms.decrypt('sdk-2', dk.ciphertext, { associatedData: aad }), dk.plaintext);
    const dks = await kms.generateKeyBatch([{ name: 'sdk-1' }, { name: 'sdk-2', length: 64 }]);
    assert.deepEqual(dks.map((d) => [d.version, d.plaintext.length]), [[2, 32], [1, 64]]);
    const m1 = await kms.mac('sdk-2', Buffer.from('msg'));
    const [m2, m3] = await kms.macBatch([{ name: 'sdk-2', message: Buffer.from('msg') }, { name: 'sdk-2', message: Buffer.from('other') }]);
    assert.deepEqual(m1.mac, m2!.mac);
    assert.notDeepEqual(m1.mac, m3!.mac);
    const e = await kms.encryptBatch([{ name: 'sdk-2', plaintext: Buffer.from('p') }]);
    assert.equal(e.length, 1);
    assert.deepEqual(await kms.keyStatus([]), [], 'no requests: nothing sent');
    const page = await kms.listKeys({ prefix: 'sdk-' });
    assert.deepEqual([page.items.map((k) => [k.name, k.version]), page.continueAt], [[['sdk-1', 2], ['sdk-2', 1]], '']);
    await kms.deleteKey('sdk-1', { version: 1 });
    assert.equal((await kms.keyStatus('sdk-1')).version, 2);
    await kms.deleteKey('sdk-1');
    assert.deepEqual(await code(kms.keyStatus('sdk-1')), ['KES_ERR_KEY_NOT_FOUND', 404, 'key does not exist']);
    await kms.deleteKey('sdk-2', { allVersions: true });
    await assert.rejects(kms.deleteKey('sdk-2', { allVersions: true, version: 1 }), TypeError);
  });

  test('the iterators read every page', async () => {
    const names = Array.from({ length: 23 }, (_, i) => `it-${String(i).padStart(2, '0')}`);
    for (const n of names) await kms.createKey(n);
    const seen: string[] = [];
    for await (const k of kms.iterateKeys({ prefix: 'it-', limit: 5 })) seen.push(k.name);
    assert.deepEqual(seen, names);
    const page = await kms.listKeys({ prefix: 'it-', limit: 5, continueAt: 'it-07' });
    assert.deepEqual([page.items.map((k) => k.name), page.continueAt], [['it-07', 'it-08', 'it-09', 'it-10', 'it-11'], 'it-12']);
  });

  test('enclaves, policies and identities; the enclave per client and per call', async () => {
    await kms.createEnclave('sdk-enclave');
    assert.equal((await kms.enclaveStatus('sdk-enclave')).createdBy, h1(t.admin.identity));
    assert.deepEqual((await kms.enclaveStatus(['sdk-enclave', 'default'])).map((e) => e.name), ['sdk-enclave', 'default']);
    const enclaves: string[] = [];
    for await (const e of kms.iterateEnclaves({ limit: 1 })) enclaves.push(e.name);
    assert.ok(enclaves.includes('sdk-enclave') && enclaves.includes('default'), enclaves.join());
    assert.deepEqual((await kms.listEnclaves({ prefix: 'sdk-' })).items.map((e) => e.name), ['sdk-enclave']);

    const inside = client({ enclave: 'sdk-enclave' });
    assert.equal(inside.enclave, 'sdk-enclave');
    await inside.createKey('inner');
    assert.equal((await kms.keyStatus('inner', { enclave: 'sdk-enclave' })).name, 'inner');
    assert.deepEqual((await code(kms.keyStatus('inner')))[0], 'KES_ERR_KEY_NOT_FOUND');
    assert.deepEqual((await code(inside.keyStatus('inner', { enclave: '' })))[0], 'KES_ERR_KEY_NOT_FOUND', "'' is /v1/kms");
    // Enclave management goes to /v1/kms whatever the client's enclave.
    await inside.createEnclave('sdk-enclave-2');
    await inside.deleteEnclave('sdk-enclave-2');

    await inside.createPolicy('p', { allow: { 'KEY:GENERATE': 'minio-*', 'key:decrypt': ['minio-*'] }, deny: { 'KEY:GENERATE': ['minio-secret'] } });
    const p = await inside.getPolicy('p');
    assert.deepEqual([p.name, p.allow, p.deny], ['p', { 'KEY:GENERATE': ['minio-*'], 'KEY:DECRYPT': ['minio-*'] }, { 'KEY:GENERATE': ['minio-secret'] }]);
    assert.deepEqual((await inside.policyStatus(['p'])).map((s) => s.name), ['p']);
    assert.deepEqual((await inside.listPolicies()).items.map((s) => s.name), ['p']);
    const user = t.pki.client({ commonName: 'sdk-user' });
    await inside.createIdentity(user.identity, { tags: { team: 'a' } }); // hex is sent as h1:
    await inside.assignPolicy(h1(user.identity), 'p');
    const who = await inside.identityStatus(user.identity);
    assert.deepEqual([who.identity, who.privilege, who.policy, who.tags], [h1(user.identity), 3, 'p', { team: 'a' }]);
    assert.deepEqual((await inside.listIdentities()).items.map((i) => i.identity), [h1(user.identity)]);
    const ids: string[] = [];
    for await (const i of inside.iterateIdentities()) ids.push(i.identity);
    assert.deepEqual(ids, [h1(user.identity)]);
    await inside.deleteIdentity(h1(user.identity));
    await inside.deletePolicy('p');
    assert.deepEqual((await code(inside.identityStatus(user.identity)))[0], 'KES_ERR_IDENTITY_NOT_FOUND');
    await kms.deleteEnclave('sdk-enclave');
    assert.deepEqual((await code(inside.keyStatus('inner')))[0], 'KMS_ERR_ENCLAVE_NOT_FOUND');
  });

  test('every sentinel becomes its code', async () => {
    await kms.createEnclave('codes');
    await kms.createKey('codes-key');
    const none = client({ cert: nobody.certPem, key: nobody.keyPem });
    const cases: [string, () => Promise<unknown>, string, readonly [number, string]][] = [
      ['permission', () => none.keyStatus('codes-key'), 'KMS_ERR_PERMISSION', SENTINELS.permission],
      ['enclave exists', () => kms.createEnclave('codes'), 'KMS_ERR_ENCLAVE_EXISTS', SENTINELS.enclaveExists],
      ['enclave not found', () => kms.enclaveStatus('nope'), 'KMS_ERR_ENCLAVE_NOT_FOUND', SENTINELS.enclaveNotFound],
      ['key exists', () => kms.createKey('codes-key'), 'KMS_ERR_KEY_EXISTS', SENTINELS.keyExists],
      ['key not found', () => kms.generateKey('nope'), 'KES_ERR_KEY_NOT_FOUND', SENTINELS.keyNotFound],
      ['policy not found', () => kms.policyStatus('nope'), 'KES_ERR_POLICY_NOT_FOUND', SENTINELS.policyNotFound],
      ['identity not found', () => kms.identityStatus(UNKNOWN_H1), 'KES_ERR_IDENTITY_NOT_FOUND', SENTINELS.identityNotFound],
      ['decrypt', () => kms.decrypt('codes-key', Buffer.alloc(64)), 'KMS_ERR_DECRYPT', SENTINELS.decrypt],
      ['bad request', () => kms.generateKey('codes-key', { length: 1025 }), 'KMS_ERR_BAD_REQUEST', [400, 'invalid request: data key length must be 1 to 1024 bytes']],
      ['not supported', () => kms.send('', [{ command: CMD.CLUSTER_STATUS, payload: Buffer.alloc(0) }]), 'KMS_ERR_NOT_SUPPORTED', [501, 'not supported: openkes servers share the key store and form no cluster']],
    ];
    for (const [what, p, expected, [status, message]] of cases) assert.deepEqual(await code(p(), what), [expected, status, message], what);
  });

  test('version, live, ready', async () => {
    const v = await kms.version();
    assert.equal(v.apiVersion, 'v1');
    assert.equal(v.host, `127.0.0.1:${t.port}`);
    assert.ok(v.version);
    assert.equal(await kms.live(), true);
    assert.equal(await kms.ready(), true);
    assert.equal(await kms.ready({ write: true }), true);
  });

  test('readDb without a backup key is 501; a non-SysAdmin gets 403', async () => {
    assert.deepEqual(await code(kms.readDb()), ['KMS_ERR_BACKUP_NOT_CONFIGURED', 501, 'backup is not configured']);
    const none = client({ cert: nobody.certPem, key: nobody.keyPem });
    assert.deepEqual((await code(none.readDb())).slice(0, 2), ['KMS_ERR_PERMISSION', 403]);
  });

  test('send: the raw frames of a request, answered frame by frame', async () => {
    await kms.createKey('send-key');
    const answers = await kms.send('', [
      { command: CMD.KEY_STATUS, payload: M.KeyStatusRequest.encode({ name: 'send-key' }) },
      { command: CMD.KEY_GENERATE, payload: M.GenerateKeyRequest.encode({ name: 'send-key' }) },
    ]);
    assert.deepEqual(answers.map((a) => a.command), [CMD.KEY_STATUS, CMD.KEY_GENERATE]);
    assert.equal(M.KeyStatusResponse.decode(answers[0]!.payload).name, 'send-key');
    assert.deepEqual(await kms.send('', []), []);
  });
});

describe('KmsClient: readDb and writeDb move a database between servers', () => {
  test('a snapshot of one server restores into an empty one', async () => {
    const key = BackupKey.parse(Buffer.alloc(32, 9).toString('base64'));
    const a = await startTestServer((config) => void (config.backup = { key }));
    const b = await startTestServer((config) => void (config.backup = { key }));
    const ka = new KmsClient({ endpoints: `https://127.0.0.1:${a.port}`, ca: a.pki.ca.certPem, cert: a.admin.certPem, key: a.admin.keyPem });
    const kb = new KmsClient({ endpoints: `https://127.0.0.1:${b.port}`, ca: b.pki.ca.certPem, cert: b.admin.certPem, key: b.admin.keyPem });
    const user = a.pki.client({ commonName: 'moved-user' });
    const ub = new KmsClient({ endpoints: `https://127.0.0.1:${b.port}`, ca: b.pki.ca.certPem, cert: user.certPem, key: user.keyPem });
    try {
      await ka.createKey('moved');
      await ka.createEnclave('moved-enclave');
      await ka.createPolicy('movers', { allow: { 'KEY:GENERATE': 'moved' } });
      await ka.createIdentity(user.identity);
      await ka.assignPolicy(user.identity, 'movers');
      const dk = await ka.generateKey('moved');
      const snapshot = await ka.readDb();
      assert.ok(snapshot.length > 0);
      // Before the restore the identity is unknown to b (and b remembers that it found none).
      await assert.rejects(ub.generateKey('moved'), (e: KesError) => e.code === 'KMS_ERR_PERMISSION');
      await kb.writeDb(snapshot);
      assert.deepEqual(await kb.decrypt('moved', dk.ciphertext), dk.plaintext);
      assert.equal((await kb.enclaveStatus('moved-enclave')).name, 'moved-enclave');
      // The restored identity and policy act at once.
      assert.equal((await ub.generateKey('moved')).version, 1);
    } finally {
      ka.close();
      kb.close();
      ub.close();
      await a.close();
      await b.close();
    }
  });
});

/** A fake MinKMS server answering every request with answer(); counts the requests. */
async function fakeServer(pki: TestPki, answer: (req: { method: string; url: string; body: Buffer }, res: import('node:http').ServerResponse) => void) {
  const seen: { method: string; url: string; body: Buffer }[] = [];
  const server = https.createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r = { method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks) };
    seen.push(r);
    answer(r, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const client = (o: { enclave?: string } = {}) => new KmsClient({ endpoints: `https://127.0.0.1:${port}`, ca: pki.ca.certPem, apiKey: K1, ...o });
  return {
    seen,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const octets = (res: import('node:http').ServerResponse, body: Buffer) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
};

describe('KmsClient against servers that answer wrongly', () => {
  const pki = createTestPki();

  test('answers with too few, too many or other frames are errors', async () => {
    const good = M.KeyStatusResponse.encode({ name: 'k', version: 1, type: 'AES256' });
    for (const [what, body] of [
      ['no frame', Buffer.alloc(0)],
      ['two frames', Buffer.concat([frame(CMD.KEY_STATUS, good), frame(CMD.KEY_STATUS, good)])],
      ['another command', frame(CMD.KEY_ENCRYPT, good)],
      ['a truncated frame', frame(CMD.KEY_STATUS, good).subarray(0, 8)],
      ['a payload that is no KeyStatusResponse', frame(CMD.KEY_STATUS, hex('0a10'))],
    ] as const) {
      const f = await fakeServer(pki, (_req, res) => octets(res, body));
      const c = f.client();
      try {
        await assert.rejects(c.keyStatus('k'), (err: unknown) => err instanceof KesError && err.code === 'KES_ERR_HTTP' && /malformed response/.test(err.message), what);
      } finally {
        c.close();
        await f.close();
      }
    }
  });

  test('requests go to /v1/kms or /v1/kms/<enclave> as the SDK sends them', async () => {
    const f = await fakeServer(pki, (req, res) => octets(res, frame(req.body.readUInt16BE(0))));
    const plain = f.client();
    const scoped = f.client({ enclave: 'tenant-1' });
    try {
      await plain.createKey('a');
      await scoped.createKey('a');
      await scoped.createKey('a', { enclave: '' });
      await plain.createKey('a', { enclave: 'other' });
      await scoped.createEnclave('e');
      assert.deepEqual(
        f.seen.map((r) => [r.method, r.url]),
        [
          ['POST', '/v1/kms'],
          ['POST', '/v1/kms/tenant-1'],
          ['POST', '/v1/kms'],
          ['POST', '/v1/kms/other'],
          ['POST', '/v1/kms'],
        ],
      );
      assert.equal(f.seen[0]!.body.toString('hex'), '00c9000000030a0161', 'KEY:CREATE {Name a}');
    } finally {
      plain.close();
      scoped.close();
      await f.close();
    }
  });

  test('a protobuf-JSON /version is read too; a binary ErrResponse gives its message', async () => {
    const f = await fakeServer(pki, (req, res) => {
      if (req.url === '/version') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"version":"2024-01-01T00-00-00Z","commit":"abc","api_version":"v1","host":"h:7373","fips140":true}');
        return;
      }
      const body = M.ErrResponse.encode({ message: 'key does not exist' });
      res.writeHead(404, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
    const c = f.client();
    try {
      assert.deepEqual(await c.version(), M.VersionResponse.create({ version: '2024-01-01T00-00-00Z', commit: 'abc', apiVersion: 'v1', host: 'h:7373', fips140: true }));
      await assert.rejects(c.keyStatus('k'), (err: unknown) => err instanceof KesError && err.code === 'KES_ERR_KEY_NOT_FOUND' && err.message === 'key does not exist');
    } finally {
      c.close();
      await f.close();
    }
  });

  test('a write is never sent twice after a lost answer; a read is', async () => {
    const f = await fakeServer(pki, (_req, res) => res.socket?.destroy());
    const c = f.client();
    try {
      await assert.rejects(c.createKey('w'), ConnectionError);
      assert.equal(f.seen.length, 1, 'KEY:CREATE sent once');
      await assert.rejects(c.importKey('w', Buffer.alloc(32)), ConnectionError);
      await assert.rejects(c.deleteKey('w'), ConnectionError);
      await assert.rejects(c.writeDb(Buffer.from('db')), ConnectionError);
      assert.equal(f.seen.length, 4, 'each write sent once');
      await assert.rejects(c.keyStatus('r'), ConnectionError);
      assert.equal(f.seen.length, 7, 'a read is tried three times');
    } finally {
      c.close();
      await f.close();
    }
  });

  test('a 503 answer to a write is not retried', async () => {
    const f = await fakeServer(pki, (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"message":"not ready"}');
    });
    const c = f.client();
    try {
      await assert.rejects(c.createPolicy('p'), KesError);
      assert.equal(f.seen.length, 1);
    } finally {
      c.close();
      await f.close();
    }
  });
});
