/**
 * The AWS Secrets Manager key store against our fake (test/helpers/fake-aws-secrets-manager.ts).
 * The primary test is against moto, a third-party emulator (test/backends/aws-moto.test.ts);
 * this file covers what moto cannot show: the exact requests and their signing, answers moto
 * does not give (injected service errors, an unknown access key, InvalidRequestException for a
 * name scheduled for deletion, asynchronous forced deletion), dropped or delayed single
 * operations, and other writers acting between the steps of a replace. The conformance suite
 * runs here too, so that the store is covered where moto is not installed.
 */
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { SecretsManagerClient, DeleteSecretCommand, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerKeyStore, endpointUrl, isValidSecretName, PENDING_STAGE, type AwsSecretsManagerOptions } from './secrets-manager.js';
import { isKesError } from '../../api/errors.js';
import { KeyStoreConflictError, KeyStoreUnreachableError, listAll, type KeyStore } from '../keystore.js';
import type { AwsSecretsManagerConfig } from './config.js';
import { parseKeyVersion } from '../../crypto/key-version.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';
import { FakeSecretsManager, type FakeSecretsManagerOptions } from '../../../test/helpers/fake-aws-secrets-manager.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../../../test/helpers/vectors.js';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const isNotFound = (e: unknown) => isKesError(e, 'KES_ERR_KEY_NOT_FOUND');
const isUnreachable = (e: unknown) => e instanceof KeyStoreUnreachableError;
const isConflict = (e: unknown) => e instanceof KeyStoreConflictError;

function configFor(fake: FakeSecretsManager, extra: Partial<AwsSecretsManagerConfig> = {}): AwsSecretsManagerConfig {
  return { type: 'aws', endpoint: fake.url, region: fake.region, credentials: { accessKey: fake.accessKeyId, secretKey: SECRET_KEY }, ...extra };
}

/** A fake and a store connected to it, closed together. */
async function open(fakeOptions: FakeSecretsManagerOptions = {}, options: AwsSecretsManagerOptions = {}, extra: Partial<AwsSecretsManagerConfig> = {}) {
  const fake = await FakeSecretsManager.start(fakeOptions);
  const store = await AwsSecretsManagerKeyStore.connect(configFor(fake, extra), options);
  return { fake, store, close: async () => (await store.close(), await fake.close()) };
}

/** An SDK client of its own, to act on the fake as an operator would. */
function operator(fake: FakeSecretsManager): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint: fake.url, region: fake.region, credentials: { accessKeyId: fake.accessKeyId, secretAccessKey: SECRET_KEY }, maxAttempts: 1 });
}

describeKeyStore('aws (fake Secrets Manager)', async () => {
  const { store, fake } = await open();
  return { store, cleanup: () => fake.close() };
});

