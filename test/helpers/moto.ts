/**
 * Starts moto (PyPI `moto[server]`, https://docs.getmoto.org) in server mode for tests: an
 * emulator of AWS APIs, Secrets Manager among them, on a free port of 127.0.0.1. It keeps its
 * state in memory only: a stopped or killed server forgets every secret.
 *
 *   const skip = motoSkip();                   // a message when moto_server is not installed
 *   const moto = await startMoto();            // moto_server -H 127.0.0.1 -p <free port>
 *   moto.keystore()                            // a `keystore.aws.secretsmanager` config for it
 *   await moto.stop(); await moto.start();     // an outage, then a fresh (empty) server on the same port
 *   moto.pause(); moto.resume();               // a hung server (SIGSTOP / SIGCONT)
 *   await moto.close();                        // kills it and removes its log
 *
 * The binary: `$MOTO_SERVER` (a path), else `moto_server` on the PATH, else the virtualenv that
 * `.ci/run` installs moto into ({@link MOTO_VENV}). When none is there, {@link motoSkip} gives a
 * skip message, unless `CI` is set: then nothing is skipped and startMoto fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AwsSecretsManagerConfig } from '../../src/keystore/aws/config.js';
import { forgetDir, removeDirAtExit, ServiceProcess } from './service-process.js';

/** The virtualenv `.ci/run` installs moto into. */
export const MOTO_VENV = join(homedir(), '.cache', 'openkes', 'moto');

/** How to install moto where the helper finds it. */
export const MOTO_INSTALL_HINT = `python3 -m venv ${MOTO_VENV} && ${MOTO_VENV}/bin/pip install 'moto[server]' (or set MOTO_SERVER to a moto_server binary)`;

/** The region and credentials the tests use; moto accepts any. */
export const MOTO_REGION = 'us-east-1';
export const MOTO_CREDENTIALS = { accessKey: 'AKIAMOTOTESTKEY00001', secretKey: 'moto-test-secret-key' };

const STARTUP_TIMEOUT_MS = 30_000;

let binary: string | null | undefined;

/** The moto_server binary to start, or undefined when none is installed. */
export function motoServerBinary(): string | undefined {
  if (binary === undefined) {
    const candidates = [process.env.MOTO_SERVER, 'moto_server', join(MOTO_VENV, 'bin', 'moto_server')];
    binary = candidates.find((c): c is string => !!c && (c === 'moto_server' || existsSync(c)) && spawnSync(c, ['--help'], { stdio: 'ignore' }).status === 0) ?? null;
  }
  return binary ?? undefined;
}

/** The version of the installed moto (`moto_server --version` does not exist: asked from its Python). */
export function motoVersion(): string | undefined {
  const bin = motoServerBinary();
  if (bin === undefined) return undefined;
  // The console script's first line names the interpreter of its environment.
  const python = (bin.includes('/') ? readFileSync(bin, 'utf8') : '').match(/^#!(\S+)/)?.[1] ?? 'python3';
  const out = spawnSync(python, ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/**
 * The skip message for moto tests: undefined when moto_server is installed, or when it is
 * missing but `CI` is set (the tests then run and fail in startMoto).
 */
export function motoSkip(): string | undefined {
  if (motoServerBinary() !== undefined || process.env.CI) return undefined;
  return `moto_server is not installed; to run these tests: ${MOTO_INSTALL_HINT}`;
}

export interface MotoServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** True between a start and a stop (also while paused). */
  readonly running: boolean;
  /** A `keystore.aws.secretsmanager` config for this server. */
  keystore(): AwsSecretsManagerConfig;
  /** Stops the server (default SIGTERM; SIGKILL for a crash) and waits for its exit. Its secrets are gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new, empty server on the same port; waits until it answers. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): it keeps its socket but answers nothing. */
  pause(): void;
  /** Unfreezes it (SIGCONT). */
  resume(): void;
  /** The last lines of its log, for failure messages. */
  log(): string;
  /** Kills the server and removes its log. Idempotent. */
  close(): Promise<void>;
}


async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Whether a GET of url gets an HTTP answer within a second. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

class Moto implements MotoServer {
  readonly url: string;
  private readonly process = new ServiceProcess();
  private readonly logFile: string;

  constructor(
    private readonly bin: string,
    readonly port: number,
    private readonly dir: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.logFile = join(dir, 'moto.log');
  }

  get running(): boolean {
    return this.process.running;
  }

  keystore(): AwsSecretsManagerConfig {
    return { type: 'aws', endpoint: this.url, region: MOTO_REGION, credentials: { ...MOTO_CREDENTIALS } };
  }

  async start(): Promise<void> {
    if (this.process.running) throw new Error('moto_server is already running');
    this.process.spawn(this.bin, ['-H', '127.0.0.1', '-p', String(this.port)], this.logFile);
    const end = Date.now() + STARTUP_TIMEOUT_MS;
    while (!(await answers(this.url))) {
      if (!this.process.running) throw new Error('moto_server exited during start-up');
      if (Date.now() > end) throw new Error(`moto_server does not answer after ${STARTUP_TIMEOUT_MS} ms`);
      await sleep(50);
    }
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return this.process.stop(signal);
  }

  pause(): void {
    this.process.pause();
  }

  resume(): void {
    this.process.resume();
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    forgetDir(this.dir);
  }
}

/**
 * Starts moto_server on a free loopback port and waits until it answers. Retries with another
 * port when the one chosen was taken in between.
 * @throws Error when moto is not installed (saying how to install it) or does not come up
 */
export async function startMoto(): Promise<MotoServer> {
  const bin = motoServerBinary();
  if (bin === undefined) throw new Error(`moto_server is not installed (CI is set, so moto tests cannot be skipped): ${MOTO_INSTALL_HINT}`);
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'kes-moto-'));
    removeDirAtExit(dir);
    const moto = new Moto(bin, await freePort(), dir);
    try {
      await moto.start();
      return moto;
    } catch (err) {
      const log = moto.log();
      await moto.close();
      if (attempt < 3 && /address already in use/i.test(log)) continue;
      throw new Error(`${(err as Error).message}; last log lines:\n${log}`);
    }
  }
}
