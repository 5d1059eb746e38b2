/**
 * `kes migrate` copies a rotated key with every version: the entry is copied byte for byte, so
 * a server on the destination store decrypts data sealed with each version.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { KesClient } from '../../src/client/index.js';
import { FsKeyStore } from '../../src/keystore/fs/fs.js';
import { startTestServer } from '../helpers/test-server.js';
import { kes } from '../helpers/cli-io.js';

const dir = mkdtempSync(join(tmpdir(), 'kes-migrate-rings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A server on the filesystem store at path, and an admin client of it. */
async function serverOn(path: string) {
  const admin = ApiKey.generate();
  const t = await startTestServer((config) => {
    config.admin = admin.identity;
    config.keystore = { type: 'fs', path };
  });
  const client = new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: admin, ca: t.pki.ca.certPem });
  return { client, close: async () => (client.close(), await t.close()) };
}

/** A migrate config file naming the filesystem store at path. */
function config(name: string, path: string): string {
  const file = join(dir, name);
  writeFileSync(file, `keystore:\n  fs:\n    path: ${path}\n`);
  return file;
}

test('a rotated key is migrated with every version: the copy decrypts the data of each', async () => {
  const from = join(dir, 'src');
  const to = join(dir, 'dst');
  const context = Buffer.from('bucket/object');

  const source = await serverOn(from);
  await source.client.createKey('ring');
  const v1 = await source.client.generateKey('ring', context);
  assert.equal(await source.client.rotateKey('ring', { key: Buffer.alloc(32, 7), cipher: 'ChaCha20' }), 2);
  const v2 = await source.client.generateKey('ring', context);
  assert.equal(await source.client.rotateKey('ring'), 3);
  const v3 = await source.client.generateKey('ring', context);
  const described = await source.client.describeKey('ring');
  await source.close();

  const r = await kes(['migrate', '--from', config('from.yml', from), '--to', config('to.yml', to)], {});
  assert.deepEqual(r, { code: 0, stdout: 'Done: 1 key migrated, 0 skipped.\n', stderr: '' });
  const [src, dst] = await Promise.all([FsKeyStore.open(from), FsKeyStore.open(to)]);
  assert.deepEqual(Buffer.from(await dst.get('ring')), Buffer.from(await src.get('ring')), 'the entry, byte for byte');

  const copy = await serverOn(to);
  try {
    assert.deepEqual(await copy.client.describeKey('ring'), described, 'the same versions, dates and owners');
    for (const [version, dek] of [[1, v1], [2, v2], [3, v3]] as const) {
      assert.deepEqual(await copy.client.decrypt('ring', dek.ciphertext, context), dek.plaintext, `data of version ${version}`);
    }
  } finally {
    await copy.close();
  }
});
