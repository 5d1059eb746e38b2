import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/test-server.js';

test('a key store section this version cannot connect to fails the start with a clear message', async () => {
  await assert.rejects(
    startTestServer((config) => {
      config.keystore = { type: 'azure', endpoint: 'https://example.vault.azure.net' };
    }),
    { message: "keystore 'azure' is not supported by this version" },
  );
});
