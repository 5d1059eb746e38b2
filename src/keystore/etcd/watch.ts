/**
 * Change notifications of the etcd store (KeyStore.watch): one etcd watch on the key prefix.
 * The etcd3 client re-opens a watch whose stream broke (from the last revision it saw) and says
 * so ('disconnected', then 'connected'); a watch etcd cancels (e.g. its revision was compacted)
 * is opened again, from the current revision, with back-off. Either way the listener hears of
 * the interruption and of the resumption, and changes in between may have been missed.
 */
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { KeyStoreChanges } from '../keystore.js';
import { errorMessage } from './errors.js';
import { nameOf } from './keys.js';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

/** Watches every key under prefix; returns the function that ends the watch. */
export function watchPrefix(client: Etcd3, prefix: Buffer, listener: KeyStoreChanges): () => void {
  let stopped = false;
  let interrupted = false;
  let watcher: Watcher | undefined;
  let retry: NodeJS.Timeout | undefined;
  let delay = FIRST_RETRY_MS;

  const interrupt = (reason: string) => {
    if (interrupted || stopped) return;
    interrupted = true;
    listener.interrupted(reason);
  };
  const resume = () => {
    delay = FIRST_RETRY_MS;
    if (!interrupted || stopped) return;
    interrupted = false;
    listener.resumed();
  };
  const report = (kv: IKeyValue) => {
    const name = nameOf(prefix, Buffer.from(kv.key));
    if (name !== undefined && !stopped) listener.changed(name);
  };
  const again = () => {
    if (stopped) return;
    retry = setTimeout(() => void open(), delay);
    retry.unref();
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  };
  const open = async () => {
    try {
      const w = await client.watch().prefix(prefix).create();
      if (stopped) return void w.cancel().catch(() => undefined);
      watcher = w;
      w.on('put', report);
      w.on('delete', report);
      w.on('disconnected', (err) => interrupt(`etcd watch disconnected: ${errorMessage(err)}`));
      w.on('connected', resume);
      w.on('error', (err) => {
        interrupt(`etcd watch ended: ${errorMessage(err)}`);
        watcher = undefined;
        void w.cancel().catch(() => undefined);
        again();
      });
      resume();
    } catch (err) {
      interrupt(`etcd watch failed: ${errorMessage(err)}`);
      again();
    }
  };
  void open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    void watcher?.cancel().catch(() => undefined);
  };
}