describe('AwsSecretsManagerKeyStore requests', () => {
  test('requests are SigV4-signed with the static credentials and region, and name the operation', async () => {
    const { fake, store, close } = await open({ sessionToken: 'session-token-1', region: 'eu-central-1' }, {}, { credentials: { accessKey: 'AKIAFAKEEXAMPLE00001', secretKey: SECRET_KEY, sessionToken: 'session-token-1' } });
    try {
      await store.create('signed', Buffer.from('entry'));
      await store.get('signed');
      await listAll(store);
      await store.delete('signed');
      const calls = fake.requests.filter((r) => r.operation !== 'GET');
      assert.deepEqual(calls.map((r) => r.operation), ['CreateSecret', 'GetSecretValue', 'ListSecrets', 'GetSecretValue', 'DeleteSecret']);
      for (const r of calls) {
        assert.deepEqual([r.accessKeyId, r.region, r.service, r.sessionToken], ['AKIAFAKEEXAMPLE00001', 'eu-central-1', 'secretsmanager', 'session-token-1'], r.operation);
      }
      assert.deepEqual(fake.requestsOf('DeleteSecret')[0]?.body, { SecretId: 'signed', ForceDeleteWithoutRecovery: true });
      assert.deepEqual(fake.requestsOf('GetSecretValue')[0]?.body, { SecretId: 'signed', VersionStage: 'AWSCURRENT' });
    } finally {
      await close();
    }
  });

  test('without credentials in the config the SDK default chain is used (here: the environment)', async () => {
    const fake = await FakeSecretsManager.start({ accessKeyId: 'AKIAFROMENVIRONMENT1' });
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
    process.env.AWS_ACCESS_KEY_ID = 'AKIAFROMENVIRONMENT1';
    process.env.AWS_SECRET_ACCESS_KEY = SECRET_KEY;
    delete process.env.AWS_SESSION_TOKEN;
    try {
      const store = await AwsSecretsManagerKeyStore.connect({ type: 'aws', endpoint: fake.url, region: 'us-west-2' });
      await store.create('from-env', Buffer.from('x'));
      await store.close();
      assert.equal(fake.requestsOf('CreateSecret')[0]?.accessKeyId, 'AKIAFROMENVIRONMENT1');
      assert.equal(fake.requestsOf('CreateSecret')[0]?.region, 'us-west-2');
    } finally {
      for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret], ['AWS_SESSION_TOKEN', saved.token]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await fake.close();
    }
  });

  test('create sends Name, SecretString = entry and the configured KMS key', async () => {
    const { fake, store, close } = await open({}, {}, { kmsKey: 'alias/kes' });
    try {
      await store.create('kes-key', Buffer.from(PROTOBUF_ENTRY));
      const body = fake.requestsOf('CreateSecret')[0]?.body;
      assert.equal(body?.Name, 'kes-key');
      assert.equal(body?.SecretString, PROTOBUF_ENTRY);
      assert.equal(body?.KmsKeyId, 'alias/kes');
      assert.equal(body?.SecretBinary, undefined);
      assert.equal(fake.value('kes-key')?.kmsKeyId, 'alias/kes');
    } finally {
      await close();
    }
  });

  test('entries written by KES (SecretString) and binary secrets (SecretBinary) are read', async () => {
    const { fake, store, close } = await open();
    const sm = operator(fake);
    try {
      await sm.send(new CreateSecretCommand({ Name: 'written-by-kes', SecretString: PROTOBUF_ENTRY }));
      await sm.send(new CreateSecretCommand({ Name: 'binary', SecretBinary: Buffer.from([0, 0xff, 0xfe, 7]) }));
      assert.equal(parseKeyVersion(await store.get('written-by-kes')).createdBy, PROTOBUF_ENTRY_FIELDS.createdBy);
      assert.deepEqual(Buffer.from(await store.get('binary')), Buffer.from([0, 0xff, 0xfe, 7]));
      // Bytes that are not UTF-8 are written as SecretBinary, unchanged.
      await store.create('not-utf8', Buffer.from([0xc3, 0x28, 0x80]));
      assert.deepEqual(fake.value('not-utf8')?.secretBinary, Buffer.from([0xc3, 0x28, 0x80]));
      assert.equal(fake.value('not-utf8')?.secretString, undefined);
    } finally {
      sm.destroy();
      await close();
    }
  });

  test('names the service cannot hold: create fails, get and delete find nothing, no request is sent', async () => {
    const { fake, store, close } = await open();
    try {
      for (const name of ['', 'my key', 'ключ', 'a:b', 'x'.repeat(513)]) {
        assert.equal(isValidSecretName(name), false, name);
        await assert.rejects(store.create(name, Buffer.from('x')), /^Error: aws: failed to create '.*': not a valid secret name$/s, name);
        await assert.rejects(store.get(name), isNotFound, name);
        await assert.rejects(store.delete(name), isNotFound, name);
        if (name !== '') assert.deepEqual(await listAll(store, name), [], name);
      }
      assert.equal(isValidSecretName('my/app_key+1=a.b@c-d'), true);
      assert.deepEqual(fake.requests.filter((r) => r.operation !== 'GET'), []);
    } finally {
      await close();
    }
  });

  test('endpoints without a scheme are https', () => {
    assert.equal(endpointUrl('secretsmanager.us-east-2.amazonaws.com').href, 'https://secretsmanager.us-east-2.amazonaws.com/');
    assert.equal(endpointUrl('http://127.0.0.1:4566').href, 'http://127.0.0.1:4566/');
    assert.throws(() => endpointUrl('https://exa mple.com'), /aws: endpoint 'https:\/\/exa mple.com' is not a valid URL/);
  });
});

