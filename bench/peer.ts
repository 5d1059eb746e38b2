/**
 * `--peer COMMAND`: any KES-compatible server (a KES binary, an older openkes) measured side by
 * side with openkes. It gets the same certificates and a config file written like openkes's
 * (its own port and key directory), runs pinned to CPU 0 like openkes, and gets the same key,
 * created through the API with the admin identity the load generator uses.
 */
import * as https from 'node:https';
import { join } from 'node:path';
import { KesClient } from '../src/client/client.js';
import { freePort, writeConfig, type Fixtures } from './setup.js';
import { spawnShell, stop } from './proc.js';
import type { Target } from './targets.js';

const READY_TIMEOUT_MS = 30_000;
/** How much of the peer's output is kept for error messages. */
const OUTPUT_KEPT = 16_384;

/** A path as one shell word (temporary paths rarely need the quotes). */
const shellWord = (s: string) => (/^[\w./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** One GET /version over mutual TLS: true when it answered 200. */
function version(port: number, f: Fixtures): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/version', cert: f.cert, key: f.key, rejectUnauthorized: false, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Starts COMMAND with `{config}` and `{port}` replaced and waits until it answers GET /version
 * (a KES binary prints nothing to wait for); then creates keyName on it.
 */
export async function startPeer(command: string, f: Fixtures, keyName: string): Promise<Target> {
  const port = await freePort();
  const config = await writeConfig(f, 'peer.yml', port, join(f.dir, 'peer-keys'));
  const line = command.replaceAll('{config}', shellWord(config)).replaceAll('{port}', String(port));
  const child = spawnShell(line, '0');
  // Read its output all along (a full pipe would stall it), keeping the end for errors.
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-OUTPUT_KEPT));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const fail = async (why: string) => {
    await stop(child);
    return new Error(`--peer: ${why}\n  command: ${line}\n  output:\n${output.trimEnd().replace(/^/gm, '    ') || '    (none)'}`);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw await fail(`the peer exited (${child.exitCode ?? child.signalCode}) before it answered GET /version on 127.0.0.1:${port}`);
    if (await version(port, f)) break;
    if (Date.now() > deadline) throw await fail(`the peer did not answer GET /version on 127.0.0.1:${port} within ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }

  const kes = new KesClient({ endpoints: `127.0.0.1:${port}`, cert: f.cert, key: f.key, insecureSkipVerify: true });
  try {
    await kes.createKey(keyName);
  } catch (e) {
    throw await fail(`creating the key '${keyName}' as the config's admin failed: ${(e as Error).message}`);
  } finally {
    kes.close();
  }
  return { name: 'peer', port, child };
}
