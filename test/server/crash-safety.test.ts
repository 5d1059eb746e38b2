/**
 * Crash safety of the filesystem key store (issue 7, item 3; rotations: issue 17). The built server (`dist/`, made by
 * `npm run build`) runs as `kes server` on an fs store, as one process and, every fourth round,
 * as two workers; 32 creates are in flight through the SDK when the whole process group is
 * killed with SIGKILL at a random moment after the first create succeeded. After every kill:
 *
 * - every file of the key directory is a complete, decodable key entry, or a temporary file
 *   (`.kes-tmp-…`): no partial key exists under a key's name;
 * - every create answered 200 before the kill has its file (acknowledged writes are durable);
 * - a restarted server lists exactly the key files (no temporary file shows up as a key), every
 *   key of the round encrypts and decrypts, and every name whose create was cut off can be
 *   created now (no leftover blocks it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KesClient } from '../../src/client/index.js';
import { parseKeyVersion } from '../../src/crypto/key-version.js';
import { parseKeyRing } from '../../src/crypto/key-ring-entry.js';
import { request as httpsRequest } from 'node:https';
import { createTestPki, type TestCert } from '../helpers/certs.js';
import { writeServerConfig } from '../helpers/server-config-file.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'dist/cli/bin.js');
const ITERATIONS = 16;
const IN_FLIGHT = 32;
/** The kill comes this long after the first create of a round succeeded: a random moment in [0, MAX) ms. */
const KILL_WITHIN_MS = 400;
/** Requests at a time while checking the keys after a crash. */
const CHECK_CONCURRENCY = 8;
/** Server processes in round i: two workers every fourth round (kes server's default on two cores). */
const workersOf = (i: number) => (i % 4 === 3 ? 2 : 1);
const TEMP_FILE = /^\.kes-tmp-[0-9a-f]{24}$/;

/** Process groups started here and not yet killed; killed if the test process exits first. */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) killGroup(pgid);
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** Whether a process of the group still runs (zombies waiting to be reaped do not count). */
function groupRunning(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

interface RunningServer {
  child: ChildProcess;
  port: number;
  output(): string;
}

/** Starts `kes server` in its own process group and waits until it serves. */
async function startServer(configFile: string, workers: number): Promise<RunningServer> {
  const child = spawn(process.execPath, [BIN, 'server', '--config', configFile, '--workers', String(workers)], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  liveGroups.add(child.pid!);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no "Server is up and running" within 20 s:\n${out}`)), 20_000);
    const check = () => {
      const m = /https:\/\/127\.0\.0\.1:(\d+)[\s\S]*Server is up and running/.exec(out);
      if (m) finish(undefined, Number(m[1]));
    };
    const exited = (code: number | null) => finish(new Error(`the server exited (${code}) during start-up:\n${out}`));
    const finish = (err?: Error, p?: number) => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', exited);
      if (err) reject(err);
      else resolve(p!);
    };
    child.stdout!.on('data', check);
    child.once('exit', exited);
  });
  return { child, port, output: () => out };
}

/** SIGKILLs the server's whole process group (primary and workers) and waits until none runs. */
async function crash(server: RunningServer): Promise<void> {
  const pgid = server.child.pid!;
  killGroup(pgid);
  liveGroups.delete(pgid);
  const deadline = Date.now() + 10_000;
  while (groupRunning(pgid)) {
    if (Date.now() > deadline) throw new Error(`processes of group ${pgid} survived SIGKILL`);
    await sleep(10);
  }
}

function sdk(port: number, admin: TestCert, ca: string): KesClient {
  return new KesClient({ endpoints: `https://127.0.0.1:${port}`, cert: admin.certPem, key: admin.keyPem, ca, timeoutMs: 10_000 });
}

/** Waits for promise, or fails after ms. */
async function within(promise: Promise<void>, ms: number, message: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs task over items with at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++] as T);
  }));
}

