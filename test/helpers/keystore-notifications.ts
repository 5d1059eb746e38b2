/**
 * The suite of KeyStore.watch (change notifications), for the stores that have it (etcd,
 * PostgreSQL): writes of another store on the same backend are reported, an outage of the
 * backend is reported as an interruption and its end as a resumption, and a stopped watch
 * reports nothing more.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyStore, KeyStoreChanges } from '../../src/keystore/keystore.js';

export interface NotificationFixture {
  /** Two stores on the same backend and key space (as two servers would open them). */
  writer: KeyStore;
  watcher: KeyStore;
  /** Stops the backend, then starts it again on the same data. */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Records what a watch reports. */
class Recorder implements KeyStoreChanges {
  readonly events: string[] = [];
  changed(name: string): void {
    this.events.push(`changed ${name}`);
  }
  interrupted(): void {
    this.events.push('interrupted');
  }
  resumed(): void {
    this.events.push('resumed');
  }
  async until(event: string, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.events.includes(event)) {
      if (Date.now() > end) assert.fail(`no '${event}' within ${timeoutMs} ms; seen: ${this.events.join(', ')}`);
      await sleep(20);
    }
  }
}

export function describeKeyStoreNotifications(name: string, open: () => Promise<NotificationFixture>, skip?: string | false): void {
  describe(`KeyStore notifications: ${name}`, { skip: skip || false, timeout: 120_000 }, () => {
    let f: NotificationFixture;
    let recorder: Recorder;
    let stop: () => void;
    before(async () => {
      f = await open();
      recorder = new Recorder();
      stop = f.watcher.watch!(recorder);
      await sleep(300); // the watch is being opened
    });
    after(async () => {
      stop?.();
      await f?.cleanup();
    });

    test('creates and deletes through another store are reported', async () => {
      await f.writer.create('notified', Buffer.from('v1'));
      await recorder.until('changed notified');
      recorder.events.length = 0;
      await f.writer.delete('notified');
      await recorder.until('changed notified');
    });

    test('a failed create or delete is not reported', async () => {
      await f.writer.create('once', Buffer.from('v1'));
      await recorder.until('changed once');
      recorder.events.length = 0;
      await assert.rejects(f.writer.create('once', Buffer.from('v2')));
      await assert.rejects(f.writer.delete('never-was'));
      await f.writer.create('marker', Buffer.from('m'));
      await recorder.until('changed marker');
      assert.deepEqual(recorder.events, ['changed marker']);
    });

    test('an outage is an interruption, its end a resumption; then changes are reported again', async () => {
      recorder.events.length = 0;
      await f.restart();
      await recorder.until('interrupted');
      await recorder.until('resumed');
      await f.writer.create('after-restart', Buffer.from('v1'));
      await recorder.until('changed after-restart');
    });

    test('a stopped watch reports nothing more', async () => {
      stop();
      recorder.events.length = 0;
      await f.writer.create('unwatched', Buffer.from('v1'));
      await sleep(500);
      assert.deepEqual(recorder.events, []);
    });
  });
}
