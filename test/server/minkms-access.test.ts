/**
 * Access through MinKMS and the KES API (docs/minkms.md "Access", "Enclaves"): enclaves,
 * runtime policies and identities, what each kind of identity may do in which enclave, service
 * accounts, changes taking effect, the config file's identities — and, table-driven, that no
 * identity can do through one API what its rights forbid through the other. Last, two servers
 * sharing one fs key store see each other's enclaves, identities and policies.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KmsClient } from '../../src/client/kms-client.js';
import { KesError } from '../../src/api/errors.js';
import * as P from '../../src/api/paths.js';
import { KES_ROUTE_OPERATIONS, OPS } from '../../src/api/operations.js';
import { CMD, COMMANDS } from '../../src/kms/commands.js';
import * as M from '../../src/kms/messages.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestCert } from '../helpers/certs.js';
import type { TestClient, TestResponse } from '../helpers/https-client.js';
import { assertKmsError, frame, post, rawOf, SENTINELS, type RawClient, type RawResponse } from '../helpers/minkms.js';

const h1 = (hexId: string) => `h1:${Buffer.from(hexId, 'hex').toString('base64url')}`;
const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
const KES_DENIED = { message: 'not authorized: insufficient permissions' };
const [, PERMISSION] = SENTINELS.permission;

/** The error a call fails with: [code, status]. */
async function failure(p: Promise<unknown>, what = ''): Promise<[string, number]> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KesError, `${what}: not a KesError: ${String(err)}`);
    return [err.code, err.status];
  }
  return assert.fail(`${what}: no error`);
}
const DENIED: [string, number] = ['KMS_ERR_PERMISSION', 403];

/** One frame of a command with its message. */
const cmd = <T>(command: number, codec: M.MessageCodec<T>, msg: Partial<T>) => frame(command, codec.encode(msg));

/** A request of every implemented command with a plausible message (for "refused whatever it is"). */
function everyCommand(subjectId: string): { name: string; body: Buffer }[] {
  const key = { name: 'acc-key' };
  const list = M.ListRequest.encode({});
  const bodies: Record<number, Buffer> = {
    [CMD.ENCLAVE_CREATE]: M.CreateEnclaveRequest.encode({ name: 'acc-new' }),
    [CMD.ENCLAVE_DELETE]: M.DeleteEnclaveRequest.encode({ name: 'acc-enclave' }),
    [CMD.ENCLAVE_STATUS]: M.EnclaveStatusRequest.encode({ name: 'acc-enclave' }),
    [CMD.ENCLAVE_LIST]: list,
    [CMD.KEY_CREATE]: M.CreateKeyRequest.encode({ name: 'acc-new' }),
    [CMD.KEY_DELETE]: M.DeleteKeyRequest.encode({ ...key, allVersions: true }),
    [CMD.KEY_IMPORT]: M.ImportKeyRequest.encode({ name: 'acc-new', key: Buffer.alloc(32) }),
    [CMD.KEY_STATUS]: M.KeyStatusRequest.encode(key),
    [CMD.KEY_ENCRYPT]: M.EncryptRequest.encode({ ...key, plaintext: Buffer.from('x') }),
    [CMD.KEY_DECRYPT]: M.DecryptRequest.encode({ ...key, ciphertext: Buffer.alloc(64) }),
    [CMD.KEY_GENERATE]: M.GenerateKeyRequest.encode(key),
    [CMD.KEY_LIST]: list,
    [CMD.KEY_MAC]: M.MACRequest.encode({ ...key, message: Buffer.from('m') }),
    [CMD.POLICY_CREATE]: M.CreatePolicyRequest.encode({ name: 'acc-new', allow: { 'KEY:STATUS': ['*'] } }),
    [CMD.POLICY_DELETE]: M.DeletePolicyRequest.encode({ name: 'acc-policy' }),
    [CMD.POLICY_ASSIGN]: M.AssignPolicyRequest.encode({ identity: subjectId, policy: 'acc-policy' }),
    [CMD.POLICY_GET]: M.PolicyRequest.encode({ name: 'acc-policy' }),
    [CMD.POLICY_STATUS]: M.PolicyRequest.encode({ name: 'acc-policy' }),
    [CMD.POLICY_LIST]: list,
    [CMD.IDENTITY_CREATE]: M.CreateIdentityRequest.encode({ identity: subjectId, privilege: 'Admin' }),
    [CMD.IDENTITY_DELETE]: M.DeleteIdentityRequest.encode({ identity: subjectId }),
    [CMD.IDENTITY_STATUS]: M.IdentityRequest.encode({ identity: subjectId }),
    [CMD.IDENTITY_LIST]: list,
  };
  const implemented = COMMANDS.filter((c) => !(c.cluster && !c.enclaveManagement) && c.number !== CMD.KEY_LISTVERSIONS);
  assert.equal(Object.keys(bodies).length, implemented.length, 'a body for every implemented command');
  return implemented.map((c) => ({ name: c.name ?? 'KEY:IMPORT', body: frame(c.number, bodies[c.number]!) }));
}

