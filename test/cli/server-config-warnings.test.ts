/**
 * `kes server` and config typos: unknown fields are ignored, as KES does, with one warning each
 * (not one per worker) saying what was probably meant; `--strict-config` makes them errors.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli } from './run-cli.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { serverConfigYaml } from '../helpers/server-config-file.js';
import { ApiKey } from '../../src/auth/api-key.js';

describe('kes server: config warnings', () => {
  let dir: string;
  let pki: TestPki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kes-warn-'));
    pki = createTestPki();
    pki.writeFiles(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, edit: (yaml: string) => string) => {
    const file = join(dir, `${name}.yml`);
    writeFileSync(file, edit(serverConfigYaml({ admin: pki.client().identity, dir, sections: 'policy:\n  app:\n    alow: [/v1/status]\n' })));
    return file;
  };

  test('a typo is a warning, once, with a suggestion; the server starts', async () => {
    const file = write('typo', (y) => y);
    const cli = startCli(['server', '--config', file, '--workers', '2']);
    try {
      await cli.waitFor(/Server is up and running/);
      assert.match(cli.stderr(), /^Warning: .*typo\.yml:\d+: policy\.app\.alow: unknown field, ignored \(did you mean "allow"\?\)$/m);
      assert.equal(cli.stderr().match(/alow/g)?.length, 1, cli.stderr());
    } finally {
      cli.child.kill('SIGTERM');
    }
    const code = await cli.exited;
    assert.equal(code, 0, `signal ${cli.child.signalCode}\n${cli.stdout()}\n${cli.stderr()}`);
  });

  test('--strict-config refuses it', async () => {
    const file = write('strict', (y) => y);
    const r = await runCli(['server', '--config', file, '--strict-config']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: .*strict\.yml:\d+: policy\.app\.alow: unknown field, ignored \(did you mean "allow"\?\) \(an error with --strict-config\)\n$/);
  });

  test('an API key as admin.identity: the admin is disabled, and the warning names its identity', async () => {
    const key = ApiKey.generate();
    const file = write('apikey', (y) => y.replace(/identity: .*/, `identity: ${key.toString()}`));
    const cli = startCli(['server', '--config', file, '--workers', '1']);
    try {
      await cli.waitFor(/Server is up and running/);
      assert.match(cli.stderr(), new RegExp(`admin\\.identity.*API key.*${key.identity}`));
      assert.doesNotMatch(cli.stderr() + cli.stdout(), new RegExp(key.toString().slice(7)), 'the API key itself is never printed');
      assert.match(cli.stdout(), /Admin\s+<disabled>/);
    } finally {
      cli.child.kill('SIGTERM');
    }
    await cli.exited;
  });
});
