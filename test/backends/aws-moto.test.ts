/**
 * The AWS Secrets Manager key store against moto in server mode (test/helpers/moto.ts), a
 * third-party emulator: the conformance suite (compare-and-swap included), the KES layout in
 * both directions, version stages after a replace, secrets scheduled for deletion, a server on
 * top, and faults (killed, restarted on the same port, hung). Error answers moto cannot be made
 * to give (injected AccessDenied, throttling, resets of single operations, asynchronous forced
 * deletion) are tested against our own fake in src/keystore/aws/secrets-manager.test.ts.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { isKesError } from '../../src/api/errors.js';
import { parseKeyVersion } from '../../src/crypto/key-version.js';
import { AwsSecretsManagerKeyStore, PENDING_STAGE } from '../../src/keystore/aws/secrets-manager.js';
import { KeyStoreUnreachableError, listAll } from '../../src/keystore/keystore.js';
import { describeKeyStore } from '../helpers/keystore-conformance.js';
import { motoSkip, motoVersion, startMoto, type MotoServer } from '../helpers/moto.js';
import { startTestServer } from '../helpers/test-server.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../helpers/vectors.js';

const skip = motoSkip();
/** `moto 5.2.5`: the emulator the tests ran against, in their titles. */
const emulator = skip ? 'moto' : `moto ${motoVersion() ?? '(unknown version)'}`;
const isNotFound = (e: unknown) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND');
const isUnreachable = (e: unknown) => e instanceof KeyStoreUnreachableError && /^aws: /.test(e.message);

/**
 * A read of the AWSCURRENT version, named explicitly: moto answers a read without VersionStage
 * from the version it created last (see CURRENT_STAGE in secrets-manager.ts).
 */
const current = (SecretId: string) => new GetSecretValueCommand({ SecretId, VersionStage: 'AWSCURRENT' });

/** An SDK client of its own, to act on moto as an operator (or KES) would. */
function operator(moto: MotoServer): SecretsManagerClient {
  const c = moto.keystore();
  return new SecretsManagerClient({ endpoint: moto.url, region: c.region, credentials: { accessKeyId: c.credentials!.accessKey!, secretAccessKey: c.credentials!.secretKey! }, maxAttempts: 1 });
}

describeKeyStore(
  `aws (${emulator})`,
  async () => {
    const moto = await startMoto();
    // A small page size, so that listings span many ListSecrets pages.
    const store = await AwsSecretsManagerKeyStore.connect(moto.keystore(), { pageSize: 50 });
    return { store, cleanup: () => moto.close() };
  },
  // 2,500 keys are 2,500 CreateSecret calls: 600 keep moto's share of the run short.
  skip ? { skip } : { manyKeys: 600 },
);