describe('AwsSecretsManagerKeyStore replace (compare-and-swap with version stages)', () => {
  let fake: FakeSecretsManager;
  let store: AwsSecretsManagerKeyStore;
  before(async () => {
    ({ fake, store } = await open());
  });
  after(async () => {
    await store.close();
    await fake.close();
  });
  afterEach(() => {
    fake.beforeServe = undefined;
    fake.clearFaults();
  });

  /** The requests sent from index from on, without the status GETs. */
  const since = (from: number) => fake.requests.slice(from).filter((r) => r.operation !== 'GET');
  /** Runs fn once, when the first request of operation arrives. */
  const onFirst = (operation: string, fn: () => void) => {
    fake.beforeServe = (req) => {
      if (req.operation !== operation) return;
      fake.beforeServe = undefined;
      fn();
    };
  };

  test('reads AWSCURRENT, puts a pending version, moves AWSCURRENT from the version read, unlabels', async () => {
    await store.create('swap', Buffer.from('one'));
    const [old] = fake.versions('swap');
    const from = fake.requests.length;
    await store.replace('swap', Buffer.from('one'), Buffer.from('two'));
    const calls = since(from);
    assert.deepEqual(calls.map((r) => r.operation), ['GetSecretValue', 'PutSecretValue', 'UpdateSecretVersionStage', 'UpdateSecretVersionStage']);
    const token = calls[1]!.body.ClientRequestToken as string;
    assert.match(token, /^[0-9a-f-]{36}$/);
    assert.deepEqual(calls[1]!.body, { SecretId: 'swap', ClientRequestToken: token, VersionStages: [PENDING_STAGE], SecretString: 'two' });
    assert.deepEqual(calls[2]!.body, { SecretId: 'swap', VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: old!.id });
    assert.deepEqual(calls[3]!.body, { SecretId: 'swap', VersionStage: PENDING_STAGE, RemoveFromVersionId: token });
    assert.deepEqual(fake.versions('swap'), [
      { id: old!.id, stages: ['AWSPREVIOUS'] },
      { id: token, stages: ['AWSCURRENT'] },
    ]);
    assert.equal(Buffer.from(await store.get('swap')).toString(), 'two');
    // Bytes that are not UTF-8 go in SecretBinary, as in create.
    await store.replace('swap', Buffer.from('two'), Buffer.from([0xc3, 0x28]));
    assert.deepEqual(fake.value('swap')?.secretBinary, Buffer.from([0xc3, 0x28]));
  });

  test('a stale expectation writes nothing', async () => {
    await store.create('stale', Buffer.from('current'));
    const from = fake.requests.length;
    await assert.rejects(store.replace('stale', Buffer.from('old'), Buffer.from('new')), (e: Error) => isConflict(e) && e.message === "aws: 'stale' was changed by another writer");
    assert.deepEqual(since(from).map((r) => r.operation), ['GetSecretValue']);
    assert.equal(fake.versions('stale').length, 1);
  });

  test('of 10 concurrent replaces one moves AWSCURRENT; no pending label is left behind', async () => {
    await store.create('race', Buffer.from('first'));
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.replace('race', Buffer.from('first'), Buffer.from(`value-${i}`))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    // Replaces that read after the winner's move lose at the comparison and put nothing.
    const versions = fake.versions('race');
    assert.ok(versions.length >= 2 && versions.length <= 11, `${versions.length} versions`);
    assert.equal(versions.filter((v) => v.stages.includes('AWSCURRENT')).length, 1);
    assert.deepEqual(versions.filter((v) => v.stages.includes(PENDING_STAGE)), []);
  });

  test('another writer moving AWSCURRENT before the move → conflict; its value stays', async () => {
    await store.create('theirs', Buffer.from('one'));
    onFirst('UpdateSecretVersionStage', () => fake.call('PutSecretValue', { SecretId: 'theirs', SecretString: 'their value' }));
    await assert.rejects(store.replace('theirs', Buffer.from('one'), Buffer.from('mine')), isConflict);
    assert.equal(fake.value('theirs')?.secretString, 'their value');
    const mine = fake.versions('theirs').find((v) => !v.stages.includes('AWSCURRENT') && !v.stages.includes('AWSPREVIOUS'));
    assert.deepEqual(mine?.stages, [], 'the losing version has no label left (deprecated)');
  });

  test('the expected value written back before the move → moved from the version that holds it now', async () => {
    await store.create('aba', Buffer.from('one'));
    onFirst('UpdateSecretVersionStage', () => {
      fake.call('PutSecretValue', { SecretId: 'aba', SecretString: 'theirs' });
      fake.call('PutSecretValue', { SecretId: 'aba', SecretString: 'one' });
    });
    const from = fake.requests.length;
    await store.replace('aba', Buffer.from('one'), Buffer.from('two'));
    assert.equal(fake.value('aba')?.secretString, 'two');
    const moves = since(from).filter((r) => r.operation === 'UpdateSecretVersionStage' && r.body.VersionStage === 'AWSCURRENT');
    const [first, , , back] = fake.versions('aba');
    assert.deepEqual(moves.map((r) => r.body.RemoveFromVersionId), [first!.id, back!.id]);
  });

  test('a secret deleted before the put or before the move is not found, and not created', async () => {
    for (const operation of ['PutSecretValue', 'UpdateSecretVersionStage']) {
      const name = `gone-before-${operation}`;
      await store.create(name, Buffer.from('one'));
      onFirst(operation, () => fake.call('DeleteSecret', { SecretId: name, ForceDeleteWithoutRecovery: true }));
      await assert.rejects(store.replace(name, Buffer.from('one'), Buffer.from('two')), isNotFound, operation);
      assert.equal(fake.names().includes(name), false, operation);
    }
    await assert.rejects(store.replace('never-created', Buffer.from('x'), Buffer.from('y')), isNotFound);
    await assert.rejects(store.replace('not a name', Buffer.from('x'), Buffer.from('y')), isNotFound);
  });

  test('a move that was made but answered with an error (an SDK retry after a lost answer) succeeds', async () => {
    await store.create('retried', Buffer.from('one'));
    fake.beforeServe = (req) => {
      if (req.operation !== 'UpdateSecretVersionStage' || req.body.VersionStage !== 'AWSCURRENT') return;
      fake.beforeServe = undefined;
      fake.call('UpdateSecretVersionStage', req.body);
      fake.inject({ operation: 'UpdateSecretVersionStage', error: { type: 'InvalidParameterException', status: 400 }, times: 1 });
    };
    await store.replace('retried', Buffer.from('one'), Buffer.from('two'));
    assert.equal(fake.value('retried')?.secretString, 'two');
  });

  test('a move refused for another reason is an error, and the pending version is unlabelled', async () => {
    await store.create('denied', Buffer.from('one'));
    const denied = { type: 'AccessDeniedException', status: 400, message: 'User is not authorized to perform secretsmanager:UpdateSecretVersionStage' };
    fake.inject({ operation: 'UpdateSecretVersionStage', error: denied, times: 1 });
    await assert.rejects(store.replace('denied', Buffer.from('one'), Buffer.from('two')), (e: Error) => !isConflict(e) && !isKesError(e) && e.message === `aws: failed to replace 'denied': AccessDeniedException: ${denied.message}`);
    assert.equal(fake.value('denied')?.secretString, 'one');
    assert.deepEqual(fake.versions('denied').map((v) => v.stages), [['AWSCURRENT'], []]);
  });

  test('a put the service refuses is an error; a dropped move is KeyStoreUnreachableError', async () => {
    await store.create('refused', Buffer.from('one'));
    const kms = { type: 'EncryptionFailure', status: 400, message: "Secrets Manager can't encrypt the protected secret text using the provided KMS key." };
    fake.inject({ operation: 'PutSecretValue', error: kms, times: 1 });
    await assert.rejects(store.replace('refused', Buffer.from('one'), Buffer.from('two')), { message: `aws: failed to replace 'refused': EncryptionFailure: ${kms.message}` });
    fake.inject({ operation: 'UpdateSecretVersionStage', reset: true });
    const one = await AwsSecretsManagerKeyStore.connect(configFor(fake), { maxAttempts: 1 });
    try {
      await assert.rejects(one.replace('refused', Buffer.from('one'), Buffer.from('two')), (e: Error) => isUnreachable(e) && /^aws: failed to replace 'refused': service not reachable: /.test(e.message));
    } finally {
      await one.close();
    }
    assert.equal(fake.value('refused')?.secretString, 'one');
  });
});

