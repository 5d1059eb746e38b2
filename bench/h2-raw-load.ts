/**
 * The HTTP/2 load on raw frames (bench/h2-wire.ts): the same load as bench/h2-load.ts
 * (`connections` × `streams`, closed loop), at a fraction of the client's CPU per request.
 *
 * Why a second client: node:http2's client spends as much CPU per request as the servers measured
 * here or more (a stream object, an async resource, header validation and several events each),
 * so on a core of its own it cannot keep them busy. Here a request is two frames copied from a template
 * with the stream id patched in, all requests made while handling one read go out in one write,
 * and a response is read as far as its `:status` and END_STREAM.
 *
 * It does what an HTTP/2 client must: the preface and SETTINGS, SETTINGS and PING
 * acknowledgements, the server's concurrent-stream limit and connection send window, receive
 * windows kept open, RST_STREAM and GOAWAY (a new connection for what follows).
 */
import * as tls from 'node:tls';
import { kesRequest } from './kes-requests.js';
import { h2Call } from './h2-load.js';
import type { HttpResult, LoadSpec } from './load-spec.js';
import { LoadTally } from './load-tally.js';
import {
  DEFAULT_WINDOW,
  FLAG,
  FRAME,
  FRAME_HEADER,
  MAX_WINDOW,
  PREFACE,
  SETTING,
  frame,
  requestHeaderBlocks,
  settingsFrame,
  statusClass,
  windowUpdateFrame,
  type HeaderBlocks,
  type RequestHead,
} from './h2-wire.js';

type H2Spec = Extract<LoadSpec, { mode: 'h2' }>;

/** A refused or broken connection is opened again after this pause, not in a tight loop. */
const RECONNECT_MS = 100;

/** What the connections of a load share: the request and the tally. */
class Run extends LoadTally {
  constructor(
    readonly spec: H2Spec,
    readonly head: RequestHead,
    readonly body: Buffer | undefined,
  ) {
    super();
  }
}

/** One request in flight at a time, the next sent when the last has ended. */
class Slot {
  sentAt = 0;
  /** 2 for a 2xx status, 1 for another, 0 before the response's headers. */
  status: 0 | 1 | 2 = 0;

  constructor(
    readonly run: Run,
    readonly connection: Connection,
  ) {}

  /** Sends the next request, or goes idle after the deadline. */
  next(): void {
    const run = this.run;
    if (performance.now() >= run.deadline) return run.slotIdle();
    this.connection.submit(this);
  }

  done(ok: boolean): void {
    this.run.record(ok, this.status === 2, this.sentAt, performance.now());
    this.next();
  }
}

/** Request templates: HEADERS (+ DATA) with the stream id at known offsets. */
interface Template {
  bytes: Buffer;
  idOffsets: number[];
}

function template(block: Buffer, body: Buffer | undefined): Template {
  const headers = frame(FRAME.HEADERS, FLAG.END_HEADERS | (body === undefined ? FLAG.END_STREAM : 0), 0, block);
  if (body === undefined) return { bytes: headers, idOffsets: [5] };
  return { bytes: Buffer.concat([headers, frame(FRAME.DATA, FLAG.END_STREAM, 0, body)]), idOffsets: [5, headers.length + 5] };
}

class Connection {
  private socket: tls.TLSSocket | undefined;
  private ready = false;
  private closed = false;
  /** No new streams: the server sent GOAWAY; a new connection follows once this one is empty. */
  private goingAway = false;
  private rest: Buffer | undefined;
  private nextId = 1;
  private readonly inFlight = new Map<number, Slot>();
  /** Slots waiting for the connection, a stream or send window. */
  private waiting: Slot[] = [];
  /** Slots whose requests go out with the next write. */
  private outgoing: Slot[] = [];
  private primed = false;
  private templates: { first: Template; later: Template } | undefined;
  private sendWindow = DEFAULT_WINDOW;
  private maxStreams = Infinity;
  private serverTableSize = 4096;
  private received = 0;
  /** Resolves when the server's first SETTINGS arrived (the load's clock starts after). */
  readyOnce: Promise<void>;
  private onReady: () => void = () => undefined;
  private onFail: (e: Error) => void = () => undefined;

