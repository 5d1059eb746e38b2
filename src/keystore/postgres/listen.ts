/**
 * Change notifications of the PostgreSQL store (KeyStore.watch). Every write of the store sends
 * `NOTIFY` on the table's channel with the key name, in the writing statement itself, so that
 * a notification is delivered exactly when the write commits (table.ts). Each server LISTENs on
 * a connection of its own, checked every few seconds, and opened again with back-off when it
 * breaks (a restart, a network cut); the listener hears of the interruption and of the
 * resumption, and writes in between may have been missed.
 */
import type { Client, ClientConfig } from 'pg';
import type { KeyStoreChanges } from '../keystore.js';
import { describeError } from './errors.js';

/** How often the listening connection is checked with `SELECT 1`. */
const HEARTBEAT_MS = 5_000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

/** pg's Client class (the driver is loaded when a store connects). */
export type ClientClass = new (config: ClientConfig) => Client;

/** LISTENs on channel; returns the function that stops listening. */
export function listenForChanges(Client: ClientClass, config: ClientConfig, channel: string, timeoutMs: number, listener: KeyStoreChanges): () => void {
  let stopped = false;
  let interrupted = false;
  let client: Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let delay = FIRST_RETRY_MS;

  const lost = (c: Client, reason: string) => {
    if (client !== c) return; // already replaced
    client = undefined;
    clearInterval(heartbeat);
    c.removeAllListeners('notification');
    void c.end().catch(() => undefined);
    if (!interrupted && !stopped) {
      interrupted = true;
      listener.interrupted(`PostgreSQL LISTEN connection lost: ${reason}`);
    }
    if (stopped) return;
    retry = setTimeout(() => void open(), delay);
    retry.unref();
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  };

  const open = async () => {
    const c = new Client(config);
    client = c;
    c.on('error', (err) => lost(c, describeError(err)));
    c.on('end', () => lost(c, 'the connection ended'));
    c.on('notification', (n) => {
      // A notification can still arrive while a stopped watch's connection closes.
      if (!stopped && n.channel === channel && n.payload !== undefined) listener.changed(n.payload);
    });
    try {
      await withTimeout(c.connect().then(() => c.query(`LISTEN "${channel}"`)), timeoutMs);
    } catch (err) {
      return lost(c, describeError(err));
    }
    if (stopped) return void c.end().catch(() => undefined);
    delay = FIRST_RETRY_MS;
    heartbeat = setInterval(() => {
      withTimeout(c.query('SELECT 1'), timeoutMs).catch((err: unknown) => lost(c, describeError(err)));
    }, HEARTBEAT_MS);
    heartbeat.unref();
    if (interrupted) {
      interrupted = false;
      listener.resumed();
    }
  };

  void open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    clearInterval(heartbeat);
    const c = client;
    client = undefined;
    void c?.end().catch(() => undefined);
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
