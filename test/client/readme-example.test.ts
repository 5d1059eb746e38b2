/** The README's envelope-encryption example runs as written against a real server. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KesClient, ApiKey } from '../../src/client/index.js';
import { startTestServer } from '../helpers/test-server.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(root, 'test', '.readme-example-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('encryptFile / decryptFile from the README round-trip a file through a data key', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('async function encryptFile'));
  assert.ok(block, 'the README has the example');
  const module = join(dir, 'example.ts');
  writeFileSync(module, `import type { KesClient } from '../../src/client/index.js';\n${block}\nexport { encryptFile, decryptFile };\n`);
  const { encryptFile, decryptFile } = (await import(pathToFileURL(module).href)) as {
    encryptFile: (k: KesClient, p: string) => Promise<void>;
    decryptFile: (k: KesClient, p: string) => Promise<Buffer>;
  };

  const admin = ApiKey.generate();
  const t = await startTestServer((c) => {
    c.admin = admin.identity;
  });
  try {
    const kes = new KesClient({ endpoints: `127.0.0.1:${t.port}`, apiKey: admin, ca: t.pki.ca.certPem });
    await kes.createKey('my-app');
    const file = join(tmpdir(), `kes-readme-${process.pid}.txt`);
    writeFileSync(file, 'the quick brown fox');
    await encryptFile(kes, file);
    assert.ok(!readFileSync(file + '.enc', 'utf8').includes('quick brown'));
    assert.equal((await decryptFile(kes, file)).toString(), 'the quick brown fox');
    rmSync(file);
    rmSync(file + '.enc');
    kes.close();
  } finally {
    await t.close();
  }
});
