import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionWatchOf, watchConnection } from './connection-timeouts.js';

/** A socket stand-in: records destroy() and emits 'close' as a socket does. */
function fakeSocket() {
  const socket = new EventEmitter() as EventEmitter & { destroyed: boolean; destroy(): void };
  socket.destroyed = false;
  socket.destroy = () => {
    if (socket.destroyed) return;
    socket.destroyed = true;
    socket.emit('close');
  };
  const closed = new Promise<void>((resolve) => socket.once('close', resolve));
  return { socket, closed, asSocket: socket as unknown as Socket };
}

// The time-outs are short; every "not closed yet" check happens well before its deadline, and
// every "closed" check waits for the close with a generous bound.
const TIMEOUTS = { firstRequestMs: 150, idleMs: 300 };
const within = (p: Promise<void>, ms = 3000) => Promise.race([p.then(() => true), sleep(ms).then(() => false)]);

test('a connection without a first request is closed after firstRequestMs', async () => {
  const { socket, closed, asSocket } = fakeSocket();
  watchConnection(asSocket, TIMEOUTS);
  await sleep(50);
  assert.equal(socket.destroyed, false);
  assert.ok(await within(closed));
});

test('a request in flight is never cut; the idle time counts from its end', async () => {
  const { socket, closed, asSocket } = fakeSocket();
  watchConnection(asSocket, TIMEOUTS);
  const watch = connectionWatchOf(asSocket)!;
  watch.begin();
  await sleep(TIMEOUTS.firstRequestMs + TIMEOUTS.idleMs + 100);
  assert.equal(socket.destroyed, false, 'busy past both time-outs');
  watch.end();
  await sleep(100);
  assert.equal(socket.destroyed, false, 'idle for less than idleMs');
  assert.ok(await within(closed));
});

test('overlapping requests (HTTP/2 streams): idle only when the last one ends', async () => {
  const { socket, closed, asSocket } = fakeSocket();
  watchConnection(asSocket, TIMEOUTS);
  const watch = connectionWatchOf(asSocket)!;
  watch.begin();
  watch.begin();
  watch.end();
  await sleep(TIMEOUTS.idleMs + 100);
  assert.equal(socket.destroyed, false, 'one stream still open');
  watch.end();
  assert.ok(await within(closed));
});

test('keep-alive requests more often than idleMs keep the connection open', async () => {
  const { socket, asSocket } = fakeSocket();
  watchConnection(asSocket, TIMEOUTS);
  const watch = connectionWatchOf(asSocket)!;
  for (let i = 0; i < 6; i++) {
    watch.begin();
    watch.end();
    await sleep(100);
  }
  assert.equal(socket.destroyed, false);
  socket.destroy();
});

test('sockets without a watch have none', () => {
  assert.equal(connectionWatchOf(new EventEmitter()), undefined);
  assert.equal(connectionWatchOf(undefined), undefined);
});
