/** The etcd test helper: skipping rules, member life cycle, clean-up. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { etcdSkip, startEtcd } from './etcd.js';

const helper = new URL('./etcd.ts', import.meta.url).pathname;

/** Runs code importing the helper in a fresh process without etcd on the PATH. */
function withoutEtcd(code: string, ci: boolean): string {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent' };
  delete env.CI;
  if (ci) env.CI = 'true';
  const script = `import * as h from ${JSON.stringify(helper)};\n${code}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('etcd test helper', () => {
  test('without etcd: skip with the install command when CI is unset, fail when it is set', () => {
    assert.equal(withoutEtcd('console.log(h.etcdSkip())', false), 'etcd is not installed; to run these tests: apt-get install etcd-server etcd-client');
    assert.equal(withoutEtcd('console.log(String(h.etcdSkip()))', true), 'undefined');
    const message = withoutEtcd('await h.startEtcd().then(() => console.log("started"), (e) => console.log(e.message))', true);
    assert.match(message, /^etcd is not installed \(CI is set.*\): apt-get install etcd-server etcd-client$/);
  });

  test('members stop, pause, resume and restart; close kills them and removes the dir', { skip: etcdSkip() ?? false, timeout: 60_000 }, async () => {
    const etcd = await startEtcd();
    const member = etcd.members[0];
    assert.ok(member);
    try {
      assert.match(member.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(await member.isHealthy(), true);
      member.pause();
      assert.equal(await member.isHealthy(), false, 'a paused member does not answer');
      member.resume();
      await etcd.waitHealthy();
      const first = member.pid;
      await member.stop();
      assert.equal(member.running, false);
      assert.equal(await member.isHealthy(), false);
      await member.start();
      assert.notEqual(member.pid, first);
      assert.equal(await member.isHealthy(), true);
    } finally {
      const pid = member.pid;
      await etcd.close();
      assert.ok(pid !== undefined);
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the process is gone');
      assert.equal(existsSync(etcd.dir), false);
    }
  });
});