describe(`AWS Secrets Manager key store on ${emulator}`, { skip: skip ?? false }, () => {
  let moto: MotoServer;
  let store: AwsSecretsManagerKeyStore;
  let sm: SecretsManagerClient;
  before(async () => {
    moto = await startMoto();
    store = await AwsSecretsManagerKeyStore.connect(moto.keystore(), { pendingDeletionWaitMs: 500 });
    sm = operator(moto);
  });
  after(async () => {
    sm?.destroy();
    await store?.close();
    await moto?.close();
  });

  test('a secret KES wrote (SecretString = the entry) is read, listed and deleted', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'written-by-kes', SecretString: PROTOBUF_ENTRY }));
    const entry = await store.get('written-by-kes');
    assert.equal(Buffer.from(entry).toString(), PROTOBUF_ENTRY);
    const parsed = parseKeyVersion(entry);
    assert.equal(parsed.createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
    assert.deepEqual(await listAll(store, 'written-by-'), ['written-by-kes']);
    await store.delete('written-by-kes');
    await assert.rejects(sm.send(new GetSecretValueCommand({ SecretId: 'written-by-kes' })), { name: 'ResourceNotFoundException' });
  });

  test('a key openkes creates is a secret KES reads: SecretString = the entry, no SecretBinary', async () => {
    await store.create('written-by-openkes', Buffer.from(PROTOBUF_ENTRY));
    const out = await sm.send(new GetSecretValueCommand({ SecretId: 'written-by-openkes' }));
    assert.equal(out.SecretString, PROTOBUF_ENTRY);
    assert.equal(out.SecretBinary, undefined);
    assert.deepEqual(out.VersionStages, ['AWSCURRENT']);
  });

  test('with kmskey set, secrets are created with that KMS key', async () => {
    const withKms = await AwsSecretsManagerKeyStore.connect({ ...moto.keystore(), kmsKey: 'alias/kes' });
    try {
      await withKms.create('kms-encrypted', Buffer.from('x'));
      assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: 'kms-encrypted' }))).KmsKeyId, 'alias/kes');
      assert.equal(Buffer.from(await withKms.get('kms-encrypted')).toString(), 'x');
    } finally {
      await withKms.close();
    }
  });

  test('binary secrets are read; bytes that are not UTF-8 are written as SecretBinary', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'binary', SecretBinary: Buffer.from([0, 0xff, 0xfe, 7]) }));
    assert.deepEqual(Buffer.from(await store.get('binary')), Buffer.from([0, 0xff, 0xfe, 7]));
    await store.create('not-utf8', Buffer.from([0xc3, 0x28, 0x80]));
    const out = await sm.send(new GetSecretValueCommand({ SecretId: 'not-utf8' }));
    assert.equal(out.SecretString, undefined);
    assert.deepEqual(Buffer.from(out.SecretBinary!), Buffer.from([0xc3, 0x28, 0x80]));
  });

  test('replace moves AWSCURRENT to a new version and leaves no pending label behind', async () => {
    await store.create('rotated', Buffer.from('one'));
    const first = (await sm.send(current('rotated'))).VersionId!;
    await store.replace('rotated', Buffer.from('one'), Buffer.from('two'));
    const now = await sm.send(current('rotated'));
    assert.equal(now.SecretString, 'two');
    assert.notEqual(now.VersionId, first);
    const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: 'rotated', IncludeDeprecated: true }))).Versions ?? [];
    const stages = new Map(versions.map((v) => [v.VersionId, [...(v.VersionStages ?? [])].sort()]));
    assert.deepEqual(stages.get(now.VersionId), ['AWSCURRENT']);
    assert.deepEqual(stages.get(first), ['AWSPREVIOUS']);
    assert.ok(![...stages.values()].some((s) => s.includes(PENDING_STAGE)), `no ${PENDING_STAGE} left: ${JSON.stringify([...stages])}`);
  });

  test('moto refuses to move AWSCURRENT from a version that no longer holds it (what replace relies on)', async () => {
    await store.create('cas', Buffer.from('one'));
    const first = (await sm.send(current('cas'))).VersionId!;
    await store.replace('cas', Buffer.from('one'), Buffer.from('two'));
    const second = (await sm.send(current('cas'))).VersionId!;
    await assert.rejects(
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'cas', VersionStage: 'AWSCURRENT', MoveToVersionId: first, RemoveFromVersionId: first })),
      (e: Error) => e.name === 'InvalidParameterException',
    );
    const now = await sm.send(current('cas'));
    assert.deepEqual([now.VersionId, now.SecretString], [second, 'two']);
  });

  test('a secret deleted with a recovery window is absent; create does not reuse its name; restored, it is back', async () => {
    await store.create('pending', Buffer.from('old value'));
    await store.create('pending-other', Buffer.from('x'));
    await sm.send(new DeleteSecretCommand({ SecretId: 'pending', RecoveryWindowInDays: 7 }));
    await assert.rejects(store.get('pending'), isNotFound);
    await assert.rejects(store.delete('pending'), isNotFound);
    assert.deepEqual(await listAll(store, 'pending'), ['pending-other']);
    // AWS refuses the name with InvalidRequestException (the store's "scheduled for deletion"
    // error, tested against the fake); moto answers ResourceExistsException: key exists.
    await assert.rejects(store.create('pending', Buffer.from('new value')), (e: Error) => {
      assert.ok(isKesError(e, 'KES_ERR_KEY_EXISTS') || /^aws: failed to create 'pending': a secret with this name is scheduled for deletion; /.test(e.message), String(e));
      return true;
    });
    await sm.send(new RestoreSecretCommand({ SecretId: 'pending' }));
    assert.equal(Buffer.from(await store.get('pending')).toString(), 'old value');
  });

  test('status reports the round trip to moto', async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) latencies.push((await store.status()).latencyMs);
    for (const ms of latencies) assert.ok(Number.isFinite(ms) && ms > 0 && ms < 2_000, `latency ${ms} ms`);
  });

  test('kes server with the aws section creates, uses and lists keys in moto', async () => {
    const server = await startTestServer((c) => {
      c.keystore = moto.keystore();
    });
    try {
      const client = server.client();
      assert.equal((await client.request('POST', '/v1/key/create/served-key')).status, 200);
      const gen = await client.request('PUT', '/v1/key/generate/served-key', {});
      assert.equal(gen.status, 200);
      const dec = await client.request('PUT', '/v1/key/decrypt/served-key', { ciphertext: gen.json().ciphertext });
      assert.deepEqual([dec.status, dec.json().plaintext], [200, gen.json().plaintext]);
      const list = await client.request('GET', '/v1/key/list/served-*');
      assert.equal(list.status, 200);
      assert.deepEqual(list.json().names, ['served-key']);
      // The entry in moto is one KES reads: its SecretString parses as a key version.
      const raw = await sm.send(new GetSecretValueCommand({ SecretId: 'served-key' }));
      assert.equal(typeof parseKeyVersion(Buffer.from(raw.SecretString!)).createdBy, 'string');
      const status = await client.request('GET', '/v1/status');
      assert.equal(status.status, 200);
      assert.equal(status.json().keystore_unreachable, undefined);
      assert.equal(typeof status.json().keystore_latency, 'number');
    } finally {
      await server.close();
    }
  });
});