describe('MinKMS access', () => {
  let t: TestServer;
  let admin: KmsClient;
  let kes: TestClient;
  let cfgUser: TestCert;
  /** Subjects of identity commands in the table test; the policies allow X and deny Y. */
  let tableX: TestCert;
  let tableY: TestCert;
  const closers: { close(): void }[] = [];
  const kmsOf = (cert: TestCert, enclave = '') => {
    const k = new KmsClient({ endpoints: `https://127.0.0.1:${t.port}`, ca: t.pki.ca.certPem, cert: cert.certPem, key: cert.keyPem, enclave });
    closers.push(k);
    return k;
  };
  const rawFor = (cert: TestCert) => {
    const r = rawOf(t, cert);
    closers.push(r);
    return r;
  };
  const newCert = (name: string) => t.pki.client({ commonName: name });

  before(async () => {
    t = await startTestServer((config, pki) => {
      cfgUser = pki.client({ commonName: 'config-user' });
      tableX = pki.client({ commonName: 'table-x' });
      tableY = pki.client({ commonName: 'table-y' });
      config.policies = {
        app: {
          allow: [
            '/v1/key/create/app-*',
            '/v1/key/generate/app-*',
            '/v1/key/decrypt/app-*',
            '/v1/key/describe/app-*',
            '/v1/key/list/app*',
            '/v1/key/hmac/zzz-*',
            '/v1/key/rewrap/*',
            '/v1/key/delete-version/app-*',
            '/v1/policy/describe/p-*',
            '/v1/identity/describe/*',
            '/v1/identity/list/*',
          ],
          deny: ['/v1/key/generate/app-secret', `/v1/identity/describe/${tableY.identity}`],
          identities: [cfgUser.identity],
        },
      };
    });
    admin = kmsOf(t.admin);
    kes = t.client();
    await admin.createKey('acc-key');
  });
  after(async () => {
    for (const c of closers) c.close();
    await t.close();
  });

  describe('enclaves', () => {
    test('create, exists, status, list, delete', async () => {
      await admin.createEnclave('enc-a');
      assert.deepEqual(await failure(admin.createEnclave('enc-a')), ['KMS_ERR_ENCLAVE_EXISTS', 409]);
      const s = await admin.enclaveStatus('enc-a');
      assert.deepEqual([s.name, s.createdBy], ['enc-a', h1(t.admin.identity)]);
      assert.ok(s.createdAt && Math.abs(s.createdAt.toMillis() - Date.now()) < 60_000);
      const all = (await admin.listEnclaves()).items.map((e) => e.name);
      assert.ok(all.includes('default') && all.includes('enc-a'), all.join());
      assert.deepEqual(all, [...all].sort(), 'ascending');
      assert.deepEqual((await admin.listEnclaves({ prefix: 'enc-a' })).items.map((e) => e.name), ['enc-a']);
      await admin.deleteEnclave('enc-a');
      assert.deepEqual(await failure(admin.enclaveStatus('enc-a')), ['KMS_ERR_ENCLAVE_NOT_FOUND', 404]);
      assert.deepEqual(await failure(admin.deleteEnclave('enc-a')), ['KMS_ERR_ENCLAVE_NOT_FOUND', 404]);
      assert.deepEqual((await admin.listEnclaves({ prefix: 'enc-a' })).items, []);
    });

    test('the default enclave always exists and cannot be deleted or created', async () => {
      assert.equal((await admin.enclaveStatus('default')).name, 'default');
      assert.deepEqual(await failure(admin.deleteEnclave('default')), ['KMS_ERR_BAD_REQUEST', 400]);
      assert.deepEqual(await failure(admin.createEnclave('default')), ['KMS_ERR_ENCLAVE_EXISTS', 409]);
      assert.equal((await admin.keyStatus('acc-key')).name, 'acc-key', 'its keys are untouched');
    });

    test('invalid enclave names are 400', async () => {
      for (const name of ['', 'a.b', 'a/b', '-a', 'x'.repeat(81)]) assert.deepEqual(await failure(admin.createEnclave(name), name), ['KMS_ERR_BAD_REQUEST', 400], name);
    });

    test('deleting an enclave deletes its keys, policies and identities', async () => {
      const member = newCert('gone-member');
      await admin.createEnclave('enc-gone');
      const inside = kmsOf(t.admin, 'enc-gone');
      await inside.createKey('gone-key');
      await inside.createPolicy('gone-policy', { allow: { 'KEY:STATUS': '*' } });
      await inside.createIdentity(member.identity, { privilege: 'User' });
      await inside.assignPolicy(member.identity, 'gone-policy');
      assert.equal((await kmsOf(member, 'enc-gone').keyStatus('gone-key')).name, 'gone-key', 'the member may read it');
      await admin.deleteEnclave('enc-gone');
      assert.deepEqual(await failure(inside.keyStatus('gone-key')), ['KMS_ERR_ENCLAVE_NOT_FOUND', 404]);
      assert.deepEqual(await failure(inside.createKey('x')), ['KMS_ERR_ENCLAVE_NOT_FOUND', 404]);
      // Created again under the same name: empty.
      await admin.createEnclave('enc-gone');
      assert.deepEqual(await failure(inside.keyStatus('gone-key')), ['KES_ERR_KEY_NOT_FOUND', 404]);
      assert.deepEqual(await failure(inside.policyStatus('gone-policy')), ['KES_ERR_POLICY_NOT_FOUND', 404]);
      assert.deepEqual(await failure(inside.identityStatus(member.identity)), ['KES_ERR_IDENTITY_NOT_FOUND', 404]);
      assert.deepEqual([(await inside.listKeys()).items, (await inside.listPolicies()).items, (await inside.listIdentities()).items], [[], [], []]);
      assert.deepEqual(await failure(kmsOf(member, 'enc-gone').keyStatus('gone-key')), DENIED, 'the member is gone too');
    });
  });

  describe('policies and identities', () => {
    test('policies: create, get, status, list, overwrite, delete; unknown ones are 404', async () => {
      await admin.createEnclave('pol');
      const k = kmsOf(t.admin, 'pol');
      await k.createPolicy('p-1', { allow: { 'key:generate': ['minio-*', ''], 'KEY:DECRYPT': 'minio-*' }, deny: { 'KEY:GENERATE': 'minio-secret' } });
      await k.createPolicy('p-2', {});
      const p = await k.getPolicy('p-1');
      assert.deepEqual([p.name, p.allow, p.deny, p.createdBy], ['p-1', { 'KEY:GENERATE': ['minio-*'], 'KEY:DECRYPT': ['minio-*'] }, { 'KEY:GENERATE': ['minio-secret'] }, h1(t.admin.identity)]);
      assert.deepEqual((await k.policyStatus(['p-2', 'p-1'])).map((s) => s.name), ['p-2', 'p-1']);
      assert.deepEqual((await k.listPolicies()).items.map((s) => s.name), ['p-1', 'p-2']);
      assert.deepEqual((await k.listPolicies({ prefix: 'p-2' })).items.map((s) => s.name), ['p-2']);
      await k.createPolicy('p-1', { allow: { 'KEY:STATUS': '*' } });
      assert.deepEqual((await k.getPolicy('p-1')).allow, { 'KEY:STATUS': ['*'] }, 'overwritten silently');
      await k.deletePolicy('p-2');
      for (const [what, call] of [
        ['get', () => k.getPolicy('p-2')],
        ['status', () => k.policyStatus('p-2')],
        ['delete', () => k.deletePolicy('p-2')],
        ['batch', () => k.policyStatus(['p-1', 'p-2'])],
        ['other enclave', () => admin.getPolicy('p-1')],
      ] as const) {
        assert.deepEqual(await failure(call(), what), ['KES_ERR_POLICY_NOT_FOUND', 404], what);
      }
      const bad = await post(rawFor(t.admin), '/v1/kms/pol', cmd(CMD.POLICY_CREATE, M.CreatePolicyRequest, { name: 'p-3', allow: { 'KEY:FROB': ['*'] } }));
      assertKmsError(bad, 400, 'invalid request: malformed POLICY:CREATE request');
    });

    test('identities: create, status, list, assign, delete; unknown ones are 404', async () => {
      await admin.createEnclave('ids');
      const k = kmsOf(t.admin, 'ids');
      const [u, a] = [newCert('ids-user'), newCert('ids-admin')];
      await k.createPolicy('ids-p', { allow: { 'KEY:STATUS': '*' } });
      await k.createIdentity(h1(u.identity), { tags: { team: 'storage' } });
      await k.createIdentity(a.identity, { privilege: 'Admin' });
      const s = await k.identityStatus(h1(u.identity));
      assert.deepEqual([s.identity, s.privilege, s.policy, s.isServiceAccount, s.serviceAccounts, s.tags, s.createdBy], [h1(u.identity), 3, '', false, [], { team: 'storage' }, h1(t.admin.identity)]);
      await k.assignPolicy(u.identity, 'ids-p');
      assert.equal((await k.identityStatus(u.identity)).policy, 'ids-p');
      assert.deepEqual([(await k.identityStatus(a.identity)).privilege, (await k.identityStatus(a.identity)).policy], [2, '']);
      const listed = (await k.listIdentities()).items.map((i) => i.identity);
      assert.deepEqual(listed, [h1(u.identity), h1(a.identity)].sort());
      assert.deepEqual(await failure(k.assignPolicy(u.identity, 'no-policy')), ['KES_ERR_POLICY_NOT_FOUND', 404]);
      const stranger = newCert('ids-stranger');
      assert.deepEqual(await failure(k.assignPolicy(stranger.identity, 'ids-p')), ['KES_ERR_IDENTITY_NOT_FOUND', 404]);
      assert.deepEqual(await failure(k.identityStatus(stranger.identity)), ['KES_ERR_IDENTITY_NOT_FOUND', 404]);
      assert.deepEqual(await failure(k.deleteIdentity(stranger.identity)), ['KES_ERR_IDENTITY_NOT_FOUND', 404]);
      assert.deepEqual(await failure(admin.identityStatus(u.identity)), ['KES_ERR_IDENTITY_NOT_FOUND', 404], 'identities belong to their enclave');
      // IDENTITY:CREATE overwrites silently; the overwritten identity loses its policy.
      await k.createIdentity(u.identity, { tags: { team: 'compute' } });
      const again = await k.identityStatus(u.identity);
      assert.deepEqual([again.policy, again.tags], ['', { team: 'compute' }]);
      await k.deleteIdentity(u.identity);
      assert.deepEqual(await failure(k.identityStatus(u.identity)), ['KES_ERR_IDENTITY_NOT_FOUND', 404]);
      const r = rawFor(t.admin);
      assertKmsError(await post(r, '/v1/kms/ids', cmd(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, { identity: h1(u.identity), privilege: 'Root' })), 400, "invalid request: invalid privilege 'Root'");
      assertKmsError(await post(r, '/v1/kms/ids', cmd(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, { identity: 'h1:short' })), 400, "invalid request: invalid identity 'h1:short'");
    });

    test('the config file\'s identities are shown by IDENTITY:STATUS in the default enclave', async () => {
      const a = await admin.identityStatus(t.admin.identity);
      assert.deepEqual([a.identity, a.privilege], [h1(t.admin.identity), 1]);
      const u = await admin.identityStatus(h1(cfgUser.identity));
      assert.deepEqual([u.identity, u.privilege, u.policy], [h1(cfgUser.identity), 3, 'app']);
    });
  });

  test('a User with a policy: allowed and denied exactly as the policy says, through MinKMS and the KES API', async () => {
    const u = newCert('minio');
    for (const name of ['minio-x', 'minio-secret', 'other-x']) await admin.createKey(name);
    await admin.createPolicy('minio', { allow: { 'KEY:GENERATE': 'minio-*', 'KEY:DECRYPT': 'minio-*' }, deny: { 'KEY:GENERATE': 'minio-secret' } });
    await admin.createIdentity(u.identity, { privilege: 'User' });
    await admin.assignPolicy(u.identity, 'minio');
    const k = kmsOf(u);
    const dk = await k.generateKey('minio-x', { associatedData: Buffer.from('{}') });
    assert.deepEqual(await k.decrypt('minio-x', dk.ciphertext, { associatedData: Buffer.from('{}') }), dk.plaintext);
    for (const [what, call] of [
      ['generate denied name', () => k.generateKey('minio-secret')],
      ['generate other key', () => k.generateKey('other-x')],
      ['create', () => k.createKey('minio-y')],
      ['status', () => k.keyStatus('minio-x')],
      ['encrypt', () => k.encrypt('minio-x', Buffer.from('p'))],
      ['list', () => k.listKeys({ prefix: 'minio-' })],
      ['batch with one denied', () => k.generateKeyBatch([{ name: 'minio-x' }, { name: 'minio-secret' }])],
      ['enclave list', () => k.listEnclaves()],
      ['policy read', () => k.getPolicy('minio')],
      ['identity status', () => k.identityStatus(u.identity)],
    ] as const) {
      assert.deepEqual(await failure(call(), what), DENIED, what);
    }
    const c = t.client(u);
    const gen = await c.request('PUT', '/v1/key/generate/minio-x', { context: b64('{}') });
    assert.equal(gen.status, 200, gen.body);
    const dec = await c.request('PUT', '/v1/key/decrypt/minio-x', { ciphertext: gen.json().ciphertext, context: b64('{}') });
    assert.deepEqual([dec.status, dec.json().plaintext], [200, gen.json().plaintext]);
    for (const [method, path] of [
      ['PUT', '/v1/key/generate/minio-secret'],
      ['PUT', '/v1/key/generate/other-x'],
      ['PUT', '/v1/key/create/minio-z'],
      ['GET', '/v1/key/describe/minio-x'],
      ['GET', '/v1/status'],
      ['GET', '/v1/metrics'],
    ] as const) {
      const r = await c.request(method, path, method === 'PUT' ? {} : undefined);
      assert.deepEqual([r.status, r.json()], [403, KES_DENIED], path);
    }
  });

  test('an identity of the config file\'s policies: its KES policy in the default enclave, nothing in other enclaves', async () => {
    for (const name of ['app-1', 'app-secret', 'zzz-1']) await admin.createKey(name);
    await admin.createEnclave('cfg-other');
    await admin.createKey('app-1', { enclave: 'cfg-other' });
    const k = kmsOf(cfgUser);
    const dk = await k.generateKey('app-1');
    assert.deepEqual(await k.decrypt('app-1', dk.ciphertext), dk.plaintext);
    assert.equal((await k.keyStatus('app-1')).name, 'app-1');
    await k.createKey('app-new');
    assert.deepEqual((await k.listKeys({ prefix: 'app-n' })).items.map((i) => i.name), ['app-new']);
    // A listing shows when and by whom a key was made only where its status may be read
    // (/v1/key/describe/app-* does not cover appx), as the KES API shows it.
    await admin.createKey('appx');
    const listed = new Map((await k.listKeys({ prefix: 'app' })).items.map((i) => [i.name, i]));
    assert.deepEqual([listed.get('app-1')!.createdBy, listed.get('app-1')!.createdAt !== undefined], [h1(t.admin.identity), true]);
    assert.deepEqual([listed.get('appx')!.createdBy, listed.get('appx')!.createdAt, listed.get('appx')!.type, listed.get('appx')!.version], ['', undefined, 'AES256', 1]);
    assert.equal((await kes.request('GET', '/v1/key/describe/appx')).status, 200, 'the admin sees it');
    // Deleting a key's only version deletes the key: delete-version alone does not allow that.
    await admin.createKey('app-rotated');
    await admin.createKey('app-rotated', { addVersion: true });
    await k.deleteKey('app-rotated', { version: 1 });
    assert.deepEqual(await failure(k.deleteKey('app-rotated')), DENIED, 'the last version');
    assert.equal((await admin.keyStatus('app-rotated')).version, 2);
    for (const [what, call] of [
      ['generate denied', () => k.generateKey('app-secret')],
      ['generate unlisted', () => k.generateKey('zzz-1')],
      ['encrypt (not in the policy)', () => k.encrypt('app-1', Buffer.from('x'))],
      ['rotate (not in the policy)', () => k.createKey('app-1', { addVersion: true })],
      ['list other prefix', () => k.listKeys({ prefix: 'zzz' })],
      ['policy create (no KES path)', () => k.createPolicy('x')],
      ['identity create (no KES path)', () => k.createIdentity(newCert('x').identity)],
      ['enclave list', () => k.listEnclaves()],
    ] as const) {
      assert.deepEqual(await failure(call(), what), DENIED, what);
    }
    const other = kmsOf(cfgUser, 'cfg-other');
    for (const [what, call] of [
      ['generate', () => other.generateKey('app-1')],
      ['status', () => other.keyStatus('app-1')],
      ['create', () => other.createKey('app-2')],
      ['list', () => other.listKeys({ prefix: 'app' })],
    ] as const) {
      assert.deepEqual(await failure(call(), what), DENIED, `other enclave: ${what}`);
    }
  });

  test('an Admin of an enclave does everything in it, nothing in another, and no enclave management', async () => {
    await admin.createEnclave('adm-a');
    await admin.createEnclave('adm-b');
    const a = newCert('adm-admin');
    await admin.createIdentity(a.identity, { privilege: 'Admin', enclave: 'adm-a' });
    const k = kmsOf(a, 'adm-a');
    await k.createKey('ak');
    await k.createKey('ak', { addVersion: true });
    await k.importKey('ak-imp', Buffer.alloc(32, 3));
    const dk = await k.generateKey('ak');
    assert.deepEqual(await k.decrypt('ak', dk.ciphertext), dk.plaintext);
    await k.mac('ak', Buffer.from('m'));
    assert.deepEqual((await k.listKeys()).items.map((i) => i.name), ['ak', 'ak-imp']);
    await k.createPolicy('ap', { allow: { 'KEY:STATUS': '*' } });
    const user = newCert('adm-user');
    const other = newCert('adm-other-admin');
    await k.createIdentity(user.identity);
    await k.createIdentity(other.identity, { privilege: 'Admin' });
    await k.assignPolicy(user.identity, 'ap');
    assert.equal((await kmsOf(user, 'adm-a').keyStatus('ak')).name, 'ak');
    await k.deleteIdentity(other.identity);
    await k.deleteKey('ak-imp', { allVersions: true });
    await k.deletePolicy('ap');
    assert.ok((await k.listIdentities()).items.length >= 2);

    await admin.createKey('bk', { enclave: 'adm-b' });
    for (const [what, call] of [
      ['other enclave: status', () => k.keyStatus('bk', { enclave: 'adm-b' })],
      ['other enclave: create', () => k.createKey('x', { enclave: 'adm-b' })],
      ['other enclave: list', () => k.listKeys({ enclave: 'adm-b' })],
      ['default enclave: status', () => k.keyStatus('acc-key', { enclave: '' })],
      ['default enclave: create', () => k.createKey('x', { enclave: '' })],
      ['enclave create', () => k.createEnclave('adm-c')],
      ['enclave delete', () => k.deleteEnclave('adm-b')],
      ['enclave delete (own)', () => k.deleteEnclave('adm-a')],
      ['enclave status', () => k.enclaveStatus('adm-a')],
      ['enclave list', () => k.listEnclaves()],
      ['backup', () => k.readDb()],
    ] as const) {
      assert.deepEqual(await failure(call(), what), DENIED, what);
    }
    const r = await rawFor(a).request('POST', '/v1/kms/adm-a', cmd(CMD.ENCLAVE_LIST, M.ListRequest, {}), { 'content-type': 'application/octet-stream' });
    assertKmsError(r, ...SENTINELS.permission, 'enclave list sent to its own enclave');
    assert.equal((await t.client(a).request('GET', '/v1/key/describe/acc-key')).status, 403, 'the KES API is the default enclave');
  });

  test('SysAdmins: created in the default enclave only; they act in every enclave; Admins cannot create or delete them', async () => {
    const s = newCert('runtime-sysadmin');
    const a = newCert('default-admin');
    await admin.createEnclave('sys-x');
    assert.deepEqual(await failure(admin.createIdentity(s.identity, { privilege: 'SysAdmin', enclave: 'sys-x' })), ['KMS_ERR_BAD_REQUEST', 400]);
    await admin.createIdentity(s.identity, { privilege: 'SysAdmin' });
    await admin.createIdentity(a.identity, { privilege: 'Admin' });
    const sys = kmsOf(s);
    await sys.createEnclave('sys-y');
    await sys.createKey('sk', { enclave: 'sys-x' });
    await sys.createKey('sk', { enclave: 'sys-y' });
    assert.equal((await sys.keyStatus('acc-key')).name, 'acc-key');
    assert.equal((await t.client(s).request('GET', '/v1/status')).status, 200, 'and through the KES API');
    await sys.deleteEnclave('sys-y');
    const adm = kmsOf(a);
    assert.deepEqual(await failure(adm.createIdentity(newCert('x').identity, { privilege: 'SysAdmin' })), DENIED);
    assert.deepEqual(await failure(adm.deleteIdentity(s.identity)), DENIED);
    assert.deepEqual(await failure(adm.createIdentity(s.identity, { privilege: 'User' })), DENIED, 'nor overwrite one');
    assert.equal((await admin.identityStatus(s.identity)).privilege, 1);
    // An enclave's Admin may record the SysAdmin as a User of its enclave: the SysAdmin stays one there.
    const x = newCert('sys-x-admin');
    await admin.createIdentity(x.identity, { privilege: 'Admin', enclave: 'sys-x' });
    await kmsOf(x, 'sys-x').createIdentity(s.identity, { privilege: 'User' });
    assert.equal((await kmsOf(x, 'sys-x').identityStatus(s.identity)).privilege, 3);
    await sys.createKey('sk-2', { enclave: 'sys-x' });
    await sys.createEnclave('sys-z');
    await sys.deleteEnclave('sys-z');
  });

  test('a service account has its parent\'s rights, follows their changes and is deleted with it', async () => {
    await admin.createEnclave('sa');
    const parent = newCert('sa-parent');
    const account = newCert('sa-account');
    const k = kmsOf(t.admin, 'sa');
    await k.createKey('sa-1');
    await k.createPolicy('sa-p', { allow: { 'KEY:GENERATE': 'sa-*', 'IDENTITY:CREATE': h1(account.identity) } });
    await k.createPolicy('sa-none', { allow: { 'KEY:STATUS': 'nothing' } });
    await k.createIdentity(parent.identity);
    await k.assignPolicy(parent.identity, 'sa-p');
    await kmsOf(parent, 'sa').createIdentity(account.identity, { serviceAccount: true });
    const s = await k.identityStatus(account.identity);
    assert.deepEqual([s.isServiceAccount, s.privilege, s.createdBy], [true, 3, h1(parent.identity)]);
    assert.deepEqual((await k.identityStatus(parent.identity)).serviceAccounts, [h1(account.identity)]);
    const acc = kmsOf(account, 'sa');
    assert.equal((await acc.generateKey('sa-1')).version, 1, 'the parent\'s rights');
    assert.deepEqual(await failure(acc.createKey('sa-2')), DENIED, 'and no more');
    await k.assignPolicy(parent.identity, 'sa-none');
    assert.deepEqual(await failure(acc.generateKey('sa-1')), DENIED, 'the parent\'s rights changed');
    await k.assignPolicy(parent.identity, 'sa-p');
    assert.equal((await acc.generateKey('sa-1')).version, 1);
    await k.deleteIdentity(parent.identity);
    assert.deepEqual(await failure(k.identityStatus(account.identity)), ['KES_ERR_IDENTITY_NOT_FOUND', 404], 'deleted with its parent');
    assert.deepEqual(await failure(acc.generateKey('sa-1')), DENIED);
    // The config's admin is no runtime identity of the enclave: it has no service accounts.
    assert.deepEqual(await failure(k.createIdentity(newCert('x').identity, { serviceAccount: true })), ['KMS_ERR_BAD_REQUEST', 400]);
  });

  test('a User cannot create an identity that is not its service account, nor an Admin', async () => {
    const u = newCert('creator-user');
    await admin.createPolicy('may-create', { allow: { 'IDENTITY:CREATE': '*', 'IDENTITY:DELETE': '*' } });
    await admin.createIdentity(u.identity);
    await admin.assignPolicy(u.identity, 'may-create');
    const k = kmsOf(u);
    for (const privilege of ['User', 'Admin', 'SysAdmin', ''] as const) {
      const other = newCert(`by-user-${privilege}`);
      assert.deepEqual(await failure(k.createIdentity(other.identity, { privilege }), privilege), DENIED, privilege || '""');
      assert.deepEqual(await failure(admin.identityStatus(other.identity)), ['KES_ERR_IDENTITY_NOT_FOUND', 404]);
    }
    const peer = newCert('peer-admin');
    await admin.createIdentity(peer.identity, { privilege: 'Admin' });
    assert.deepEqual(await failure(k.deleteIdentity(peer.identity)), DENIED, 'nor delete an Admin');
    // Its own service account it may create (and replace).
    const own = newCert('own-account');
    await k.createIdentity(own.identity, { serviceAccount: true });
    await k.createIdentity(own.identity, { serviceAccount: true, tags: { v: '2' } });
    assert.deepEqual((await admin.identityStatus(own.identity)).tags, { v: '2' });
    assert.equal((await admin.identityStatus(own.identity)).isServiceAccount, true);
    // Another User's identity it may not take over as its service account, though its policy
    // names it: the other User keeps its record and policy.
    const victim = newCert('victim-user');
    await admin.createIdentity(victim.identity);
    await admin.assignPolicy(victim.identity, 'may-create');
    assert.deepEqual(await failure(k.createIdentity(victim.identity, { serviceAccount: true })), DENIED);
    const v = await admin.identityStatus(victim.identity);
    assert.deepEqual([v.isServiceAccount, v.policy], [false, 'may-create']);
  });

  test('nobody makes a config identity a runtime identity', async () => {
    const a = newCert('cfg-admin-try');
    await admin.createIdentity(a.identity, { privilege: 'Admin' });
    await admin.createEnclave('cfg-try');
    const message = 'invalid request: the identity is configured in the config file';
    const r = rawFor(t.admin);
    for (const [who, id] of [
      ['the config user', cfgUser.identity],
      ['the config admin', t.admin.identity],
    ] as const) {
      for (const path of ['/v1/kms', '/v1/kms/cfg-try']) {
        assertKmsError(await post(r, path, cmd(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, { identity: h1(id), privilege: 'User' })), 400, message, `${who} at ${path}`);
        assertKmsError(await post(r, path, cmd(CMD.IDENTITY_CREATE, M.CreateIdentityRequest, { identity: id, privilege: 'Admin' })), 400, message, `${who} (hex) at ${path}`);
      }
      assert.deepEqual((await failure(kmsOf(a).createIdentity(id)))[1], 400, `${who} by an Admin`);
    }
    assert.deepEqual(await failure(kmsOf(cfgUser).createIdentity(cfgUser.identity, { serviceAccount: true })), DENIED, 'nor itself');
    assert.deepEqual(await failure(admin.assignPolicy(cfgUser.identity, 'minio')), ['KES_ERR_IDENTITY_NOT_FOUND', 404], 'no policy assignment either');
    assert.equal((await admin.identityStatus(cfgUser.identity)).policy, 'app');
  });

  test('deleting an identity or a policy takes effect on the next request, through both APIs', async () => {
    const u = newCert('short-lived');
    await admin.createKey('eff-1');
    await admin.createPolicy('eff-p', { allow: { 'KEY:GENERATE': 'eff-*' } });
    await admin.createIdentity(u.identity);
    await admin.assignPolicy(u.identity, 'eff-p');
    const k = kmsOf(u);
    const c = t.client(u);
    assert.equal((await k.generateKey('eff-1')).version, 1);
    assert.equal((await c.request('PUT', '/v1/key/generate/eff-1', {})).status, 200);
    await admin.deletePolicy('eff-p');
    assert.deepEqual(await failure(k.generateKey('eff-1')), DENIED);
    assert.equal((await c.request('PUT', '/v1/key/generate/eff-1', {})).status, 403);
    await admin.createPolicy('eff-p', { allow: { 'KEY:GENERATE': 'eff-*' } });
    assert.equal((await k.generateKey('eff-1')).version, 1, 'the assignment names the policy');
    await admin.createPolicy('eff-p', { allow: { 'KEY:GENERATE': 'other-*' } });
    assert.deepEqual(await failure(k.generateKey('eff-1')), DENIED, 'an overwrite takes effect too');
    await admin.createPolicy('eff-p', { allow: { 'KEY:GENERATE': 'eff-*' } });
    assert.equal((await c.request('PUT', '/v1/key/generate/eff-1', {})).status, 200);
    await admin.deleteIdentity(u.identity);
    assert.deepEqual(await failure(k.generateKey('eff-1')), DENIED);
    assert.equal((await c.request('PUT', '/v1/key/generate/eff-1', {})).status, 403);
  });

  test('the config\'s admin is SysAdmin everywhere', async () => {
    await admin.createEnclave('sys-everywhere');
    const k = kmsOf(t.admin, 'sys-everywhere');
    await k.createKey('k');
    await k.createPolicy('p', { allow: { 'KEY:STATUS': '*' } });
    const id = newCert('sys-everywhere-user');
    await k.createIdentity(id.identity, { privilege: 'Admin' });
    assert.equal((await k.keyStatus('k')).name, 'k');
    assert.deepEqual((await k.listPolicies()).items.map((p) => p.name), ['p']);
    assert.deepEqual((await k.listIdentities()).items.map((i) => i.identity), [h1(id.identity)]);
    await k.deleteIdentity(id.identity);
    assert.deepEqual(await failure(admin.readDb()), ['KMS_ERR_BACKUP_NOT_CONFIGURED', 501], 'allowed; just not configured');
    await admin.deleteEnclave('sys-everywhere');
  });

  test('an identity without rights gets 403 access denied on every command, in every enclave', async () => {
    const nobody = newCert('nobody');
    await admin.createEnclave('acc-enclave');
    await admin.createKey('acc-key', { enclave: 'acc-enclave' });
    await admin.createPolicy('acc-policy', {}, { enclave: 'acc-enclave' });
    await admin.createPolicy('acc-policy', {});
    const r = rawFor(nobody);
    for (const path of ['/v1/kms', '/v1/kms/default', '/v1/kms/acc-enclave', '/v1/kms/no-such-enclave']) {
      for (const { name, body } of everyCommand(h1(newCert('subject').identity))) {
        assertKmsError(await post(r, path, body), ...SENTINELS.permission, `${name} at ${path}`);
      }
    }
    // Nothing happened.
    assert.equal((await admin.enclaveStatus('acc-enclave')).name, 'acc-enclave');
    assert.equal((await admin.keyStatus('acc-key')).name, 'acc-key');
  });

  test('backup: GET and PUT /v1/db are for SysAdmins only', async () => {
    const u = newCert('db-user');
    const a = newCert('db-admin');
    await admin.createIdentity(u.identity);
    await admin.createIdentity(a.identity, { privilege: 'Admin' });
    for (const [who, cert] of [
      ['runtime User', u],
      ['runtime Admin', a],
      ['config user', cfgUser],
      ['no rights', newCert('db-nobody')],
    ] as const) {
      const r = rawFor(cert);
      assertKmsError(await r.request('GET', '/v1/db'), 403, PERMISSION, `GET by ${who}`);
      assertKmsError(await r.request('PUT', '/v1/db', Buffer.from('x')), 403, PERMISSION, `PUT by ${who}`);
      assertKmsError(await r.request('POST', '/v1/debug/log', Buffer.alloc(0)), 403, PERMISSION, `log by ${who}`);
    }
    assert.equal((await rawFor(t.admin).request('GET', '/v1/db')).status, 501, 'the admin passes (no backup key configured)');
  });

  /**
   * The property: for each identity and each operation, the KES route and the MinKMS command
   * (each operation of KES_ROUTE_OPERATIONS, each key command) are both allowed or both refused.
   * Only authorization is compared (403 or not): the requests may fail for other reasons.
   */
  describe('no identity can do through one API what its rights forbid through the other', () => {
    const X = { get cert() { return tableX; } };
    const Y = { get cert() { return tableY; } };
    interface Case {
      op: string;
      subject: string;
      kes: [method: string, path: string, body?: object];
      kms: Buffer;
      /** KES routes that perform more than their canonical operation (rewrap, bulk decrypt): KES allowed ⇒ MinKMS allowed. */
      oneWay?: boolean;
      /** Compared for identities with runtime rights only (a config policy names the route's own path). */
      runtimeOnly?: boolean;
    }
    const cases = (): Case[] => {
      const out: Case[] = [];
      const key = (op: string, s: string, kes: Case['kes'], kms: Buffer, oneWay = false) => out.push({ op, subject: s, kes, kms, oneWay });
      for (const s of ['app-1', 'app-secret', 'zzz-1']) {
        key('create', s, ['PUT', P.PATH_KEY_CREATE + s], cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: s }));
        key('rotate', s, ['PUT', P.PATH_KEY_ROTATE + s], cmd(CMD.KEY_CREATE, M.CreateKeyRequest, { name: s, addVersion: true }));
        key('import', s, ['PUT', P.PATH_KEY_IMPORT + s, { key: b64(Buffer.alloc(32)), cipher: 'AES256' }], cmd(CMD.KEY_IMPORT, M.ImportKeyRequest, { name: s, key: Buffer.alloc(32) }));
        key('delete', s, ['DELETE', P.PATH_KEY_DELETE + s], cmd(CMD.KEY_DELETE, M.DeleteKeyRequest, { name: s, allVersions: true }));
        // A version the key does not have: only the authorization of delete-version is compared
        // (deleting a key's only version deletes the key, which needs delete too: tested above).
        key('delete version', s, ['PUT', P.PATH_KEY_DELETE_VERSION + s, { version: 7 }], cmd(CMD.KEY_DELETE, M.DeleteKeyRequest, { name: s, version: 7 }));
        key('status', s, ['GET', P.PATH_KEY_DESCRIBE + s], cmd(CMD.KEY_STATUS, M.KeyStatusRequest, { name: s }));
        key('encrypt', s, ['PUT', P.PATH_KEY_ENCRYPT + s, { plaintext: b64('x') }], cmd(CMD.KEY_ENCRYPT, M.EncryptRequest, { name: s, plaintext: Buffer.from('x') }));
        key('decrypt', s, ['PUT', P.PATH_KEY_DECRYPT + s, { ciphertext: b64(Buffer.alloc(64)) }], cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: s, ciphertext: Buffer.alloc(64) }));
        key('generate', s, ['PUT', P.PATH_KEY_GENERATE + s, {}], cmd(CMD.KEY_GENERATE, M.GenerateKeyRequest, { name: s }));
        key('mac', s, ['PUT', P.PATH_KEY_HMAC + s, { message: b64('m') }], cmd(CMD.KEY_MAC, M.MACRequest, { name: s, message: Buffer.from('m') }));
        const decrypt = cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: s, ciphertext: Buffer.alloc(64) });
        const rewrap: Case['kes'] = ['PUT', P.PATH_KEY_REWRAP + s, { ciphertext: b64(Buffer.alloc(64)) }];
        // A rewrap decrypts: whoever may rewrap may decrypt (config policies also name the rewrap path).
        key('rewrap', s, rewrap, decrypt, true);
        // For runtime rights it is KEY:DECRYPT and KEY:ENCRYPT, exactly (api/operations.ts).
        out.push({ op: 'rewrap (runtime rights)', subject: s, kes: rewrap, kms: Buffer.concat([decrypt, cmd(CMD.KEY_ENCRYPT, M.EncryptRequest, { name: s, plaintext: Buffer.from('x') })]), runtimeOnly: true });
        key('bulk decrypt', s, ['POST', P.PATH_KEY_BULK_DECRYPT + s, [{ ciphertext: b64(Buffer.alloc(64)) }] as unknown as object], cmd(CMD.KEY_DECRYPT, M.DecryptRequest, { name: s, ciphertext: Buffer.alloc(64) }), true);
      }
      for (const prefix of ['app', '', 'zzz']) {
        key('list keys', `${prefix}*`, ['GET', `${P.PATH_KEY_LIST}${prefix}*`], cmd(CMD.KEY_LIST, M.ListRequest, { prefix }));
        key('list policies', `${prefix}*`, ['GET', `${P.PATH_POLICY_LIST}${prefix}*`], cmd(CMD.POLICY_LIST, M.ListRequest, { prefix }));
        key('list identities', `${prefix}*`, ['GET', `${P.PATH_IDENTITY_LIST}${prefix}*`], cmd(CMD.IDENTITY_LIST, M.ListRequest, { prefix }));
      }
      for (const p of ['p-1', 'p-2', 'q-1']) {
        key('policy status', p, ['GET', P.PATH_POLICY_DESCRIBE + p], cmd(CMD.POLICY_STATUS, M.PolicyRequest, { name: p }));
        key('policy read', p, ['GET', P.PATH_POLICY_READ + p], cmd(CMD.POLICY_GET, M.PolicyRequest, { name: p }));
      }
      for (const [label, who] of [
        ['X', X],
        ['Y', Y],
      ] as const) {
        const id = who.cert.identity;
        key('identity status (h1)', label, ['GET', P.PATH_IDENTITY_DESCRIBE + id], cmd(CMD.IDENTITY_STATUS, M.IdentityRequest, { identity: h1(id) }));
        key('identity status (hex)', label, ['GET', P.PATH_IDENTITY_DESCRIBE + id], cmd(CMD.IDENTITY_STATUS, M.IdentityRequest, { identity: id }));
      }
      // Routes of no operation (status, metrics, logs, backup) and enclave management: SysAdmin's.
      key('server', 'status', ['GET', P.PATH_STATUS], cmd(CMD.ENCLAVE_LIST, M.ListRequest, {}));
      key('server', 'metrics', ['GET', P.PATH_METRICS], cmd(CMD.ENCLAVE_STATUS, M.EnclaveStatusRequest, { name: 'default' }));
      return out;
    };

    const identities: { who: string; cert: () => TestCert; allowedSomething: boolean }[] = [];
    let configUser: TestCert;
    let runtimeUser: TestCert;
    let runtimeAdmin: TestCert;
    let none: TestCert;
    before(async () => {
      runtimeUser = newCert('table-user');
      runtimeAdmin = newCert('table-admin');
      none = newCert('table-none');
      configUser = cfgUser;
      for (const name of ['app-1', 'app-secret', 'zzz-1']) await admin.createKey(name).catch(() => undefined);
      await admin.createPolicy('table', {
        allow: {
          'KEY:CREATE': 'app-*',
          'KEY:STATUS': ['app-*', 'zzz-1'],
          'KEY:LIST': 'app*',
          'KEY:GENERATE': 'app-*',
          'KEY:ENCRYPT': 'app-*',
          'KEY:DECRYPT': 'app-*',
          'KEY:MAC': 'app-1',
          'KEY:DELETE': 'zzz-*',
          'POLICY:STATUS': 'p-*',
          'POLICY:GET': 'p-1',
          'POLICY:LIST': '*',
          'IDENTITY:STATUS': '*',
          'IDENTITY:LIST': 'zzz*',
        },
        deny: { 'KEY:GENERATE': 'app-secret', 'KEY:DECRYPT': 'app-secret', 'KEY:ENCRYPT': 'app-1', 'IDENTITY:STATUS': h1(Y.cert.identity) },
      });
      await admin.createIdentity(runtimeUser.identity);
      await admin.assignPolicy(runtimeUser.identity, 'table');
      await admin.createIdentity(runtimeAdmin.identity, { privilege: 'Admin' });
      identities.push(
        { who: 'config-policy user', cert: () => configUser, allowedSomething: true },
        { who: 'runtime User', cert: () => runtimeUser, allowedSomething: true },
        { who: 'runtime Admin', cert: () => runtimeAdmin, allowedSomething: true },
        { who: 'no rights', cert: () => none, allowedSomething: false },
        { who: 'config admin', cert: () => t.admin, allowedSomething: true },
      );
    });

    const allowedKes = (r: TestResponse) => r.status !== 403;
    const allowedKms = (r: RawResponse) => r.status !== 403;

    test('KES_ROUTE_OPERATIONS and the key commands are all covered by the table', () => {
      const covered = new Set(cases().map((c) => c.kes[1].replace(/[^/]*$/, '')));
      for (const route of KES_ROUTE_OPERATIONS.keys()) assert.ok(covered.has(route), `route ${route}`);
      const commands = new Set(cases().flatMap((c) => {
        const out: number[] = [];
        for (let pos = 0; pos < c.kms.length; pos += 6 + c.kms.readUInt32BE(pos + 2)) out.push(c.kms.readUInt16BE(pos));
        return out;
      }));
      for (const c of COMMANDS.filter((c) => c.number >= 201 && c.number < 300 && c.number !== CMD.KEY_LISTVERSIONS)) assert.ok(commands.has(c.number), c.name ?? 'KEY:IMPORT');
      assert.ok(Object.values(OPS).length > 0);
    });

    for (const who of ['config-policy user', 'runtime User', 'runtime Admin', 'no rights', 'config admin']) {
      test(`${who}: every KES route and its MinKMS command agree`, async () => {
        const id = identities.find((i) => i.who === who)!;
        const kesClient = t.client(id.cert());
        const kmsClient = rawFor(id.cert());
        const disagreements: string[] = [];
        let allowed = 0;
        for (const c of cases()) {
          if (c.runtimeOnly && who === 'config-policy user') continue;
          const [method, path, body] = c.kes;
          const viaKes = allowedKes(await kesClient.request(method, path, body));
          const viaKms = allowedKms(await post(kmsClient, '/v1/kms', c.kms));
          if (viaKes) allowed++;
          const agree = c.oneWay ? !viaKes || viaKms : viaKes === viaKms;
          if (!agree) disagreements.push(`${c.op} ${c.subject}: KES ${viaKes ? 'allowed' : 'refused'}, MinKMS ${viaKms ? 'allowed' : 'refused'}`);
        }
        assert.deepEqual(disagreements, []);
        assert.equal(allowed > 0, id.allowedSomething, `allowed ${allowed} operations`);
      });
    }
  });
});