test('fs store: SIGKILL during concurrent creates leaves every key complete or absent, and loses no acknowledged create', { timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(BIN), `${BIN} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'kes-crash-'));
  const keysDir = join(dir, 'keys');
  const pki = createTestPki();
  const admin = pki.client({ commonName: 'admin' });
  pki.writeFiles(dir);
  const configFile = writeServerConfig({ admin: admin.identity, dir, keysDir });
  const counts = { iterations: 0, acknowledged: 0, notStored: 0, filesDecoded: 0, keysRoundTripped: 0, recreated: 0, tempFiles: 0 };
  const tempFiles = new Set<string>();
  const timing = { start: 0, verify: 0 };
  const attempted = new Set<string>();
  const kills: number[] = [];
  let server = await startServer(configFile, workersOf(0));
  try {
    for (let i = 0; i < ITERATIONS; i++) {
      // Load: IN_FLIGHT creates at any moment, each a new name.
      const client = sdk(server.port, admin, pki.ca.certPem);
      const abort = new AbortController();
      const acked: string[] = [];
      const round: string[] = [];
      const errors: unknown[] = [];
      let seq = 0;
      let firstAck: () => void = () => undefined;
      const acking = new Promise<void>((resolve) => (firstAck = resolve));
      const load = Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (!abort.signal.aborted) {
            const name = `crash-${i}-${seq++}`;
            attempted.add(name);
            round.push(name);
            try {
              await client.createKey(name, { signal: abort.signal });
              acked.push(name);
              firstAck();
            } catch (err) {
              if (!abort.signal.aborted) errors.push(err);
            }
          }
        }),
      );
      await within(acking, 20_000, () => `iteration ${i}: no create succeeded within 20 s: ${errors.map(String).join('; ')}`);
      const killAfter = Math.floor(Math.random() * KILL_WITHIN_MS);
      kills.push(killAfter);
      await sleep(killAfter);
      // Kill, then abort the load in the same tick: every 200 the load has seen was answered before the kill.
      const killing = crash(server);
      abort.abort();
      await killing;
      await load;
      client.close();
      assert.deepEqual(errors.map(String), [], `iteration ${i}: creates failed before the kill`);

      // The directory: complete entries under key names, temporary files under dot names only.
      const keyFiles = new Set<string>();
      for (const entry of readdirSync(keysDir, { withFileTypes: true })) {
        if (entry.name.startsWith('.')) {
          assert.match(entry.name, TEMP_FILE, `iteration ${i}: an unexpected dot file`);
          tempFiles.add(entry.name);
          continue;
        }
        assert.ok(entry.isFile(), `iteration ${i}: ${entry.name} is not a regular file`);
        assert.ok(attempted.has(entry.name), `iteration ${i}: a key file nobody created: ${entry.name}`);
        keyFiles.add(entry.name);
        if (entry.name.startsWith(`crash-${i}-`)) {
          let version;
          try {
            version = parseKeyVersion(readFileSync(join(keysDir, entry.name)));
          } catch (err) {
            assert.fail(`iteration ${i}: the key file ${entry.name} is not a complete entry: ${(err as Error).message}`);
          }
          assert.equal(version.createdBy, admin.identity, `iteration ${i}: ${entry.name}`);
          counts.filesDecoded++;
        }
      }
      for (const name of acked) assert.ok(keyFiles.has(name), `iteration ${i}: ${name} was acknowledged (200) but has no file after the crash`);
      counts.acknowledged += acked.length;

      // A restarted server sees exactly the key files, and every key of the round works.
      const t0 = performance.now();
      server = await startServer(configFile, workersOf(i + 1));
      timing.start += performance.now() - t0;
      const t1 = performance.now();
      const check = sdk(server.port, admin, pki.ca.certPem);
      try {
        const listed: string[] = [];
        for await (const name of check.listKeys()) listed.push(name);
        assert.deepEqual(listed.slice().sort(), [...keyFiles].sort(), `iteration ${i}: the listing differs from the key files`);
        const present = round.filter((n) => keyFiles.has(n));
        const cutOff = round.filter((n) => !keyFiles.has(n));
        counts.notStored += cutOff.length;
        // Names whose create was cut off by the crash are free: no temporary file blocks them.
        await pool(cutOff, CHECK_CONCURRENCY, async (name) => {
          await check.createKey(name);
          counts.recreated++;
        });
        await pool([...present, ...cutOff], CHECK_CONCURRENCY, async (name) => {
          const context = Buffer.from(name);
          const plaintext = Buffer.from(`plaintext of ${name}`);
          const ciphertext = await check.encrypt(name, plaintext, context);
          assert.deepEqual(await check.decrypt(name, ciphertext, context), plaintext, name);
          counts.keysRoundTripped++;
        });
      } finally {
        check.close();
      }
      timing.verify += performance.now() - t1;
      counts.iterations++;
    }
  } finally {
    counts.tempFiles = tempFiles.size;
    t.diagnostic(`kills after (ms): ${kills.join(' ')}`);
    t.diagnostic(`counts: ${JSON.stringify(counts)}`);
    t.diagnostic(`timing: ${JSON.stringify(timing)}`);
    await crash(server);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(counts.iterations, ITERATIONS);
  assert.ok(counts.acknowledged > 0 && counts.keysRoundTripped >= counts.acknowledged, JSON.stringify(counts));
});

/** `PUT /v1/key/rotate/<name>` over its own request; resolves with the new version. */
function rotate(port: number, admin: TestCert, ca: string, name: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, method: 'PUT', path: `/v1/key/rotate/${name}`, cert: admin.certPem, key: admin.keyPem, ca, servername: 'localhost', signal, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body).version) : reject(new Error(`${res.statusCode} ${body}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const LOCK_FILE = /^\.kes-lock-rot-\d$/;

test('fs store: SIGKILL during concurrent rotations leaves every ring readable, every acknowledged version stored, and no key blocked', { timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(BIN), `${BIN} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'kes-crash-rot-'));
  const keysDir = join(dir, 'keys');
  const pki = createTestPki();
  const admin = pki.client({ commonName: 'admin' });
  pki.writeFiles(dir);
  const configFile = writeServerConfig({ admin: admin.identity, dir, keysDir });
  const names = Array.from({ length: 8 }, (_, i) => `rot-${i}`);
  const sealed: { name: string; ciphertext: Uint8Array; plaintext: Uint8Array }[] = [];
  const acked = new Map<string, number>(names.map((n) => [n, 1]));
  const counts = { iterations: 0, rotations: 0, lockFilesLeft: 0 };
  let server = await startServer(configFile, 1);
  try {
    const setup = sdk(server.port, admin, pki.ca.certPem);
    for (const name of names) await setup.createKey(name);
    setup.close();
    for (let i = 0; i < 8; i++) {
      const client = sdk(server.port, admin, pki.ca.certPem);
      for (const name of names) {
        const dek = await client.generateKey(name, Buffer.from(name));
        sealed.push({ name, ciphertext: dek.ciphertext, plaintext: dek.plaintext });
      }
      client.close();
      const abort = new AbortController();
      const errors: unknown[] = [];
      let seq = 0;
      let firstAck: () => void = () => undefined;
      const acking = new Promise<void>((resolve) => (firstAck = resolve));
      const load = Promise.all(
        Array.from({ length: 16 }, async () => {
          while (!abort.signal.aborted) {
            const name = names[seq++ % names.length]!;
            try {
              const version = await rotate(server.port, admin, pki.ca.certPem, name, abort.signal);
              acked.set(name, Math.max(acked.get(name)!, version));
              counts.rotations++;
              firstAck();
            } catch (err) {
              if (!abort.signal.aborted) errors.push(err);
            }
          }
        }),
      );
      await within(acking, 20_000, () => `iteration ${i}: no rotation succeeded within 20 s: ${errors.map(String).join('; ')}`);
      await sleep(Math.floor(Math.random() * KILL_WITHIN_MS));
      const killing = crash(server);
      abort.abort();
      await killing;
      await load;
      assert.deepEqual(errors.map(String), [], `iteration ${i}: rotations failed before the kill`);

      // Every ring in the directory is complete and holds every acknowledged version.
      for (const entry of readdirSync(keysDir)) {
        if (entry.startsWith('.')) {
          assert.ok(TEMP_FILE.test(entry) || LOCK_FILE.test(entry), `iteration ${i}: an unexpected dot file ${entry}`);
          if (LOCK_FILE.test(entry)) counts.lockFilesLeft++;
          continue;
        }
        let ring;
        try {
          ring = parseKeyRing(readFileSync(join(keysDir, entry)));
        } catch (err) {
          assert.fail(`iteration ${i}: ${entry} is not a complete ring: ${(err as Error).message}`);
        }
        assert.ok(ring.latest >= acked.get(entry)!, `iteration ${i}: ${entry} has version ${ring.latest}, but version ${acked.get(entry)} was acknowledged`);
      }

      // After a restart every data key of every round decrypts, and every key rotates at once.
      server = await startServer(configFile, i % 2 === 0 ? 2 : 1);
      const check = sdk(server.port, admin, pki.ca.certPem);
      try {
        await pool(sealed, CHECK_CONCURRENCY, async (s) => {
          assert.deepEqual(Buffer.from(await check.decrypt(s.name, s.ciphertext, Buffer.from(s.name))), Buffer.from(s.plaintext), `iteration ${i}: ${s.name}`);
        });
        const signal = new AbortController().signal;
        await within(
          Promise.all(names.map(async (name) => void acked.set(name, await rotate(server.port, admin, pki.ca.certPem, name, signal)))).then(() => undefined),
          5_000,
          () => `iteration ${i}: a key stayed blocked after the restart`,
        );
      } finally {
        check.close();
      }
      counts.iterations++;
    }
  } finally {
    t.diagnostic(`counts: ${JSON.stringify(counts)}`);
    await crash(server);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(counts.iterations, 8);
  assert.ok(counts.rotations > 0);
});