describe('AwsSecretsManagerKeyStore listing', () => {
  let fake: FakeSecretsManager;
  let store: KeyStore;
  before(async () => {
    ({ fake, store } = await open({}, { pageSize: 7 }));
  });
  after(async () => {
    await store.close();
    await fake.close();
  });

  test('pages through ListSecrets with the name filter; the result is complete and sorted', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `paged-${String((i * 37) % 150).padStart(3, '0')}`);
    for (const n of names) await store.create(n, Buffer.from('x'));
    await store.create('Paged-upper', Buffer.from('x'));
    await store.create('other', Buffer.from('x'));
    const before = fake.requestsOf('ListSecrets').length;
    assert.deepEqual(await listAll(store, 'paged-'), [...names].sort());
    const calls = fake.requestsOf('ListSecrets').slice(before);
    assert.equal(calls.length, Math.ceil(150 / 7));
    for (const [i, c] of calls.entries()) {
      assert.deepEqual(c.body.Filters, [{ Key: 'name', Values: ['paged-'] }], `call ${i}`);
      assert.equal(c.body.MaxResults, 7, `call ${i}`);
      assert.equal(c.body.NextToken === undefined, i === 0, `call ${i}`);
    }
    const all = await listAll(store, '');
    assert.deepEqual(all, [...names, 'Paged-upper', 'other'].sort());
    assert.equal(fake.requestsOf('ListSecrets').at(-1)?.body.Filters, undefined, 'no filter for the empty prefix');
  });

  test('a prefix with characters no secret name holds lists nothing without a request', async () => {
    const before = fake.requests.length;
    assert.deepEqual(await listAll(store, 'ключ'), []);
    assert.deepEqual(await listAll(store, '!neg'), []);
    assert.equal(fake.requests.length, before);
  });
});

