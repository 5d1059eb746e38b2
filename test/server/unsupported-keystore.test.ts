import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/test-server.js';

test('a key store section this version cannot connect to fails the start with a clear message', async () => {
  await assert.rejects(
    startTestServer((config) => {
      config.keystore = { type: 'aws', endpoint: 'https://secretsmanager.us-east-1.amazonaws.com', region: 'us-east-1' };
    }),
    { message: "keystore 'aws' is not supported by this version" },
  );
});
