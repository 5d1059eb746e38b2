/**
 * Starts real etcd processes for tests: one member or an N-member cluster on 127.0.0.1, on
 * free ports, with data and logs in a temp dir. Members can be stopped, paused (SIGSTOP, a hung
 * member) and restarted. Everything is killed and removed by close(), and at the latest when
 * the test process exits, whatever happened in between.
 *
 *   const etcd = await startEtcd();            // or startEtcd({ members: 3 })
 *   after(() => etcd.close());
 *
 * When the `etcd` binary is missing, {@link etcdSkip} gives a skip message, unless `CI` is set:
 * then nothing is skipped and startEtcd fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { forgetDir, removeDirAtExit, ServiceProcess } from './service-process.js';

const INSTALL_HINT = 'apt-get install etcd-server etcd-client';
const STARTUP_TIMEOUT_MS = 30_000;

let installed: boolean | undefined;

/** Whether an `etcd` binary is on the PATH. */
export function isEtcdInstalled(): boolean {
  installed ??= spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
  return installed;
}

/**
 * The skip message for etcd tests: undefined when etcd is installed, or when it is missing but
 * `CI` is set (the tests then run and fail in startEtcd).
 */
export function etcdSkip(): string | undefined {
  if (isEtcdInstalled() || process.env.CI) return undefined;
  return `etcd is not installed; to run these tests: ${INSTALL_HINT}`;
}

/** One etcd process of a test cluster. */
export interface EtcdMember {
  readonly name: string;
  /** http://127.0.0.1:<port> */
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** True between a start and a stop (also while paused). */
  readonly running: boolean;
  /** The process id while running. */
  readonly pid: number | undefined;
  /** Stops the process (default SIGTERM; SIGKILL for a crash) and waits for its exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports and data; waits until it is healthy unless told not to. */
  start(options?: { waitHealthy?: boolean }): Promise<void>;
  /** Freezes the process (SIGSTOP): it keeps its sockets but answers nothing. */
  pause(): void;
  /** Unfreezes it (SIGCONT). */
  resume(): void;
  /** Answers /health with `"health":"true"` (it knows a leader). */
  isHealthy(): Promise<boolean>;
}

/** A running test cluster: its members, their endpoints and the temp dir holding their data. */
export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** The members' client URLs. */
  readonly endpoints: string[];
  readonly dir: string;
  /** Waits until every running member is healthy. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The members' logs, for failure messages. */
  logs(): string;
  /** Kills every member and removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

/** What {@link startEtcd} starts. */
export interface StartEtcdOptions {
  /** Number of members (default 1). */
  members?: number;
  /** Extra command-line flags for every member, e.g. `['--auth-token=simple']`. */
  flags?: string[];
  /**
   * Serve clients over https with this certificate. With clientCertAuth, clients need a
   * certificate issued by caFile; the helper's own health checks use client.
   */
  tls?: { certFile: string; keyFile: string; caFile: string; clientCertAuth?: boolean; client?: { certFile: string; keyFile: string } };
}

async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports: number[] = [];
  for (const server of servers) {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    ports.push(address.port);
  }
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
}

class Member implements EtcdMember {
  readonly clientUrl: string;
  readonly peerUrl: string;
  private readonly process = new ServiceProcess();

  constructor(
    private readonly spec: MemberSpec,
    private readonly args: string[],
    private readonly dir: string,
    scheme: 'http' | 'https',
    private readonly healthTls: HealthTls | undefined,
  ) {
    this.clientUrl = `${scheme}://127.0.0.1:${spec.clientPort}`;
    this.peerUrl = `http://127.0.0.1:${spec.peerPort}`;
  }

  get name(): string {
    return this.spec.name;
  }

