/**
 * A real server in a child process, for tests that try to crash it: the test sees a crash as
 * the child's exit (with its signal and stderr) instead of dying with it. Same set-up as
 * startTestServer: the test PKI, an admin certificate, the in-memory key store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../cli/run-cli.js';
import type { TestCert, TestPki } from './certs.js';
import { testServerConfig, type Configure } from './test-server.js';

export interface ServerProcess {
  port: number;
  pki: TestPki;
  admin: TestCert;
  child: ChildProcess;
  /** The exit code or signal, once the process has exited; undefined while it runs. */
  exit(): string | undefined;
  stderr(): string;
  close(): Promise<void>;
}

export async function startServerProcess(configure: Configure = () => undefined): Promise<ServerProcess> {
  const { pki, admin, dir, config } = testServerConfig(configure, 'kes-proc-');
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/server-process-main.ts', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exit: string | undefined;
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => ((exit = signal ?? `code ${code}`), resolve())));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`server process exited (${exit}) before listening:\n${err}`)));
  });
  return {
    port,
    pki,
    admin,
    child,
    exit: () => exit,
    stderr: () => err,
    async close() {
      if (exit === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
