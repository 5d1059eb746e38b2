/**
 * A raw HTTPS client for server tests: real TLS connections with a client certificate (or
 * none), keep-alive, and the response as status, headers and text. HTTP/1.1 via node:https,
 * HTTP/2 via node:http2.
 */
import * as https from 'node:https';
import * as http2 from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): any;
}

export interface ClientIdentity {
  certPem: string;
  keyPem: string;
}

export interface TestClient {
  request(method: string, path: string, body?: string | object, headers?: Record<string, string>): Promise<TestResponse>;
  /** Opens a streaming GET; resolves with the response once headers arrive. */
  stream(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; lines: AsyncIterable<string>; close(): void }>;
  close(): void;
}

function toResponse(status: number, headers: IncomingHttpHeaders, body: string): TestResponse {
  return { status, headers, body, json: () => JSON.parse(body) };
}

/** A client over HTTP/1.1 with keep-alive. */
export function httpsClient(port: number, caPem: string, identity?: ClientIdentity, host = '127.0.0.1'): TestClient {
  const agent = new https.Agent({ keepAlive: true, ca: caPem, cert: identity?.certPem, key: identity?.keyPem, servername: 'localhost' });
  const send = (method: string, path: string, body?: string | object, headers: Record<string, string> = {}) =>
    new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const chunked = 'transfer-encoding' in headers;
      const length = payload !== undefined && !chunked ? { 'content-length': Buffer.byteLength(payload) } : {};
      const req = https.request({ host, port, method, path, agent, headers: { ...length, ...headers } }, resolve);
      req.on('error', reject);
      req.end(payload);
    });
  return {
    async request(method, path, body, headers) {
      const res = await send(method, path, body, headers);
      let text = '';
      for await (const chunk of res) text += chunk;
      return toResponse(res.statusCode ?? 0, res.headers, text);
    },
    async stream(path, headers) {
      const res = await send('GET', path, undefined, headers);
      return { status: res.statusCode ?? 0, headers: res.headers, lines: lines(res), close: () => res.destroy() };
    },
    close: () => agent.destroy(),
  };
}

/** A client over HTTP/2 (one session). */
export function http2Client(port: number, caPem: string, identity?: ClientIdentity): TestClient {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: caPem, cert: identity?.certPem, key: identity?.keyPem, servername: 'localhost' });
  session.on('error', () => undefined);
  const open = (method: string, path: string, payload?: string, headers: Record<string, string> = {}) => {
    const stream = session.request({ ':method': method, ':path': path, ...headers }, { endStream: payload === undefined });
    if (payload !== undefined) stream.end(payload);
    return new Promise<{ stream: http2.ClientHttp2Stream; headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader }>((resolve, reject) => {
      stream.once('response', (h) => resolve({ stream, headers: h }));
      stream.once('error', reject);
    });
  };
  return {
    async request(method, path, body, headers) {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const { stream, headers: h } = await open(method, path, payload, headers);
      let text = '';
      stream.setEncoding('utf8');
      for await (const chunk of stream) text += chunk;
      return toResponse(Number(h[':status']), h, text);
    },
    async stream(path, headers) {
      const { stream, headers: h } = await open('GET', path, undefined, headers);
      return { status: Number(h[':status']), headers: h, lines: lines(stream), close: () => stream.close() };
    },
    close: () => session.close(),
  };
}

async function* lines(source: AsyncIterable<Buffer | string>): AsyncIterable<string> {
  let buf = '';
  for await (const chunk of source) {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
  if (buf) yield buf;
}