  constructor(private readonly run: Run) {
    this.readyOnce = new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onFail = reject;
    });
    this.open();
  }

  private open(): void {
    const spec = this.run.spec;
    const socket = tls.connect({ host: '127.0.0.1', port: spec.port, cert: spec.cert, key: spec.key, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') {
        this.onFail(new Error(`the server on port ${spec.port} does not speak HTTP/2 (ALPN: ${socket.alpnProtocol || 'none'})`));
        socket.destroy();
        return;
      }
      // Push off, no dynamic table for responses (see h2-wire.ts), receive windows wide open.
      socket.write(
        Buffer.concat([
          PREFACE,
          settingsFrame([
            [SETTING.ENABLE_PUSH, 0],
            [SETTING.HEADER_TABLE_SIZE, 0],
            [SETTING.INITIAL_WINDOW_SIZE, MAX_WINDOW],
          ]),
          windowUpdateFrame(0, MAX_WINDOW - DEFAULT_WINDOW),
        ]),
      );
    });
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (e) => this.onFail(e));
    socket.on('close', () => this.lost());
  }

  /** The connection ended: its requests failed; a new one serves the slots until the deadline. */
  private lost(): void {
    const failed = [...this.inFlight.values(), ...this.outgoing];
    this.inFlight.clear();
    this.outgoing = [];
    this.socket = undefined;
    this.ready = false;
    this.goingAway = false;
    this.rest = undefined;
    this.nextId = 1;
    this.primed = false;
    this.sendWindow = DEFAULT_WINDOW;
    this.maxStreams = Infinity;
    for (const slot of failed) slot.done(false);
    if (!this.closed && performance.now() < this.run.deadline) {
      setTimeout(() => !this.closed && this.open(), RECONNECT_MS).unref();
    } else {
      // No new connection: the waiting slots go idle.
      const waiting = this.waiting;
      this.waiting = [];
      for (const slot of waiting) slot.next();
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }

  inFlightCount(): number {
    return this.inFlight.size + this.outgoing.length;
  }

  submit(slot: Slot): void {
    const needed = this.run.body?.length ?? 0;
    if (!this.ready || this.goingAway || this.inFlight.size + this.outgoing.length >= this.maxStreams || this.sendWindow < needed) {
      this.waiting.push(slot);
      return;
    }
    this.sendWindow -= needed;
    slot.status = 0;
    slot.sentAt = performance.now();
    this.outgoing.push(slot);
  }

  /** Sends what waits and fits, then writes all new requests at once. */
  private flush(): void {
    if (this.waiting.length > 0 && this.ready) {
      const waiting = this.waiting;
      this.waiting = [];
      for (const slot of waiting) slot.next();
    }
    const outgoing = this.outgoing;
    if (outgoing.length === 0 || this.socket === undefined) return;
    const { first, later } = this.templates!;
    let size = outgoing.length * later.bytes.length;
    if (!this.primed) size += first.bytes.length - later.bytes.length;
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (const slot of outgoing) {
      const t = this.primed ? later : first;
      this.primed = true;
      t.bytes.copy(out, at);
      const id = this.nextId;
      this.nextId += 2;
      for (const offset of t.idOffsets) out.writeUInt32BE(id, at + offset);
      at += t.bytes.length;
      this.inFlight.set(id, slot);
    }
    this.outgoing = [];
    this.socket.write(out);
  }

  /** Handles every whole frame of the bytes read, then writes the requests that made. */
  private read(chunk: Buffer): void {
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    let pos = 0;
    while (pos + FRAME_HEADER <= buf.length) {
      const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      const end = pos + FRAME_HEADER + length;
      if (end > buf.length) break;
      this.frame(buf[pos + 3]!, buf[pos + 4]!, buf.readUInt32BE(pos + 5) & 0x7fffffff, buf, pos + FRAME_HEADER, end);
      pos = end;
    }
    this.rest = pos < buf.length ? buf.subarray(pos) : undefined;
    this.flush();
  }

  private frame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    switch (type) {
      case FRAME.DATA:
        // The receive windows start at the maximum; the connection's is given back in large
        // steps (a stream's never runs out: a reply is far smaller).
        this.received += end - start;
        if (this.received > 2 ** 30) {
          this.socket!.write(windowUpdateFrame(0, this.received));
          this.received = 0;
        }
        if (flags & FLAG.END_STREAM) this.end(id, true);
        return;
      case FRAME.HEADERS: {
        const slot = this.inFlight.get(id);
        if (slot !== undefined && slot.status === 0) {
          let from = start;
          let to = end;
          if (flags & FLAG.PADDED) {
            to -= buf[from]!;
            from++;
          }
          if (flags & FLAG.PRIORITY) from += 5;
          slot.status = statusClass(buf, from, to) === 2 ? 2 : 1;
        }
        if (flags & FLAG.END_STREAM) this.end(id, true);
        return;
      }
      case FRAME.RST_STREAM:
        this.end(id, false);
        return;
      case FRAME.SETTINGS:
        if (flags & FLAG.ACK) return;
        for (let p = start; p + 6 <= end; p += 6) {
          const setting = buf.readUInt16BE(p);
          const value = buf.readUInt32BE(p + 2);
          if (setting === SETTING.MAX_CONCURRENT_STREAMS) this.maxStreams = value;
          else if (setting === SETTING.HEADER_TABLE_SIZE) this.serverTableSize = value;
          else if (setting === SETTING.INITIAL_WINDOW_SIZE && value < (this.run.body?.length ?? 0)) {
            this.onFail(new Error(`the server's stream window (${value} bytes) is smaller than a request body`));
          }
        }
        this.socket!.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
        if (!this.ready) {
          this.ready = true;
          const run = this.run;
          const blocks: HeaderBlocks = requestHeaderBlocks(run.head, this.serverTableSize);
          this.templates = { first: template(blocks.first, run.body), later: template(blocks.later, run.body) };
          this.onReady();
        }
        return;
      case FRAME.PING:
        if (!(flags & FLAG.ACK)) this.socket!.write(frame(FRAME.PING, FLAG.ACK, 0, buf.subarray(start, end)));
        return;
      case FRAME.GOAWAY: {
        // Streams above the last one the server took were not processed: they failed.
        const last = buf.readUInt32BE(start) & 0x7fffffff;
        this.goingAway = true;
        for (const id of [...this.inFlight.keys()]) if (id > last) this.end(id, false);
        if (this.inFlight.size === 0) this.socket!.destroy();
        return;
      }
      case FRAME.WINDOW_UPDATE:
        if (id === 0) this.sendWindow += buf.readUInt32BE(start) & 0x7fffffff;
        return;
      default:
      // PRIORITY, CONTINUATION (the :status is in the HEADERS frame), unknown types: nothing to do.
    }
  }

  /** A stream ended (ok) or was reset. */
  private end(id: number, ok: boolean): void {
    const slot = this.inFlight.get(id);
    if (slot === undefined) return;
    this.inFlight.delete(id);
    slot.done(ok);
    if (this.goingAway && this.inFlight.size === 0) this.socket?.destroy();
  }

  /** Starts the slots' first requests. */
  start(slots: Slot[]): void {
    for (const slot of slots) slot.next();
    this.flush();
  }
}

export async function h2RawLoad(spec: H2Spec): Promise<HttpResult> {
  const r = await kesRequest(spec.op, spec.keyName, h2Call(spec));
  const head: RequestHead = { method: r.method, path: r.path, authority: `127.0.0.1:${spec.port}`, contentLength: r.body?.length };
  const run = new Run(spec, head, r.body);

  // The TLS handshakes and SETTINGS exchanges are not part of the measured time.
  const connections = Array.from({ length: spec.connections }, () => new Connection(run));
  await Promise.all(connections.map((c) => c.readyOnce));

  const slots = connections.map((c) => Array.from({ length: spec.streams }, () => new Slot(run, c)));
  run.begin(spec.connections * spec.streams, spec.durationS);
  connections.forEach((c, i) => c.start(slots[i]!));
  // Requests that never ended (a stuck server) are errors.
  const result = await run.result(spec.durationS, () => connections.reduce((n, c) => n + c.inFlightCount(), 0));
  for (const c of connections) c.close();
  return result;
}
