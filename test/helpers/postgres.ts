/**
 * A throw-away PostgreSQL server for tests: a fresh cluster in a temp dir on a free port of
 * 127.0.0.1 (guides/ecosystem.md §4, recipe 3), password authentication (scram-sha-256) and,
 * where PostgreSQL has ICU (15 and later), an ICU default collation (`en`), under which a table
 * without `COLLATE "C"` would sort names differently.
 *
 *   const skip = postgresSkip();                 // a message when PostgreSQL is not installed
 *   const pg = await startPostgres();            // initdb + pg_ctl start + CREATE DATABASE
 *   pg.keystore('kes_keys')                      // a `keystore.postgres` config for it
 *   await pg.stop(); await pg.start();           // an outage, on the same port and data
 *   await pg.kill(); await pg.start();           // a crash (SIGKILL), then crash recovery
 *   pg.pause(); pg.resume();                     // a hung server (SIGSTOP / SIGCONT)
 *   await pg.close();                            // stops it and removes the temp dir
 *
 * PostgreSQL refuses to run as root: as root the server runs as the `postgres` user (runuser).
 * Servers still running when the process exits (or gets SIGINT/SIGTERM) are stopped and
 * removed then; servers of test processes that were killed outright are removed by the next
 * startPostgres. With `tls`, the server also accepts TLS connections.
 *
 * For speed the server runs with `fsync=off` and, unless `durableCommits` is set,
 * `synchronous_commit=off`: a commit is then acknowledged before its WAL leaves PostgreSQL's
 * memory, so a crash of the server processes ({@link PostgresServer.kill}) can lose it. Tests
 * that check acknowledged writes survive a crash set `durableCommits`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import type { PostgresKeyStoreConfig } from '../../src/keystore/postgres/pool-config.js';

const run = promisify(execFile);

/** How to install what the helper needs (Debian). */
export const POSTGRES_INSTALL_HINT = 'apt-get install postgresql libpq-dev';

/**
 * The directory holding initdb and pg_ctl: `pg_config --bindir`, else the newest
 * /usr/lib/postgresql/<version>/bin (Debian keeps the server tools there, off the PATH);
 * undefined when PostgreSQL is not installed.
 */
export function postgresBinDir(): string | undefined {
  const out = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates = [out.status === 0 ? out.stdout.trim() : ''];
  try {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v));
    candidates.push(...versions.sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // not Debian, or no server installed
  }
  return candidates.find((dir) => dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

/**
 * A skip message when PostgreSQL is not installed and `CI` is unset, else false. Under CI a
 * missing PostgreSQL is not skipped: {@link startPostgres} then fails.
 */
export function postgresSkip(): string | false {
  if (postgresBinDir() !== undefined || process.env.CI) return false;
  return `PostgreSQL is not installed: run \`${POSTGRES_INSTALL_HINT}\` to enable these tests`;
}

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** `postgres://user:password@127.0.0.1:port/database`. */
  readonly url: string;
  /** The server's log file. */
  readonly logFile: string;
  /** A `keystore.postgres` config (host form) for the given table. */
  keystore(table?: string): PostgresKeyStoreConfig;
  /** Runs one statement on a new connection (as the superuser). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** A connected client (as the superuser); the caller ends it. */
  connect(): Promise<pg.Client>;
  /** Stops the server (fast shutdown: connections are terminated). */
  stop(): Promise<void>;
  /** Starts the stopped (or killed) server again, on the same port with the same data. */
  start(): Promise<void>;
  /**
   * Crashes the server: SIGKILL to the postmaster and every process it started, then waits
   * until they are gone. {@link start} then runs crash recovery.
   */
  kill(): Promise<void>;
  /**
   * Freezes the postmaster and every process it started (SIGSTOP): connections stay open and
   * new ones are accepted by the kernel, but nothing answers. Undone by {@link resume}, and by
   * stop, kill and close.
   */
  pause(): void;
  /** Unfreezes a paused server (SIGCONT). */
  resume(): void;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  /**
   * Serve TLS (besides plain connections) with this certificate and key; with `caPem`, client
   * certificates are requested and verified against it (pg_stat_ssl then shows their subject).
   */
  tls?: { certPem: string; keyPem: string; caPem?: string };
  /**
   * Acknowledge a commit only once its WAL is written (`synchronous_commit=on`), so that it
   * survives {@link PostgresServer.kill}. Off by default, for speed.
   */
  durableCommits?: boolean;
}

const live = new Set<{ exitCleanup(): void }>();
let exitHooksInstalled = false;
const DIR_PREFIX = 'kes-pg-';
// Holds the pid of the test process that owns a server directory.
const OWNER_FILE = 'owner.pid';

