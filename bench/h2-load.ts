/**
 * The HTTP/2 load through node:http2's client (`--h2-client node`), shaped like MinIO's Go
 * client, which multiplexes all its concurrent requests over one connection: `connections`
 * sessions × `streams` stream slots each, closed loop (a slot sends its next request as soon as
 * its response has ended), for `durationS` seconds.
 *
 * Kept lean: the headers object and the encoded body are made once, every request is
 * `session.request(headers)` + `end(body)` with the same four listeners (module-level functions;
 * the slot rides on the stream), and latencies go into a flat array. Even so node:http2's client
 * spends as much CPU per request as the servers measured here or more (a stream object, an async
 * resource, header validation, several events), and it limits their figures: the bench
 * uses the raw-frame client (bench/h2-raw-load.ts) unless told otherwise. This one stays as a
 * cross-check of that client, and sends the one request that prepares decrypt's load.
 */
import * as http2 from 'node:http2';
import { kesRequest, type Call } from './kes-requests.js';
import type { HttpResult, LoadSpec } from './load-spec.js';
import { LoadTally } from './load-tally.js';

type H2Spec = Extract<LoadSpec, { mode: 'h2' }>;
type Tls = Pick<H2Spec, 'port' | 'cert' | 'key'>;

function connect(spec: Tls): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${spec.port}`, { cert: spec.cert, key: spec.key, rejectUnauthorized: false });
  // Stream errors are counted by their slots; a session error also fails its streams.
  session.on('error', () => undefined);
  return session;
}

function connected(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
}

/** One request over a fresh session, for preparing the load (decrypt's ciphertext). */
export function h2Call(spec: Tls): Call {
  return async (method, path, body) => {
    const session = connect(spec);
    try {
      await connected(session);
      return await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':method': method, ':path': path, 'content-type': 'application/json' });
        let status = 0;
        let text = '';
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', (c: Buffer) => (text += c));
        req.on('end', () => (status === 200 ? resolve(text) : reject(new Error(`${path}: ${status} ${text}`))));
        req.on('error', reject);
        req.end(body);
      });
    } finally {
      session.close();
    }
  };
}

/** The state all slots of a load share: the request and the tally. */
class Run extends LoadTally {
  constructor(
    readonly headers: http2.OutgoingHttpHeaders,
    readonly options: http2.ClientSessionRequestOptions,
    readonly body: Buffer | undefined,
  ) {
    super();
  }
}

/** A connection that replaces its session when the server closed it (GOAWAY, error). */
class Connection {
  session: http2.ClientHttp2Session;

  constructor(private readonly spec: Tls) {
    this.session = connect(spec);
  }

  current(): http2.ClientHttp2Session {
    if (this.session.closed || this.session.destroyed) this.session = connect(this.spec);
    return this.session;
  }
}

const SLOT = Symbol('slot');
type SlotStream = http2.ClientHttp2Stream & { [SLOT]: Slot };

/** One request in flight at a time, the next sent when the last has ended. */
class Slot {
  /** The stream in flight; events of any other (finished) stream are ignored. */
  stream: SlotStream | undefined;
  status = 0;
  private sentAt = 0;

  constructor(
    private readonly run: Run,
    private readonly connection: Connection,
  ) {}

  send(): void {
    const run = this.run;
    this.sentAt = performance.now();
    if (this.sentAt >= run.deadline) return run.slotIdle();
    this.status = 0;
    let stream: SlotStream;
    try {
      stream = this.connection.current().request(run.headers, run.options) as SlotStream;
    } catch {
      // The session went away between the check and the request: count it, try again later.
      run.errors++;
      setImmediate(() => this.send());
      return;
    }
    stream[SLOT] = this;
    this.stream = stream;
    stream.on('response', onResponse);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    stream.resume(); // read the reply fully, discarding it
    if (run.body !== undefined) stream.end(run.body);
  }

  /** The stream in flight ended (ok) or failed; record it and send the next request. */
  done(ok: boolean): void {
    this.stream = undefined;
    this.run.record(ok, this.status >= 200 && this.status < 300, this.sentAt, performance.now());
    this.send();
  }
}

function onResponse(this: SlotStream, headers: http2.IncomingHttpHeaders) {
  this[SLOT].status = Number(headers[':status']);
}
function onEnd(this: SlotStream) {
  if (this[SLOT].stream === this) this[SLOT].done(true);
}
function onError(this: SlotStream) {
  if (this[SLOT].stream === this) this[SLOT].done(false);
}
/** A stream reset without an error (RST_STREAM NO_ERROR) closes without 'end' or 'error'. */
function onClose(this: SlotStream) {
  if (this[SLOT].stream === this) this[SLOT].done(false);
}

export async function h2Load(spec: H2Spec): Promise<HttpResult> {
  const r = await kesRequest(spec.op, spec.keyName, h2Call(spec));
  const headers: http2.OutgoingHttpHeaders = { ':method': r.method, ':path': r.path };
  if (r.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = r.body.length;
  }
  const run = new Run(headers, { endStream: r.body === undefined }, r.body);

  // The TLS handshakes are not part of the measured time.
  const connections = Array.from({ length: spec.connections }, () => new Connection(spec));
  await Promise.all(connections.map((c) => connected(c.session)));

  const slots = connections.flatMap((c) => Array.from({ length: spec.streams }, () => new Slot(run, c)));
  run.begin(slots.length, spec.durationS);
  for (const slot of slots) slot.send();
  // Requests that never ended (a stuck server) are errors.
  const result = await run.result(spec.durationS, () => slots.filter((s) => s.stream !== undefined).length);
  for (const c of connections) c.session.destroy();
  return result;
}
