import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/test-server.js';
import type { KeyStoreConfig } from '../../src/keystore/registry.js';

// Every section of a config file now connects; the parser rejects KES's `kes:` and `generic:`.
// A config built in code may still name a store this version has no backend for.
test('a key store this version has no backend for fails the start with a clear message', async () => {
  await assert.rejects(
    startTestServer((config) => {
      config.keystore = { type: 'kes', endpoint: 'https://127.0.0.1:7373' } as unknown as KeyStoreConfig;
    }),
    { message: "keystore 'kes' is not supported by this version" },
  );
});