describe(`AWS Secrets Manager key store on ${emulator}: killed, restarted, hung`, { skip: skip ?? false }, () => {
  const calls: [string, (s: AwsSecretsManagerKeyStore) => Promise<unknown>][] = [
    ['status', (s) => s.status()],
    ['create', (s) => s.create('during', Buffer.from('x'))],
    ['get', (s) => s.get('before')],
    ['replace', (s) => s.replace('before', Buffer.from('x'), Buffer.from('y'))],
    ['delete', (s) => s.delete('before')],
    ['list', (s) => listAll(s)],
  ];

  test('killed: every call fails quickly with KeyStoreUnreachableError; restarted on the same port: the store works again', { timeout: 60_000 }, async (t) => {
    const moto = await startMoto();
    try {
      // Default options (3 attempts, 10 s time-out): a refused connection must not wait for the time-out.
      const store = await AwsSecretsManagerKeyStore.connect(moto.keystore());
      await store.create('before', Buffer.from('x'));
      await moto.stop('SIGKILL');
      for (const [what, call] of calls) {
        const start = performance.now();
        await assert.rejects(call(store), isUnreachable, what);
        const ms = performance.now() - start;
        t.diagnostic(`${what} on a killed moto failed after ${Math.round(ms)} ms`);
        assert.ok(ms < 3_000, `${what} took ${Math.round(ms)} ms`);
      }
      await moto.start();
      // moto keeps nothing across a restart: the key is gone, the store works without a reconnect.
      assert.ok((await store.status()).latencyMs >= 0);
      await assert.rejects(store.get('before'), isNotFound);
      await store.create('after', Buffer.from('y'));
      assert.equal(Buffer.from(await store.get('after')).toString(), 'y');
      assert.deepEqual(await listAll(store), ['after']);
      await store.close();
    } finally {
      await moto.close();
    }
  });

  test('hung (SIGSTOP): every call ends with KeyStoreUnreachableError by its time-out; after SIGCONT the store works', { timeout: 60_000 }, async () => {
    // The test's time-out is the assertion that nothing hangs.
    const moto = await startMoto();
    try {
      const store = await AwsSecretsManagerKeyStore.connect(moto.keystore(), { timeoutMs: 500 });
      await store.create('before', Buffer.from('x'));
      moto.pause();
      try {
        const start = performance.now();
        await Promise.all(calls.map(([what, call]) => assert.rejects(call(store), isUnreachable, what)));
        const ms = performance.now() - start;
        assert.ok(ms < 500 + 2_000, `the calls ended after ${Math.round(ms)} ms`);
      } finally {
        moto.resume();
      }
      // The frozen server still got the requests and may apply them now: only check that it works.
      assert.ok((await store.status()).latencyMs >= 0);
      await store.create('after-hang', Buffer.from('y'));
      assert.equal(Buffer.from(await store.get('after-hang')).toString(), 'y');
      await store.close();
    } finally {
      await moto.close();
    }
  });
});