describe('AwsSecretsManagerKeyStore and secrets scheduled for deletion', () => {
  test('a secret deleted with a recovery window is absent; its name is not reused silently', async () => {
    const { fake, store, close } = await open({}, { pendingDeletionWaitMs: 1000 });
    const sm = operator(fake);
    try {
      await store.create('pending', Buffer.from('old value'));
      await store.create('pending-other', Buffer.from('x'));
      await sm.send(new DeleteSecretCommand({ SecretId: 'pending', RecoveryWindowInDays: 7 }));
      await assert.rejects(store.get('pending'), isNotFound);
      await assert.rejects(store.delete('pending'), isNotFound);
      assert.deepEqual(await listAll(store, 'pending'), ['pending-other']);
      const err = await store.create('pending', Buffer.from('new value')).then(
        () => assert.fail('create must fail'),
        (e: unknown) => e,
      );
      assert.ok(!isKesError(err) && !(err instanceof KeyStoreUnreachableError), String(err));
      assert.match((err as Error).message, /^aws: failed to create 'pending': a secret with this name is scheduled for deletion; restore it or delete it without recovery window/);
      assert.ok(fake.requestsOf('CreateSecret').filter((r) => r.body.Name === 'pending').length >= 2, 'create was retried');
      assert.ok(fake.names().includes('pending'), 'the recoverable secret is kept');
      assert.equal(fake.requestsOf('DeleteSecret').filter((r) => r.body.ForceDeleteWithoutRecovery === true).length, 0);
    } finally {
      sm.destroy();
      await close();
    }
  });

  test('create after delete waits for the asynchronous forced deletion', async () => {
    const { fake, store, close } = await open({ forceDeleteDelayMs: 1000 });
    try {
      await store.create('again', Buffer.from('one'));
      await store.delete('again');
      await assert.rejects(store.get('again'), isNotFound);
      await store.create('again', Buffer.from('two'));
      assert.equal(Buffer.from(await store.get('again')).toString(), 'two');
      assert.ok(fake.requestsOf('CreateSecret').length >= 3, 'the second create was retried');
    } finally {
      await close();
    }
  });
});

