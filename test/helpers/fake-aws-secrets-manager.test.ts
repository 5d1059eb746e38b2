/**
 * The fake follows the Secrets Manager API reference where the store relies on it: versions,
 * staging labels, PutSecretValue and UpdateSecretVersionStage. Driven through the AWS SDK, so
 * the requests are exactly what the SDK sends.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { FakeSecretsManager } from './fake-aws-secrets-manager.js';

/** A version id of the documented length (32…64 characters). */
const id = (n: number) => `version-${String(n).padStart(24, '0')}`;

/** The name of the error a promise rejects with. */
const failure = (p: Promise<unknown>) => p.then(() => 'no error', (e: { name?: string }) => e.name);

describe('FakeSecretsManager: versions and staging labels', () => {
  let fake: FakeSecretsManager;
  let sm: SecretsManagerClient;
  before(async () => {
    fake = await FakeSecretsManager.start();
    sm = new SecretsManagerClient({ endpoint: fake.url, region: fake.region, credentials: { accessKeyId: fake.accessKeyId, secretAccessKey: 'secret' }, maxAttempts: 1 });
  });
  after(async () => {
    sm.destroy();
    await fake.close();
  });

  const stages = (name: string) => Object.fromEntries(fake.versions(name).map((v) => [v.id, v.stages]));

  test('PutSecretValue: without VersionStages AWSCURRENT moves to the new version, AWSPREVIOUS follows', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'p', SecretString: 'one', ClientRequestToken: id(1) }));
    const out = await sm.send(new PutSecretValueCommand({ SecretId: 'p', SecretString: 'two', ClientRequestToken: id(2) }));
    assert.deepEqual([out.VersionId, out.VersionStages], [id(2), ['AWSCURRENT']]);
    await sm.send(new PutSecretValueCommand({ SecretId: 'p', SecretString: 'three', ClientRequestToken: id(3) }));
    assert.deepEqual(stages('p'), { [id(1)]: [], [id(2)]: ['AWSPREVIOUS'], [id(3)]: ['AWSCURRENT'] });
    const got = await sm.send(new GetSecretValueCommand({ SecretId: 'p' }));
    assert.deepEqual([got.VersionId, got.SecretString, got.VersionStages], [id(3), 'three', ['AWSCURRENT']]);
    // Deprecated versions (no label) are not listed.
    const listed = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['p'] }] }));
    assert.deepEqual(listed.SecretList?.[0]?.SecretVersionsToStages, { [id(2)]: ['AWSPREVIOUS'], [id(3)]: ['AWSCURRENT'] });
  });

  test('PutSecretValue: with VersionStages only those labels move; retries with the same token are idempotent', async () => {
    await sm.send(new CreateSecretCommand({ Name: 's', SecretString: 'one', ClientRequestToken: id(1) }));
    await sm.send(new PutSecretValueCommand({ SecretId: 's', SecretString: 'two', ClientRequestToken: id(2), VersionStages: ['MINE'] }));
    await sm.send(new PutSecretValueCommand({ SecretId: 's', SecretString: 'two', ClientRequestToken: id(2), VersionStages: ['MINE'] }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 's' }))).SecretString, 'one');
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 's', VersionStage: 'MINE' }))).SecretString, 'two');
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 's', VersionId: id(2) }))).SecretString, 'two');
    assert.equal(await failure(sm.send(new GetSecretValueCommand({ SecretId: 's', VersionId: id(2), VersionStage: 'AWSCURRENT' }))), 'ResourceNotFoundException');
    assert.equal(await failure(sm.send(new PutSecretValueCommand({ SecretId: 's', SecretString: 'other', ClientRequestToken: id(2) }))), 'ResourceExistsException');
    // The label moves off the version that had it.
    await sm.send(new PutSecretValueCommand({ SecretId: 's', SecretString: 'three', ClientRequestToken: id(3), VersionStages: ['MINE'] }));
    assert.deepEqual(stages('s'), { [id(1)]: ['AWSCURRENT'], [id(2)]: [], [id(3)]: ['MINE'] });
    assert.equal(await failure(sm.send(new PutSecretValueCommand({ SecretId: 'missing', SecretString: 'x' }))), 'ResourceNotFoundException');
  });

  test('UpdateSecretVersionStage: a label attached elsewhere moves only with the matching RemoveFromVersionId', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'u', SecretString: 'one', ClientRequestToken: id(1) }));
    await sm.send(new PutSecretValueCommand({ SecretId: 'u', SecretString: 'two', ClientRequestToken: id(2), VersionStages: ['PENDING'] }));
    await sm.send(new PutSecretValueCommand({ SecretId: 'u', SecretString: 'three', ClientRequestToken: id(3), VersionStages: ['OTHER'] }));
    const move = (from: string | undefined) => sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'AWSCURRENT', MoveToVersionId: id(2), RemoveFromVersionId: from }));
    assert.equal(await failure(move(undefined)), 'InvalidParameterException');
    assert.equal(await failure(move(id(3))), 'InvalidParameterException');
    assert.equal(await failure(move(id(9))), 'ResourceNotFoundException');
    assert.deepEqual(stages('u'), { [id(1)]: ['AWSCURRENT'], [id(2)]: ['PENDING'], [id(3)]: ['OTHER'] }, 'refused moves change nothing');
    await move(id(1));
    assert.deepEqual(stages('u'), { [id(1)]: ['AWSPREVIOUS'], [id(2)]: ['AWSCURRENT', 'PENDING'], [id(3)]: ['OTHER'] });
    // From the version read before: refused now that AWSCURRENT is elsewhere.
    const stale = sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'AWSCURRENT', MoveToVersionId: id(3), RemoveFromVersionId: id(1) }));
    assert.equal(await failure(stale), 'InvalidParameterException');
    // Removing a label: only from the version that has it.
    const remove = (from: string) => sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'PENDING', RemoveFromVersionId: from }));
    assert.equal(await failure(remove(id(3))), 'InvalidParameterException');
    await remove(id(2));
    assert.deepEqual(stages('u'), { [id(1)]: ['AWSPREVIOUS'], [id(2)]: ['AWSCURRENT'], [id(3)]: ['OTHER'] });
  });

  test('a secret scheduled for deletion refuses new versions and label moves', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'd', SecretString: 'one', ClientRequestToken: id(1) }));
    await sm.send(new DeleteSecretCommand({ SecretId: 'd', RecoveryWindowInDays: 7 }));
    assert.equal(await failure(sm.send(new PutSecretValueCommand({ SecretId: 'd', SecretString: 'two' }))), 'InvalidRequestException');
    assert.equal(await failure(sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'd', VersionStage: 'X', MoveToVersionId: id(1) }))), 'InvalidRequestException');
  });
});