  get running(): boolean {
    return this.process.running;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get logFile(): string {
    return join(this.dir, `${this.spec.name}.log`);
  }

  async start(options: { waitHealthy?: boolean } = {}): Promise<void> {
    if (this.process.running) throw new Error(`etcd member ${this.name} is already running`);
    this.process.spawn('etcd', this.args, this.logFile);
    if (options.waitHealthy ?? true) await this.waitHealthy(STARTUP_TIMEOUT_MS);
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

  async isHealthy(): Promise<boolean> {
    try {
      const res = await healthRequest(`${this.clientUrl}/health`, this.healthTls);
      return res.includes('"health":"true"');
    } catch {
      return false;
    }
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (!this.process.running) throw new Error(`etcd member ${this.name} exited during start-up`);
      if (await this.isHealthy()) return;
      await sleep(50);
    }
    throw new Error(`etcd member ${this.name} not healthy after ${timeoutMs} ms`);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** The TLS material of health checks (PEM). */
interface HealthTls {
  ca: string;
  cert?: string;
  key?: string;
}

/** GET over http(s) with a short time-out, the body as text. */
async function healthRequest(url: string, tls: HealthTls | undefined): Promise<string> {
  const { request } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 1000, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function memberArgs(spec: MemberSpec, cluster: string, token: string, dir: string, scheme: string, options: StartEtcdOptions): string[] {
  const tls = options.tls;
  return [
    '--name', spec.name,
    '--data-dir', join(dir, spec.name),
    '--logger=zap', '--log-outputs=stderr', '--log-level=warn',
    '--listen-client-urls', `${scheme}://127.0.0.1:${spec.clientPort}`,
    '--advertise-client-urls', `${scheme}://127.0.0.1:${spec.clientPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${spec.peerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${spec.peerPort}`,
    '--initial-cluster', cluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', token,
    ...(tls ? ['--cert-file', tls.certFile, '--key-file', tls.keyFile] : []),
    ...(tls?.clientCertAuth ? ['--client-cert-auth', '--trusted-ca-file', tls.caFile] : []),
    ...(options.flags ?? []),
  ];
}

async function startOnce(options: StartEtcdOptions): Promise<EtcdCluster> {
  const count = options.members ?? 1;
  const scheme = options.tls ? 'https' : 'http';
  const dir = mkdtempSync(join(tmpdir(), 'kes-etcd-'));
  removeDirAtExit(dir);
  const ports = await freePorts(2 * count);
  const specs: MemberSpec[] = Array.from({ length: count }, (_, i) => ({ name: `m${i}`, clientPort: ports[2 * i] as number, peerPort: ports[2 * i + 1] as number }));
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const tls = options.tls;
  const healthTls: HealthTls | undefined = tls && {
    ca: readFileSync(tls.caFile, 'utf8'),
    ...(tls.client ? { cert: readFileSync(tls.client.certFile, 'utf8'), key: readFileSync(tls.client.keyFile, 'utf8') } : {}),
  };
  const token = `kes-test-${process.pid}-${ports[0]}`;
  const members = specs.map((s) => new Member(s, memberArgs(s, initialCluster, token, dir, scheme, options), dir, scheme, healthTls));

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    dir,
    async waitHealthy(timeoutMs = STARTUP_TIMEOUT_MS) {
      await Promise.all(members.filter((m) => m.running).map((m) => m.waitHealthy(timeoutMs)));
    },
    logs: () => members.map((m) => `--- ${m.name}\n${m.log()}`).join('\n'),
    async close() {
      await Promise.all(members.map((m) => m.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
      forgetDir(dir);
    },
  };
  try {
    // Members of a new cluster wait for each other: start all, then wait for all.
    await Promise.all(members.map((m) => m.start({ waitHealthy: false })));
    await cluster.waitHealthy();
  } catch (err) {
    const logs = cluster.logs();
    await cluster.close();
    throw Object.assign(new Error((err as Error).message), { logs });
  }
  return cluster;
}

/**
 * Starts a new etcd cluster (default one member) on free loopback ports and waits until every
 * member is healthy. Retries with other ports when one was taken in between.
 * @throws Error when etcd is not installed (saying how to install it) or does not come up
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  if (!isEtcdInstalled()) throw new Error(`etcd is not installed (CI is set, so etcd tests cannot be skipped): ${INSTALL_HINT}`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      const logs = (err as { logs?: string }).logs ?? '';
      if (attempt < 3 && /address already in use/.test(logs)) continue;
      throw new Error(`${(err as Error).message}; last log lines:\n${logs}`);
    }
  }
}
