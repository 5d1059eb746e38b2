/** A client command whose stdout reader goes away (`kes metric | head -3`) ends quietly. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApiKey } from '../../src/auth/api-key.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { startCli } from './run-cli.js';

describe('kes writing into a closed pipe', () => {
  let t: TestServer;
  const admin = ApiKey.generate();
  before(async () => {
    t = await startTestServer((config) => {
      config.admin = admin.identity;
    });
  });
  after(() => t.close());

  test('kes metric | head -1: exit 0, nothing on stderr', async () => {
    const env = { KES_SERVER: `127.0.0.1:${t.port}`, KES_API_KEY: admin.toString(), KES_CAPATH: join(t.dir, 'ca.crt') };
    const cli = startCli(['metric', '--rate', '50ms'], env);
    await cli.waitFor(/\n/);
    cli.child.stdout!.destroy(); // the reader exits, as head does after its lines
    assert.deepEqual([await cli.exited, cli.stderr()], [0, '']);
  });
});