describe('AwsSecretsManagerKeyStore errors', () => {
  let fake: FakeSecretsManager;
  let store: AwsSecretsManagerKeyStore;
  let impatient: AwsSecretsManagerKeyStore;
  before(async () => {
    ({ fake, store } = await open({}, { maxAttempts: 1 }));
    // A second store on the same fake with a short time-out, for the tests of hung calls.
    impatient = await AwsSecretsManagerKeyStore.connect(configFor(fake), { maxAttempts: 1, timeoutMs: 300 });
    await store.create('present', Buffer.from('x'));
  });
  after(async () => {
    await impatient.close();
    await store.close();
    await fake.close();
  });

  const calls: [string, string, (s: KeyStore) => Promise<unknown>][] = [
    ['CreateSecret', 'create', (s) => s.create('new-key', Buffer.from('x'))],
    ['GetSecretValue', 'get', (s) => s.get('present')],
    ['DeleteSecret', 'delete', (s) => s.delete('present')],
    ['ListSecrets', 'list', (s) => listAll(s, 'p')],
  ];

  test('answers of the service are plain errors prefixed with aws and the operation', async () => {
    const errors = [
      { type: 'AccessDeniedException', status: 400, message: 'User is not authorized to perform this operation' },
      { type: 'InternalServiceError', status: 500, message: 'An error occurred on the server side.' },
      { type: 'ThrottlingException', status: 400, message: 'Rate exceeded' },
    ];
    for (const error of errors) {
      for (const [operation, verb, call] of calls) {
        fake.inject({ operation, error, times: 1 });
        const err = await call(store).then(
          () => assert.fail(`${operation} must fail`),
          (e: unknown) => e,
        );
        fake.clearFaults();
        assert.ok(err instanceof Error && !isKesError(err) && !(err instanceof KeyStoreUnreachableError), `${operation} ${error.type}: ${String(err)}`);
        assert.match(err.message, new RegExp(`^aws: failed to ${verb} '[^']*': ${error.type}: ${error.message}$`), `${operation} ${error.type}`);
      }
    }
    const decrypt = { type: 'DecryptionFailure', status: 400, message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key." };
    fake.inject({ operation: 'GetSecretValue', error: decrypt, times: 1 });
    await assert.rejects(store.get('present'), { message: `aws: failed to get 'present': DecryptionFailure: ${decrypt.message}` });
    assert.equal(Buffer.from(await store.get('present')).toString(), 'x');
  });

  test('an unknown access key is an error of the service, and the secret key is never in messages', async () => {
    const other = await AwsSecretsManagerKeyStore.connect({ ...configFor(fake), credentials: { accessKey: 'AKIAUNKNOWN000000000', secretKey: SECRET_KEY } }, { maxAttempts: 1 });
    try {
      for (const [operation, , call] of calls) {
        const err = (await call(other).catch((e: unknown) => e)) as Error;
        assert.ok(!isKesError(err) && !(err instanceof KeyStoreUnreachableError), operation);
        assert.match(err.message, /^aws: failed to \w+ '[^']*': InvalidClientTokenId: The security token included in the request is invalid\.$/, operation);
        assert.ok(!err.message.includes(SECRET_KEY) && !String(err.stack).includes(SECRET_KEY));
      }
    } finally {
      await other.close();
    }
  });

  test('dropped connections are KeyStoreUnreachableError', async () => {
    for (const [operation, verb, call] of calls) {
      fake.inject({ operation, reset: true });
      await assert.rejects(call(store), (e: unknown) => isUnreachable(e) && new RegExp(`^aws: failed to ${verb} '[^']*': service not reachable: `).test((e as Error).message), operation);
      fake.clearFaults();
    }
    fake.inject({ operation: 'GET', reset: true });
    await assert.rejects(store.status(), (e: unknown) => isUnreachable(e) && /^aws: endpoint 'http:\/\/127\.0\.0\.1:\d+' is not reachable: /.test((e as Error).message));
    fake.clearFaults();
    assert.ok((await store.status()).latencyMs >= 0);
  });

  test('a service that does not answer fails every call with KeyStoreUnreachableError after the time-out', async () => {
    for (const [operation, verb, call] of calls) {
      fake.inject({ operation, delayMs: Infinity });
      await assert.rejects(call(impatient), (e: unknown) => isUnreachable(e) && new RegExp(`^aws: failed to ${verb} '[^']*': no answer within 300 ms$`).test((e as Error).message), operation);
      fake.clearFaults();
    }
    fake.inject({ operation: 'GET', delayMs: Infinity });
    await assert.rejects(impatient.status(), (e: unknown) => isUnreachable(e) && /did not answer within 300 ms/.test((e as Error).message));
    fake.clearFaults();
  });

  test('a slow answer within the time-out succeeds', async () => {
    fake.inject({ operation: 'GetSecretValue', delayMs: 200, times: 1 });
    assert.equal(Buffer.from(await store.get('present')).toString(), 'x');
  });

  test('connect fails with KeyStoreUnreachableError when nothing listens at the endpoint', async () => {
    const gone = await FakeSecretsManager.start();
    const config = configFor(gone);
    await gone.close();
    await assert.rejects(AwsSecretsManagerKeyStore.connect(config), (e: unknown) => isUnreachable(e) && /ECONNREFUSED/.test((e as Error).message));
  });

  test('a stopped service: every call is KeyStoreUnreachableError', async () => {
    const s = await open({}, { maxAttempts: 1 });
    await s.store.create('k', Buffer.from('x'));
    await s.fake.close();
    try {
      // Kept-alive connections end with a reset, new ones are refused: both are unreachable.
      for (const [operation, , call] of calls) await assert.rejects(call(s.store), (e: unknown) => isUnreachable(e) && /service not reachable: /.test((e as Error).message), operation);
      await assert.rejects(s.store.status(), isUnreachable);
    } finally {
      await s.store.close();
    }
  });
});
