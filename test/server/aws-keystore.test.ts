/** The server on the AWS Secrets Manager key store (a fake of the service, protocol.md §9.3). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestClient } from '../helpers/https-client.js';
import { FakeSecretsManager } from '../helpers/fake-aws-secrets-manager.js';
import { PROTOBUF_ENTRY, PROTOBUF_ENTRY_FIELDS } from '../helpers/vectors.js';
import { parseKeyVersion } from '../../src/crypto/key-version.js';
import type { AwsSecretsManagerConfig } from '../../src/keystore/aws/config.js';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const b64 = (s: string) => Buffer.from(s).toString('base64');

function awsConfig(fake: FakeSecretsManager): AwsSecretsManagerConfig {
  return { type: 'aws', endpoint: fake.url, region: 'us-east-1', credentials: { accessKey: fake.accessKeyId, secretKey: SECRET_KEY } };
}

describe('server on AWS Secrets Manager', () => {
  let fake: FakeSecretsManager;
  let t: TestServer;
  let c: TestClient;
  before(async () => {
    fake = await FakeSecretsManager.start();
    t = await startTestServer((config) => {
      config.keystore = awsConfig(fake);
      config.keys = ['declared-key'];
    });
    c = t.client();
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  test('keys are created as secrets holding the KES entry, and used', async () => {
    assert.equal((await c.request('POST', '/v1/key/create/app-key')).status, 200);
    const stored = fake.value('app-key')?.secretString;
    assert.ok(stored, 'secret created');
    assert.equal(parseKeyVersion(Buffer.from(stored)).createdBy, t.admin.identity);
    assert.equal((await c.request('POST', '/v1/key/create/app-key')).status, 400);

    const enc = await c.request('PUT', '/v1/key/encrypt/app-key', { plaintext: b64('hello'), context: b64('ctx') });
    assert.equal(enc.status, 200);
    const dec = await c.request('PUT', '/v1/key/decrypt/app-key', { ciphertext: enc.json().ciphertext, context: b64('ctx') });
    assert.equal(Buffer.from(dec.json().plaintext, 'base64').toString(), 'hello');

    assert.ok(fake.value('declared-key'), 'the declared key was created at start');
    assert.deepEqual((await c.request('GET', '/v1/key/list/*')).json(), { names: ['app-key', 'declared-key'] });
  });

  test('a key KES stored in Secrets Manager is read', async () => {
    const sm = await import('@aws-sdk/client-secrets-manager');
    const client = new sm.SecretsManagerClient({ endpoint: fake.url, region: 'us-east-1', credentials: { accessKeyId: fake.accessKeyId, secretAccessKey: SECRET_KEY } });
    await client.send(new sm.CreateSecretCommand({ Name: 'from-kes', SecretString: PROTOBUF_ENTRY }));
    client.destroy();
    const r = await c.request('GET', '/v1/key/describe/from-kes');
    assert.equal(r.status, 200);
    assert.equal(r.json().created_by, PROTOBUF_ENTRY_FIELDS.createdBy);
    assert.equal(r.json().created_at, PROTOBUF_ENTRY_FIELDS.createdAt);
  });

  test('delete removes the secret without recovery window', async () => {
    await c.request('POST', '/v1/key/create/short-lived');
    assert.equal((await c.request('DELETE', '/v1/key/delete/short-lived')).status, 200);
    assert.equal(fake.value('short-lived'), undefined);
    assert.ok(!fake.names().includes('short-lived'));
    assert.deepEqual(fake.requestsOf('DeleteSecret').at(-1)?.body, { SecretId: 'short-lived', ForceDeleteWithoutRecovery: true });
    assert.equal((await c.request('DELETE', '/v1/key/delete/short-lived')).status, 404);
    assert.equal((await c.request('GET', '/v1/key/describe/short-lived')).status, 404);
  });

  test('ready and status report the store; an unreachable service is 504 on /v1/ready', async () => {
    assert.equal((await c.request('GET', '/v1/ready')).status, 200);
    assert.ok((await c.request('GET', '/v1/status')).json().keystore_latency > 0);
    fake.inject({ operation: 'GET', reset: true });
    try {
      assert.equal((await c.request('GET', '/v1/ready')).status, 504);
      assert.equal((await c.request('GET', '/v1/status')).json().keystore_unreachable, true);
    } finally {
      fake.clearFaults();
    }
    assert.equal((await c.request('GET', '/v1/ready')).status, 200);
  });

  test('failures of the service are 502 with a generic message; the log names them without secrets', async () => {
    fake.inject({ operation: 'CreateSecret', error: { type: 'AccessDeniedException', status: 400, message: 'not authorized to perform secretsmanager:CreateSecret' } });
    fake.inject({ operation: 'GetSecretValue', reset: true });
    try {
      const created = await c.request('POST', '/v1/key/create/denied');
      assert.deepEqual([created.status, created.json().message], [502, 'failed to create key']);
      const read = await c.request('GET', '/v1/key/describe/never-cached');
      assert.deepEqual([read.status, read.json().message], [502, 'failed to read key']);
    } finally {
      fake.clearFaults();
    }
    const log = t.stderr();
    assert.match(log, /aws: failed to create 'denied': AccessDeniedException: not authorized/);
    assert.match(log, /aws: failed to get 'never-cached': service not reachable/);
    assert.ok(!log.includes(SECRET_KEY), 'the secret key is not logged');
    const entry = fake.requestsOf('CreateSecret').find((r) => r.body.Name === 'denied')?.body.SecretString as string;
    assert.ok(entry && !log.includes(entry), 'the key entry is not logged');
  });
});

test('the server does not start when the Secrets Manager endpoint does not answer', async () => {
  const gone = await FakeSecretsManager.start();
  const config = awsConfig(gone);
  await gone.close();
  await assert.rejects(
    startTestServer((c) => {
      c.keystore = config;
    }),
    /aws: endpoint 'http:\/\/127\.0\.0\.1:\d+' is not reachable: connect ECONNREFUSED/,
  );
});
