/**
 * A tiny MinKMS client for server tests, written from docs/minkms.md rather than from the
 * product's codec: frames built and split by hand (§5.1), binary bodies over HTTP/1.1 and HTTP/2,
 * and the MinKMS error answers (§11.2) as the SDK compares them.
 */
import * as https from 'node:https';
import * as http2 from 'node:http2';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { KmsApiKey } from '../../src/auth/kms-credentials.js';
import { createCertificate } from '../../src/pki/x509.js';
import type { ClientIdentity } from './https-client.js';
import type { TestServer } from './test-server.js';

export type Protocol = 'HTTP/1.1' | 'HTTP/2';
export const PROTOCOLS: readonly Protocol[] = ['HTTP/1.1', 'HTTP/2'];

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8. */
  text(): string;
  json(): any;
}

export interface RawClient {
  readonly protocol: Protocol;
  request(method: string, path: string, body?: Uint8Array, headers?: Record<string, string>): Promise<RawResponse>;
  close(): void;
}

function response(status: number, headers: IncomingHttpHeaders, body: Buffer): RawResponse {
  return { status, headers, body, text: () => body.toString('utf8'), json: () => JSON.parse(body.toString('utf8')) };
}

/** A keep-alive client with binary bodies over the given protocol; no identity = no client certificate. */
export function rawClient(port: number, caPem: string, identity: ClientIdentity | undefined, protocol: Protocol): RawClient {
  return protocol === 'HTTP/2' ? h2(port, caPem, identity) : h1(port, caPem, identity);
}

function h1(port: number, caPem: string, identity: ClientIdentity | undefined): RawClient {
  const agent = new https.Agent({ keepAlive: true, ca: caPem, cert: identity?.certPem, key: identity?.keyPem, servername: 'localhost' });
  return {
    protocol: 'HTTP/1.1',
    request: (method, path, body, headers = {}) =>
      new Promise((resolve, reject) => {
        const length = body === undefined ? {} : { 'content-length': String(body.length) };
        const req = https.request({ host: '127.0.0.1', port, method, path, agent, headers: { ...length, ...headers } }, async (res) => {
          const chunks: Buffer[] = [];
          try {
            for await (const c of res) chunks.push(c as Buffer);
          } catch (err) {
            return reject(err);
          }
          resolve(response(res.statusCode ?? 0, res.headers, Buffer.concat(chunks)));
        });
        req.on('error', reject);
        req.end(body === undefined ? undefined : Buffer.from(body));
      }),
    close: () => agent.destroy(),
  };
}

function h2(port: number, caPem: string, identity: ClientIdentity | undefined): RawClient {
  let session: http2.ClientHttp2Session | undefined;
  const connect = () => {
    if (session && !session.closed && !session.destroyed) return session;
    session = http2.connect(`https://127.0.0.1:${port}`, { ca: caPem, cert: identity?.certPem, key: identity?.keyPem, servername: 'localhost' });
    session.on('error', () => undefined);
    return session;
  };
  return {
    protocol: 'HTTP/2',
    request: (method, path, body, headers = {}) =>
      new Promise((resolve, reject) => {
        const length = body === undefined ? {} : { 'content-length': String(body.length) };
        const stream = connect().request({ ':method': method, ':path': path, ...length, ...headers }, { endStream: body === undefined });
        if (body !== undefined) stream.end(Buffer.from(body));
        stream.once('error', reject);
        stream.once('response', async (h) => {
          const chunks: Buffer[] = [];
          try {
            for await (const c of stream) chunks.push(c as Buffer);
          } catch (err) {
            return reject(err);
          }
          const { [':status']: status, ...rest } = h;
          resolve(response(Number(status), rest as IncomingHttpHeaders, Buffer.concat(chunks)));
        });
      }),
    close: () => session?.close(),
  };
}

/** One frame (§5.1): command (uint16 BE), payload length (uint32 BE), payload. */
export function frame(command: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16BE(command, 0);
  head.writeUInt32BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}

/** Frames of a body; fails the test on a body that is not whole frames. */
export function splitFrames(body: Buffer): { command: number; payload: Buffer }[] {
  const out: { command: number; payload: Buffer }[] = [];
  let pos = 0;
  while (pos < body.length) {
    assert.ok(body.length - pos >= 6, `answer ends inside a frame header at byte ${pos}`);
    const command = body.readUInt16BE(pos);
    const n = body.readUInt32BE(pos + 2);
    assert.ok(body.length - pos - 6 >= n, `answer ends inside frame ${out.length + 1}`);
    out.push({ command, payload: body.subarray(pos + 6, pos + 6 + n) });
    pos += 6 + n;
  }
  return out;
}

/** POSTs frames as the MinKMS SDK sends them (§5.1). */
export function post(c: RawClient, path: string, body: Uint8Array): Promise<RawResponse> {
  return c.request('POST', path, body, { 'content-type': 'application/octet-stream', accept: 'application/*' });
}

/**
 * Asserts a 200 answer as the SDK needs it: Content-Length, `application/octet-stream`, and one
 * frame per command with the command's number. Returns the payloads.
 */
export function answerOf(r: RawResponse, commands: readonly number[]): Buffer[] {
  assert.equal(r.status, 200, `status ${r.status}: ${r.text()}`);
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.equal(r.headers['content-length'], String(r.body.length), 'Content-Length present and exact');
  assert.equal(r.headers['content-encoding'], undefined);
  const frames = splitFrames(r.body);
  assert.deepEqual(
    frames.map((f) => f.command),
    [...commands],
    'one answer frame per request frame, same numbers, same order',
  );
  return frames.map((f) => f.payload);
}

/**
 * Asserts an error answer exactly as the MinKMS SDK compares it (§11): the status, and a
 * protobuf-JSON ErrResponse (`application/json`, only `message`) with exactly the message.
 */
export function assertKmsError(r: RawResponse, status: number, message: string, what = ''): void {
  assert.equal(r.status, status, `${what} status (body ${r.text()})`);
  assert.equal(r.headers['content-type'], 'application/json', `${what} content type`);
  assert.deepEqual(JSON.parse(r.text()), { message }, `${what} body`);
}

/** The sentinels of §11.2: status and exact message. */
export const SENTINELS = {
  permission: [403, 'access denied: insufficient permissions'],
  enclaveExists: [409, 'enclave already exists'],
  enclaveNotFound: [404, 'enclave does not exist'],
  keyExists: [409, 'key already exists'],
  keyNotFound: [404, 'key does not exist'],
  policyNotFound: [404, 'policy does not exist'],
  identityNotFound: [404, 'identity does not exist'],
  decrypt: [400, 'invalid ciphertext'],
} as const satisfies Record<string, readonly [number, string]>;

/** A client certificate for a MinKMS API key, as the SDK makes one (§2.3). */
export function certificateOfApiKey(text: string): ClientIdentity & { identity: string; kmsIdentity: string } {
  const key = KmsApiKey.parse(text);
  const { pem } = createCertificate({
    commonName: key.kmsIdentity,
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    isCA: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  });
  return { certPem: pem, keyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), identity: key.identity, kmsIdentity: key.kmsIdentity };
}

/** A raw client of a test server. */
export function rawOf(t: TestServer, identity: ClientIdentity | null, protocol: Protocol = 'HTTP/1.1'): RawClient {
  return rawClient(t.port, t.pki.ca.certPem, identity ?? undefined, protocol);
}