/** Stops and removes the servers of this process when it exits, or is ended by SIGINT/SIGTERM. */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const cleanup = () => {
    for (const e of live) e.exitCleanup();
    live.clear();
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      // Nobody else handles the signal: end the process as the signal would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Stops and removes servers left by test processes that died without cleaning up (SIGKILL). */
function removeOrphans(bin: string, asRoot: boolean): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // being set up, or not ours
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    const dataDir = join(dir, 'pg', 'data');
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      const args = [join(bin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop'];
      spawnSync(asRoot ? 'runuser' : args[0]!, asRoot ? ['-u', 'postgres', '--', ...args] : args.slice(1), { stdio: 'ignore' });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The processes whose parent is pid (from /proc: Linux only). */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ...", and comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/** Whether pid is a live process (not gone, not a zombie waiting to be reaped). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Starts a PostgreSQL server with one empty database.
 * @throws Error when PostgreSQL is not installed (with how to install it) or does not start
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(`PostgreSQL is not installed (no initdb found via pg_config): run \`${POSTGRES_INSTALL_HINT}\``);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const pgDir = join(dir, 'pg');
  const dataDir = join(pgDir, 'data');
  const logFile = join(pgDir, 'log');
  const user = 'postgres';
  const password = randomBytes(12).toString('hex');
  const database = 'kes_test';
  let port = 0;
  let running = false;
  let paused = false;

  // As root, the server's files belong to the postgres user, and its tools run as that user.
  const pgTool = (tool: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args));
  const pgToolSync = (tool: string, args: string[]) =>
    asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { stdio: 'ignore' }) : spawnSync(join(bin, tool), args, { stdio: 'ignore' });

  const entry = {
    exitCleanup() {
      if (paused) signalServer('SIGCONT');
      if (running) pgToolSync('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(entry);
  installExitHooks();
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  removeOrphans(bin, asRoot);

  const clientConfig = (db: string): pg.ClientConfig => ({ host: '127.0.0.1', port, user, password, database: db });
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  };

  let tlsSettings = '';
  async function pgStart(): Promise<void> {
    const commit = options.durableCommits ? '' : ' -c synchronous_commit=off';
    const settings = `-c listen_addresses=127.0.0.1 -p ${port} -k ${pgDir} -c fsync=off${commit} -c full_page_writes=off${tlsSettings}`;
    try {
      await pgTool('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', settings, 'start']);
    } catch (err) {
      throw new Error(`PostgreSQL did not start on port ${port}: ${(err as Error).message}\n${logTail()}`);
    }
    running = true;
  }

  async function pgStop(): Promise<void> {
    if (!running) return;
    if (paused) pgResume();
    await pgTool('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
    running = false;
  }

  // The postmaster's pid (first line of postmaster.pid), while the server runs.
  function postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  // Sends signal to the postmaster, then to its children (listed after the postmaster got it:
  // a stopped or killed postmaster starts no new ones). Returns the pids signalled.
  function signalServer(signal: NodeJS.Signals): number[] {
    const postmaster = postmasterPid();
    if (postmaster === undefined) return [];
    const pids = [postmaster];
    trySignal(postmaster, signal);
    for (const child of childPids(postmaster)) {
      trySignal(child, signal);
      pids.push(child);
    }
    return pids;
  }

  async function pgKill(): Promise<void> {
    if (!running) return;
    // Stop the postmaster first, so that its children can be listed before they are orphaned.
    const postmaster = postmasterPid();
    if (postmaster !== undefined) trySignal(postmaster, 'SIGSTOP');
    const pids = signalServer('SIGKILL');
    paused = false;
    const deadline = Date.now() + 10_000;
    while (pids.some(isRunning)) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL processes ${pids.filter(isRunning).join(', ')} survived SIGKILL`);
      await sleep(20);
    }
    running = false;
  }

  function pgPause(): void {
    if (!running || paused) return;
    signalServer('SIGSTOP');
    paused = true;
  }

  function pgResume(): void {
    if (!paused) return;
    signalServer('SIGCONT');
    paused = false;
  }

  async function query<R extends pg.QueryResultRow>(sql: string, params?: unknown[], db = database): Promise<pg.QueryResult<R>> {
    const client = new pg.Client(clientConfig(db));
    await client.connect();
    try {
      return await client.query<R>(sql, params);
    } finally {
      await client.end();
    }
  }

  try {
    chmodSync(dir, 0o755);
    mkdirSync(pgDir, { mode: 0o700 });
    const pwFile = join(pgDir, 'pwfile');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    const files = [pwFile];
    if (options.tls) {
      const { certPem, keyPem, caPem } = options.tls;
      const file = (name: string, text: string) => (writeFileSync(join(pgDir, name), text, { mode: 0o600 }), files.push(join(pgDir, name)));
      file('server.crt', certPem);
      file('server.key', keyPem);
      tlsSettings = ` -c ssl=on -c ssl_cert_file=${join(pgDir, 'server.crt')} -c ssl_key_file=${join(pgDir, 'server.key')}`;
      if (caPem) {
        file('ca.crt', caPem);
        tlsSettings += ` -c ssl_ca_file=${join(pgDir, 'ca.crt')}`;
      }
    }
    if (asRoot) {
      const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
      for (const path of [pgDir, ...files]) chownSync(path, id('-u'), id('-g'));
    }
    const initdb = (locale: string[]) => pgTool('initdb', ['-D', dataDir, '-U', user, '--pwfile', pwFile, '-A', 'scram-sha-256', '-E', 'UTF8', ...locale, '--no-sync']);
    try {
      await initdb(['--locale=C.UTF-8', '--locale-provider=icu', '--icu-locale=en']);
    } catch {
      // PostgreSQL before 15, or built without ICU: the C.UTF-8 locale still gives a UTF-8 database.
      rmSync(dataDir, { recursive: true, force: true });
      await initdb(['--locale=C.UTF-8']);
    }
    rmSync(pwFile);
    // A free port can be taken by someone else before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await pgStart();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    await query(`CREATE DATABASE ${database}`, [], 'postgres');
  } catch (err) {
    entry.exitCleanup();
    live.delete(entry);
    throw err;
  }

  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    url: `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    logFile,
    keystore: (table = 'kes_keys') => ({ type: 'postgres', host: '127.0.0.1', port, user, password, database, table }),
    query: (sql, params) => query(sql, params),
    async connect() {
      const client = new pg.Client(clientConfig(database));
      await client.connect();
      return client;
    },
    stop: pgStop,
    start: pgStart,
    kill: pgKill,
    pause: pgPause,
    resume: pgResume,
    async close() {
      try {
        await pgStop();
      } finally {
        entry.exitCleanup();
        live.delete(entry);
      }
    },
  };
}

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