describe('two servers sharing one fs key store', () => {
  let dir: string;
  let a: TestServer;
  let b: TestServer;
  const closers: { close(): void }[] = [];
  /** The cache expiry: the bound on how long a server may act on a change it has not seen (the fs store has no notifications). */
  const EXPIRY_MS = 300;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kes-minkms-shared-'));
    const configure = (config: TestServer['config']) => {
      config.keystore = { type: 'fs', path: join(dir, 'keys') };
      config.cache = { any: EXPIRY_MS, unused: EXPIRY_MS, offline: 0 };
    };
    a = await startTestServer(configure);
    b = await startTestServer(configure);
  });
  after(async () => {
    for (const c of closers) c.close();
    await a?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const kmsAt = (s: TestServer, cert: TestCert, enclave = '') => {
    const k = new KmsClient({ endpoints: `https://127.0.0.1:${s.port}`, ca: s.pki.ca.certPem, cert: cert.certPem, key: cert.keyPem, enclave });
    closers.push(k);
    return k;
  };
  /** Repeats call until it gives the expected result, at most limitMs. */
  const until = async (what: string, call: () => Promise<string>, expected: string, limitMs = 10 * EXPIRY_MS + 5000) => {
    const end = Date.now() + limitMs;
    let last = '';
    while (Date.now() < end) {
      last = await call();
      if (last === expected) return;
      await sleep(50);
    }
    assert.fail(`${what}: still '${last}' after ${limitMs} ms`);
  };
  const outcome = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'ok';
    } catch (err) {
      if (err instanceof KesError) return err.code;
      throw err;
    }
  };

  test('an enclave, an identity and a policy made through one server act on the other', async () => {
    const tenant = a.pki.client({ commonName: 'tenant-admin' });
    const user = a.pki.client({ commonName: 'tenant-user' });
    const onA = kmsAt(a, a.admin);
    await onA.createEnclave('shared');
    await onA.createIdentity(tenant.identity, { privilege: 'Admin', enclave: 'shared' });
    // Nothing about 'shared' was cached by b: it sees the new entries at once.
    assert.equal((await kmsAt(b, b.admin).enclaveStatus('shared')).createdBy, h1(a.admin.identity));
    const tenantOnB = kmsAt(b, tenant, 'shared');
    await tenantOnB.createKey('shared-key');
    await tenantOnB.createPolicy('shared-p', { allow: { 'KEY:GENERATE': 'shared-*' } });
    await tenantOnB.createIdentity(user.identity);
    await tenantOnB.assignPolicy(user.identity, 'shared-p');
    // Made on b, effective on a.
    const userOnA = kmsAt(a, user, 'shared');
    const dk = await userOnA.generateKey('shared-key');
    assert.deepEqual(await tenantOnB.decrypt('shared-key', dk.ciphertext), dk.plaintext);
    assert.equal(await outcome(userOnA.keyStatus('shared-key')), 'KMS_ERR_PERMISSION');

    // A change on one server reaches the other within the cache expiry: b has the policy cached.
    const userOnB = kmsAt(b, user, 'shared');
    assert.equal(await outcome(userOnB.generateKey('shared-key')), 'ok');
    await kmsAt(a, tenant, 'shared').createPolicy('shared-p', { allow: { 'KEY:STATUS': 'shared-*' } });
    await until('the policy overwrite on b', () => outcome(userOnB.generateKey('shared-key')), 'KMS_ERR_PERMISSION');
    assert.equal(await outcome(userOnB.keyStatus('shared-key')), 'ok');
    await kmsAt(a, tenant, 'shared').deleteIdentity(user.identity);
    await until('the identity delete on b', () => outcome(userOnB.keyStatus('shared-key')), 'KMS_ERR_PERMISSION');

    // Deleting the enclave on a: gone on b too.
    await onA.deleteEnclave('shared');
    await until('the enclave delete on b', () => outcome(tenantOnB.keyStatus('shared-key')), 'KMS_ERR_PERMISSION');
    await until('the enclave delete on b (SysAdmin)', () => outcome(kmsAt(b, b.admin, 'shared').keyStatus('shared-key')), 'KMS_ERR_ENCLAVE_NOT_FOUND');
  });
});
