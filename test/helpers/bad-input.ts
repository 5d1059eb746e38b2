/**
 * The rows of the bad-input matrix (test/server/bad-input*.test.ts): for each route of the route
 * table, a valid request, and the requests of every class of bad input that applies to the
 * route, each with the exact answer KES (or, on the MinKMS routes, MinKMS) gives (protocol.md
 * §1.2–§1.4, §4, §5, §20; docs/minkms.md, §5, §11).
 *
 * Classes are derived from the route's attributes (methods, subtree or exact path, body limit,
 * authentication), so a new route is covered by them automatically; only its valid request (in
 * the matrix test: with the other methods it accepts and, where the handler authorizes, what it
 * needs) and, for a route with a body, its body (BODY_SHAPES: JSON fields, MinKMS command frames,
 * a bare protobuf message or opaque bytes) must be described, which the matrix checks.
 */
import * as https from 'node:https';
import * as http2 from 'node:http2';
import type { Route } from '../../src/server/routes.js';
import { catalogue, ROUTER_ANSWERS } from '../../src/api/errors.js';
import { commandByNumber } from '../../src/kms/commands.js';
import { commandMessages, LogFilter, type AnyMessageCodec, type FieldKind } from '../../src/kms/messages.js';
import type { ClientIdentity, TestClient, TestResponse } from './https-client.js';

/** The answer a row expects. */
export interface Expect {
  status: number;
  /** The KES error message (`{"message": ...}` body). */
  message?: string;
  /** The exact body (plain-text answers: 404, 400 for a bad escape). */
  body?: string;
  /** The Location header (301). */
  location?: string;
  /** The Accept header (405). */
  accept?: string;
  /**
   * A MinKMS command answer: the command numbers of its frames, in order (one per request frame),
   * sent as `application/octet-stream` with a Content-Length (docs/minkms.md, §5.2).
   */
  frames?: readonly number[];
}

export interface Row {
  /** The class of bad input, for failure messages. */
  what: string;
  method: string;
  path: string;
  /** A JSON (or other) text, or the bytes of a binary body. */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** The body is sent without a length (HTTP/1.1: chunked). */
  streamed?: boolean;
  /** Only a Content-Length of this many bytes is declared; no body is sent (a limit too large to send). */
  declared?: number;
  /** A log stream: the answer is checked once its headers arrive. */
  stream?: boolean;
  expect: Expect;
}

/**
 * What a caller needs on a route that authorizes in its handler (auth `identify`, the MinKMS
 * routes): the paths a config policy must allow (for a MinKMS command its operation's KES path
 * and subject, server/access.ts), or `sysadmin`, which no config policy grants (the admin only:
 * `/v1/db`, `/v1/debug/log`, system commands, enclaves other than the default one).
 */
export type Needs = readonly string[] | 'sysadmin';

/** A valid request of a route, and its answer (chosen so the key store is never changed). */
export interface ValidRequest {
  resource: string;
  /** A JSON value, or the bytes (Buffer) of a binary body. */
  body?: unknown;
  expect: Expect;
  stream?: boolean;
  /** What it needs, when the handler authorizes (absent: the route's `auth` decides). */
  needs?: Needs;
  /**
   * Other valid requests of the route, each run as the valid request is: one for each method of
   * `alsoAccepts`, and (MinKMS) other commands and batches. They need what the valid request
   * needs unless they say otherwise.
   */
  others?: readonly OtherRequest[];
}

export interface OtherRequest {
  what: string;
  /** Default: the route's method. */
  method?: string;
  /** Default: the valid request's. */
  resource?: string;
  body?: unknown;
  stream?: boolean;
  needs?: Needs;
  expect: Expect;
}

/** The JSON body of a route that reads one. */
export interface JsonBodyShape {
  kind?: undefined;
  /** Its fields and their Go types. */
  fields: Record<string, 'bytes' | 'string' | 'number'>;
  /** The 400 message for a body that does not decode. */
  message: string;
  /** The body is a JSON array of such objects (legacy bulk decrypt). */
  array?: boolean;
  /** The body is optional: an empty one is no body, answered as the valid request (generate). */
  optional?: boolean;
}

/**
 * MinKMS command frames (docs/minkms.md): the bad bodies are made from the valid body's
 * frames and the request message of its (read) command.
 */
export interface FramesBodyShape {
  kind: 'frames';
  /** The most frames one request may carry. */
  maxFrames: number;
}

/** One bare protobuf message (`/v1/debug/log`'s LogRequest, as the server reads it: LogFilter); empty bytes are the default message. */
export interface MessageBodyShape {
  kind: 'message';
  codec: AnyMessageCodec;
  /** The 400 message for bytes that are not the message. */
  message: string;
}

/** Bytes the handler checks itself (a backup), sent with `method`: the valid body is that method's request. */
export interface OpaqueBodyShape {
  kind: 'opaque';
  method: string;
  /** The answer to bytes that are not a valid body. */
  invalid: Expect;
}

export type BodyShape = JsonBodyShape | FramesBodyShape | MessageBodyShape | OpaqueBodyShape;

export const OK: Expect = { status: 200 };
export const NOT_ALLOWED: Expect = { status: 403, message: 'not authorized: insufficient permissions' };
/** MinKMS's ErrPermission (docs/minkms.md): the refusal of routes that authorize in their handler. */
export const KMS_DENIED: Expect = { status: 403, message: 'access denied: insufficient permissions' };
export const TOO_LARGE: Expect = { status: 413, message: 'request body too large' };
export const NOT_FOUND: Expect = { status: 404, body: '404 page not found\n' };

const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

/** Bodies up to this size are sent whole; a route with a larger limit gets a declared length only. */
const SENDABLE = 16_000_000;

/** The bodies of the routes with a body limit, keyed by route path. */
export const BODY_SHAPES: Readonly<Record<string, BodyShape>> = {
  '/v1/key/import/': { fields: { key: 'bytes', cipher: 'string' }, message: 'invalid import key request body' },
  '/v1/key/generate/': { fields: { context: 'bytes' }, message: 'invalid request body', optional: true },
  '/v1/key/encrypt/': { fields: { plaintext: 'bytes', context: 'bytes' }, message: 'invalid request body' },
  '/v1/key/decrypt/': { fields: { ciphertext: 'bytes', context: 'bytes' }, message: 'invalid request body' },
  '/v1/key/hmac/': { fields: { message: 'bytes' }, message: 'invalid request body' },
  '/v1/key/bulk/decrypt/': { fields: { ciphertext: 'bytes', context: 'bytes' }, message: 'invalid request body', array: true },
  '/v1/key/rotate/': { fields: { key: 'bytes', cipher: 'string' }, message: 'invalid request body', optional: true },
  '/v1/key/delete-version/': { fields: { version: 'number' }, message: 'invalid request body' },
  '/v1/key/rewrap/': { fields: { ciphertext: 'bytes', context: 'bytes' }, message: 'invalid request body' },
  '/v1/kms': { kind: 'frames', maxFrames: 1000 },
  '/v1/kms/': { kind: 'frames', maxFrames: 1000 },
  '/v1/debug/log': { kind: 'message', codec: LogFilter, message: 'invalid request: malformed log request' },
  // The matrix's server has a backup key: bytes that are not its backup are refused.
  '/v1/db': { kind: 'opaque', method: 'PUT', invalid: { status: 400, message: 'invalid backup: not an openkes backup, damaged, or encrypted under another key' } },
};

type ResourceKind = 'key' | 'policy' | 'identity' | 'pattern' | 'enclave' | 'any';

/**
 * What the resource of a subtree route names; undefined for exact routes. `enclave`: a MinKMS
 * enclave, KES name rules, none (`/v1/kms/`) = the default enclave; `any`: not read, every
 * resource gets the route's answer (`/v1/rpc/`).
 */
export function resourceKind(route: Route): ResourceKind | undefined {
  if (!route.path.endsWith('/')) return undefined;
  if (route.path.includes('/list/')) return 'pattern';
  if (route.path.startsWith('/v1/key/')) return 'key';
  if (route.path.startsWith('/v1/policy/')) return 'policy';
  if (route.path.startsWith('/v1/identity/')) return 'identity';
  if (route.path === '/v1/kms/') return 'enclave';
  if (route.path === '/v1/rpc/') return 'any';
  throw new Error(`the subtree route ${route.path} takes an unknown kind of resource: classify it in resourceKind`);
}

/** The 400 for an invalid name or listing pattern: KES's (protocol.md §5.3), MinKMS's for enclaves. */
function invalidResource(kind: Exclude<ResourceKind, 'any'>, r: string): Expect {
  if (kind === 'pattern') return { status: 400, message: `listing pattern '${r}' is empty, too long or is invalid` };
  if (kind === 'identity') return { status: 400, message: `identity '${r}' is empty, too long or contains invalid characters` };
  if (kind === 'enclave') return { status: 400, message: `invalid request: enclave name '${r}' is empty, too long or contains invalid characters` };
  return { status: 400, message: `${kind} name '${r}' is empty, too long or contains invalid characters` };
}

/**
 * Resources that are not names (raw path segment, decoded value, valid as a listing pattern).
 * Percent-escapes are decoded before validation, as Go does.
 */
const BAD_RESOURCES: readonly [what: string, raw: string, decoded: string, validPattern: boolean][] = [
  ['an empty name', '', '', true],
  ['81 characters', 'a'.repeat(81), 'a'.repeat(81), false],
  ['8000 characters', 'b'.repeat(8000), 'b'.repeat(8000), false],
  ['a leading hyphen', '-a', '-a', false],
  ['a trailing hyphen', 'a-', 'a-', false],
  ['a dot', 'my.key', 'my.key', false],
  ['_ alone', '_', '_', false],
  ['a percent-encoded unicode character', 'key-%E2%82%AC', 'key-€', false],
  ['a percent-encoded slash', 'a%2Fb', 'a/b', false],
  ['a percent-encoded NUL', 'a%00b', 'a\u0000b', false],
  ['a percent-encoded space', 'a%20b', 'a b', false],
  ['invalid UTF-8', 'a%FFb', 'a\uFFFDb', false],
  ['a * inside', 'a*b', 'a*b', false],
  ['two *', '**', '**', false],
  ['a trailing *', 'ab*', 'ab*', true],
];

/** The answer to a bad resource: 400, or the valid answer where the kind accepts it. */
function badResourceExpect(kind: ResourceKind, decoded: string, validPattern: boolean, valid: Expect): Expect {
  if (kind === 'any') return valid;
  if (kind === 'pattern' && validPattern) return OK;
  if (kind === 'enclave' && decoded === '') return valid; // `/v1/kms/`: the default enclave
  return invalidResource(kind, decoded);
}

const percentEncodeAll = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** Go's path.Clean of a subtree prefix followed by `..`: the parent of the prefix's last segment. */
function parentOf(prefix: string): string {
  const trimmed = prefix.slice(0, -1);
  return trimmed.slice(0, trimmed.lastIndexOf('/')) || '/';
}

/** A JSON text of obj with field set to a raw JSON value. */
function withRaw(obj: Record<string, unknown>, field: string, raw: string): string {
  const marker = 'raw-json-value-3f9c1e';
  const json = JSON.stringify({ ...obj, [field]: marker }).replace(`"${marker}"`, () => raw);
  if (json.includes(marker)) throw new Error('withRaw: the marker was not replaced');
  return json;
}

/** A request body as sent: bytes as they are, anything else as JSON. */
function encodeBody(body: unknown): string | Buffer | undefined {
  if (body === undefined) return undefined;
  return Buffer.isBuffer(body) ? body : JSON.stringify(body);
}

/** The methods a route answers: its own, `alsoAccepts`, and POST where PUT is (as the pipeline does). */
export function acceptedMethods(route: Route): Set<string> {
  return new Set<string>([route.method, ...(route.alsoAccepts ?? []), ...(route.method === 'PUT' ? ['POST'] : [])]);
}

/** KES's 405: the message and Accept header name the route's method (not the others it also accepts). */
function methodNotAllowed(route: Route, method: string): Expect {
  return { status: 405, accept: route.method, ...(method !== 'HEAD' && { message: `received method '${method}' expected '${route.method}'` }) };
}

/** A row of one of the valid request's other requests. */
function otherRow(route: Route, valid: ValidRequest, o: OtherRequest, expect: Expect, stream = o.stream): Row {
  return { what: o.what, method: o.method ?? route.method, path: route.path + (o.resource ?? valid.resource), body: encodeBody(o.body), stream, expect };
}

/**
 * The rows every client gets for a route: its valid request, and bad resources and methods.
 * @param neighbour the route and valid request at another path, if the table has a route there:
 *   an exact route's subtree (`/v1/kms/` of `/v1/kms`), a subtree's root (`/v1/kms` of `/v1/kms/`)
 */
export function requestRows(route: Route, valid: ValidRequest, neighbour: (path: string) => [Route, ValidRequest] | undefined = () => undefined): Row[] {
  const rows: Row[] = [];
  const body = encodeBody(valid.body);
  const base = { method: route.method, body, stream: valid.stream };
  const url = (resource: string) => route.path + resource;
  rows.push({ what: 'the valid request', ...base, path: url(valid.resource), expect: valid.expect });
  rows.push({ what: 'a junk query string', ...base, path: `${url(valid.resource)}?%zz=&&x=%00`, expect: valid.expect });
  rows.push({ what: 'a wrong content type', ...base, path: url(valid.resource), headers: { 'content-type': 'text/html; charset=latin1' }, expect: valid.expect });
  if (route.maxBody === 0 && !valid.stream) {
    rows.push({ what: 'a body the route does not read', ...base, path: url(valid.resource), body: '{"junk": [1, 2', expect: valid.expect });
  }
  for (const o of valid.others ?? []) rows.push(otherRow(route, valid, o, o.expect));

  const accepted = acceptedMethods(route);
  for (const method of METHODS) {
    if (accepted.has(method)) continue;
    rows.push({ what: `method ${method}`, method, path: url(valid.resource), body, expect: methodNotAllowed(route, method) });
  }

  const kind = resourceKind(route);
  if (kind === undefined) {
    const subtree = neighbour(`${route.path}/`);
    if (subtree) {
      // Served by the subtree route (the same request there): its empty resource, and a bad one.
      const [sub, subValid] = subtree;
      const subKind = resourceKind(sub)!;
      sameBody(sub, subValid, route, valid);
      rows.push({ what: `a trailing slash (route ${sub.path})`, ...base, path: `${route.path}/`, expect: badResourceExpect(subKind, '', true, subValid.expect) });
      rows.push({ what: `a sub-path (route ${sub.path})`, ...base, path: `${route.path}/a.b`, expect: badResourceExpect(subKind, 'a.b', false, subValid.expect) });
      return rows;
    }
    rows.push({ what: 'a trailing slash', ...base, path: `${route.path}/`, expect: NOT_FOUND, stream: false });
    rows.push({ what: 'a sub-path', ...base, path: `${route.path}/x`, expect: NOT_FOUND, stream: false });
    return rows;
  }
  for (const [what, raw, decoded, validPattern] of BAD_RESOURCES) {
    rows.push({ what: `a resource with ${what}`, ...base, path: url(raw), expect: badResourceExpect(kind, decoded, validPattern, valid.expect) });
  }
  rows.push({ what: 'a percent-encoded valid resource', ...base, path: url(percentEncodeAll(valid.resource)), expect: valid.expect });
  rows.push({ what: 'a malformed percent-escape', ...base, path: url('a%zz'), expect: { status: 400, body: '400 Bad Request' } });
  const root = neighbour(route.path.slice(0, -1));
  if (root) {
    // An exact route at the root (`/v1/kms`): it serves the same request, never a redirect.
    sameBody(root[0], root[1], route, valid);
    rows.push({ what: `the subtree root without its slash (route ${root[0].path})`, ...base, path: route.path.slice(0, -1), expect: root[1].expect });
  } else {
    rows.push({ what: 'the subtree root without its slash', ...base, path: route.path.slice(0, -1), expect: { status: 301, location: route.path } });
  }
  const parent = parentOf(route.path);
  rows.push({ what: 'a .. resource', ...base, path: url('..'), expect: { status: 301, location: parent } });
  rows.push({ what: 'a percent-encoded .. resource', ...base, path: url('%2E%2E'), expect: { status: 301, location: parent } });
  rows.push({ what: 'a percent-encoded ../.. path', ...base, path: url('..%2F..%2Fetc%2Fpasswd'), expect: { status: 301, location: `${parentOf(parent + '/')}/etc/passwd`.replace('//', '/') } });
  return rows;
}

/** Neighbouring routes serve the same valid request (their rows send one route's to the other). */
function sameBody(a: Route, av: ValidRequest, b: Route, bv: ValidRequest): void {
  const [x, y] = [encodeBody(av.body), encodeBody(bv.body)];
  if (a.method !== b.method || (x === undefined ? y !== undefined : y === undefined || Buffer.compare(Buffer.from(x), Buffer.from(y)) !== 0)) {
    throw new Error(`${a.path} and ${b.path} serve each other's paths: give them the same valid request body`);
  }
}

/** The request whose body a shape describes: the valid request, or (opaque) the other request of its method. */
function bodyRequest(route: Route, valid: ValidRequest, shape: BodyShape): { method: string; path: string; body: unknown; expect: Expect; stream?: boolean } {
  if (shape.kind === 'opaque' && shape.method !== route.method) {
    const o = valid.others?.find((x) => x.method === shape.method);
    if (!o) throw new Error(`${route.path}: describe its valid ${shape.method} request in the valid request's others`);
    return { method: shape.method, path: route.path + (o.resource ?? valid.resource), body: o.body, expect: o.expect, stream: o.stream };
  }
  return { method: route.method, path: route.path + valid.resource, body: valid.body, expect: valid.expect, stream: valid.stream };
}

/**
 * The body rows over the limit: sent whole (declared, and streamed), or for a huge limit declared
 * only. Binary bodies (bytes) go through the raw client.
 */
function overLimitRows(route: Route, shape: BodyShape, method: string, path: string, expect: Expect, stream?: boolean): Row[] {
  if (route.maxBody > SENDABLE) return [{ what: 'a body over the limit, declared (not sent)', method, path, declared: route.maxBody + 1, stream, expect }];
  const body = shape.kind === undefined ? ' '.repeat(route.maxBody + 1) : Buffer.alloc(route.maxBody + 1, ' ');
  return [
    { what: 'a body over the limit, declared', method, path, body, stream, expect },
    { what: 'a body over the limit, streamed', method, path, body, streamed: true, stream, expect },
  ];
}

/** The body rows of a route with a body limit. */
export function bodyRows(route: Route, valid: ValidRequest, shape: BodyShape): Row[] {
  const req = bodyRequest(route, valid, shape);
  const row = (what: string, body: string | Buffer, expect: Expect, extra: Partial<Row> = {}): Row => ({ what, method: req.method, path: req.path, body, stream: req.stream, expect, ...extra });
  const rows = [...shapeRows(shape, req.body, req.expect, row), ...overLimitRows(route, shape, req.method, req.path, TOO_LARGE, req.stream)];
  return rows;
}

type MakeRow = (what: string, body: string | Buffer, expect: Expect, extra?: Partial<Row>) => Row;

function shapeRows(shape: BodyShape, body: unknown, valid: Expect, row: MakeRow): Row[] {
  switch (shape.kind) {
    case undefined:
      return jsonRows(shape, body, valid, row);
    case 'frames':
      return frameRows(shape, body as Buffer, valid, row);
    case 'message':
      return [row('an empty body (the default message)', Buffer.alloc(0), valid), ...messageRows(shape.codec, body as Buffer, valid, { status: 400, message: shape.message }, row)];
    case 'opaque':
      return opaqueRows(body as Buffer, shape.invalid, row);
  }
}

function jsonRows(shape: JsonBodyShape, body: unknown, validExpect: Expect, row: MakeRow): Row[] {
  const bad: Expect = { status: 400, message: shape.message };
  const item = (shape.array ? (body as unknown[])[0] : body) as Record<string, unknown>;
  const wrap = (json: string) => (shape.array ? `[${json}]` : json);
  const validJson = JSON.stringify(body);

  const rows: Row[] = [
    row('malformed JSON', wrap(`{"${Object.keys(item)[0]}":`), bad),
    row('truncated JSON', validJson.slice(0, -1), bad),
    row('not JSON', 'hello', bad),
    row('a lone surrogate in a string', wrap(withRaw(item, Object.keys(item)[0]!, '"\ud800"')), bad),
    row('an empty body', '', shape.optional ? validExpect : bad),
    row('a deeply nested value', wrap(withRaw(item, Object.keys(item)[0]!, '['.repeat(50_000) + ']'.repeat(50_000))), bad),
    row('a huge unknown field', wrap(JSON.stringify({ junk: 'x'.repeat(900_000), ...item })), validExpect),
    row('unknown fields of every type', wrap(JSON.stringify({ a: 1, b: [null, {}], c: { d: true }, ...item })), validExpect),
    // Go's json.Decoder reads the first value and leaves the rest unread, as KES does.
    row('a valid body followed by other data', `${wrap(JSON.stringify(item))} trailing {"x":`, validExpect),
  ];
  const wrongKinds = shape.array ? ['{}', '"x"', '42', 'null', 'true', '[1]', '[[]]'] : ['[]', '"x"', '42', 'null', 'true', `[${JSON.stringify(item)}]`];
  for (const json of wrongKinds) rows.push(row(`the JSON value ${json.slice(0, 20)}`, json, bad));

  for (const [field, type] of Object.entries(shape.fields)) {
    // A value of the wrong type, or (numbers: a version) out of range.
    const invalid = type === 'number' ? '"x"' : '5';
    const wrongTypes =
      type === 'number'
        ? ['"5"', 'true', '{}', '[]', '1e999', '1.5', '0', '-1', 'null']
        : ['5', 'true', '{}', '[]', '1e999', ...(type === 'bytes' ? ['"!!!!"', '"AAA"', '"AA=A"', '"AA AA"', '"AAAA===="', '"AA\\u0000A"'] : [])];
    for (const raw of wrongTypes) rows.push(row(`${field} = ${raw}`, wrap(withRaw(item, field, raw)), bad));
    if (type === 'bytes') rows.push(row(`a huge ${field} that is not base64`, wrap(withRaw(item, field, `"${'!'.repeat(900_000)}"`)), bad));
    // Go assigns every matching key in order: the last one wins, whatever its case.
    const rest = JSON.stringify(item).slice(1);
    rows.push(row(`a duplicate ${field}, the last valid`, wrap(`{"${field}":${invalid},${rest}`), validExpect));
    rows.push(row(`a duplicate ${field} in upper case, the last valid`, wrap(`{"${field.toUpperCase()}":${invalid},${rest}`), validExpect));
    rows.push(row(`a duplicate ${field}, the last invalid`, wrap(`${JSON.stringify(item).slice(0, -1)},"${field}":${invalid}}`), bad));
  }
  return rows;
}

/** A protobuf varint. */
function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** A protobuf field key (field number, wire type: 0 varint, 2 length-delimited). */
const key = (num: number, wire: number) => varint(num * 8 + wire);
/** A length-delimited protobuf field. */
const lenField = (num: number, bytes: Buffer) => Buffer.concat([key(num, 2), varint(bytes.length), bytes]);

const VARINT_KINDS = new Set(['uint32', 'uint64', 'sint32', 'sint64', 'bool']);

/**
 * The rows of bytes that are not the message, each with `bad`, and of bytes that are (unknown
 * fields, empty bytes), with the valid answer. Field-wise rows follow the codec's schema.
 */
function messageRows(codec: AnyMessageCodec, payload: Buffer, valid: Expect, bad: Expect, row: MakeRow, label = ''): Row[] {
  const after = (b: Buffer) => Buffer.concat([payload, b]);
  const rows: Row[] = [
    row(`${label}bytes that are not protobuf`, Buffer.from('ffffff', 'hex'), bad),
    row(`${label}an over-long varint`, Buffer.from('ffffffffffffffffffff01', 'hex'), bad),
    row(`${label}a field cut short`, after(Buffer.from('0a0561', 'hex')), bad),
    row(`${label}a field of length 2^32`, after(Buffer.concat([key(1, 2), varint(2 ** 32), Buffer.from('61', 'hex')])), bad),
    row(`${label}field number 0`, after(Buffer.from('0000', 'hex')), bad),
    row(`${label}wire type 6`, after(Buffer.from('0e00', 'hex')), bad),
    row(`${label}a JSON object`, Buffer.from('{"name":"k1"}'), bad),
    row(`${label}unknown fields`, after(Buffer.concat([key(1000, 0), varint(7), lenField(1001, Buffer.from('abc')), key(1002, 5), Buffer.alloc(4), key(1003, 1), Buffer.alloc(8)])), valid),
  ];
  for (const [num, name, kind] of codec.fields as readonly (readonly [number, string, FieldKind])[]) {
    if (typeof kind === 'string' && VARINT_KINDS.has(kind)) {
      rows.push(row(`${label}${name} length-delimited`, after(lenField(num, Buffer.from('01', 'hex'))), bad));
      if (kind === 'uint32' || kind === 'sint32') rows.push(row(`${label}${name} beyond 32 bits`, after(Buffer.concat([key(num, 0), varint(2n ** 33n - 1n)])), bad));
    } else if (kind !== 'repeated uint32') {
      rows.push(row(`${label}${name} as a varint`, after(Buffer.concat([key(num, 0), varint(1)])), bad));
    }
    if (kind === 'string') rows.push(row(`${label}${name} not UTF-8`, after(lenField(num, Buffer.from('61ff', 'hex'))), bad));
  }
  return rows;
}

/** One MinKMS command frame: command number (2 bytes), payload length (4 bytes), payload (docs/minkms.md). */
export function kmsFrame(command: number, payload: Buffer = Buffer.alloc(0), length = payload.length): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16BE(command);
  head.writeUInt32BE(length, 2);
  return Buffer.concat([head, payload]);
}

/** The frames of a body: [command, payload] each. */
function splitFrames(body: Buffer): [number, Buffer][] {
  const frames: [number, Buffer][] = [];
  for (let pos = 0; pos < body.length; ) {
    const length = body.readUInt32BE(pos + 2);
    frames.push([body.readUInt16BE(pos), body.subarray(pos + 6, pos + 6 + length)]);
    pos += 6 + length;
  }
  return frames;
}

const badRequest = (message: string): Expect => ({ status: 400, message: `invalid request: ${message}` });
const FRAMES_MALFORMED = badRequest('malformed command frames');

/** Command numbers no MinKMS command has (docs/minkms.md). */
const UNKNOWN_COMMANDS = [0, 7, 100, 105, 200, 211, 300, 307, 400, 405, 1000, 65535];

/** The bad bodies of MinKMS command frames, made from the valid body (one frame of a read command). */
function frameRows(shape: FramesBodyShape, body: Buffer, valid: Expect, row: MakeRow): Row[] {
  const frames = splitFrames(body);
  const [command, payload] = frames[0]!;
  const cmd = commandByNumber(command);
  const codec = commandMessages(command)?.request;
  if (frames.length !== 1 || !cmd?.name || cmd.write || !codec) throw new Error('the valid body of a frames shape is one frame of a read command');
  const times = (n: number) => Buffer.concat(Array.from({ length: n }, () => body));
  const answered = (n: number): Expect => (valid.frames ? { ...valid, frames: Array.from({ length: n }, () => command) } : valid);
  const malformed = badRequest(`malformed ${cmd.name} request`);
  // A write command that is never run: refused while the request is decoded.
  const write = kmsFrame(202, lenField(1, Buffer.from('no-such-key')));

  const rows: Row[] = [
    row('an empty body', Buffer.alloc(0), badRequest('no command')),
    row('a truncated frame header', body.subarray(0, 3), FRAMES_MALFORMED),
    row('a frame header without its payload', body.subarray(0, 6), payload.length > 0 ? FRAMES_MALFORMED : valid),
    row('a truncated payload', body.subarray(0, -1), FRAMES_MALFORMED),
    row('a payload length of 2^32 - 1', kmsFrame(command, payload, 0xffff_ffff), FRAMES_MALFORMED),
    row('a partial frame after the valid one', Buffer.concat([body, body.subarray(0, 4)]), FRAMES_MALFORMED),
    row('a JSON body', Buffer.from('{"name":"k1"}'), FRAMES_MALFORMED),
    row('the frame twice (a batch)', times(2), answered(2)),
    row(`${shape.maxFrames} frames`, times(shape.maxFrames), answered(shape.maxFrames)),
    row(`${shape.maxFrames + 1} frames`, times(shape.maxFrames + 1), badRequest(`more than ${shape.maxFrames} commands`)),
    row('a read and a write command', Buffer.concat([body, write]), badRequest('read and write commands cannot be sent together')),
    row('two write commands', Buffer.concat([write, write]), badRequest('KEY:DELETE cannot be sent in a batch')),
    row('an unknown command after the valid one', Buffer.concat([body, kmsFrame(999, payload)]), badRequest('unknown command 999')),
    row('KEY:LISTVERSIONS (no messages)', kmsFrame(209), { status: 501, message: 'not supported: KEY:LISTVERSIONS is not defined by the protocol' }),
    row('CLUSTER:STATUS', kmsFrame(3), { status: 501, message: 'not supported: openkes servers share the key store and form no cluster' }),
    row('CLUSTER:ADDHSM', kmsFrame(5), { status: 501, message: 'not supported: openkes keeps no sealed state and uses no HSM' }),
  ];
  for (const n of UNKNOWN_COMMANDS) rows.push(row(`unknown command ${n}`, kmsFrame(n, payload), badRequest(`unknown command ${n}`)));
  // The payload: the command's request message.
  const inFrame: MakeRow = (what, p, expect, extra) => row(what, kmsFrame(command, p as Buffer), expect, extra);
  rows.push(...messageRows(codec, payload, valid, malformed, inFrame, `a ${cmd.name} payload: `));
  const second: MakeRow = (what, p, expect, extra) => row(what, Buffer.concat([body, kmsFrame(command, p as Buffer)]), expect.status === 200 ? answered(2) : expect, extra);
  rows.push(second(`a batch whose second ${cmd.name} payload is not protobuf`, Buffer.from('ffffff', 'hex'), malformed));
  return rows;
}

/** Bytes that are not a valid body of a handler that checks them itself (a backup). */
function opaqueRows(body: Buffer, invalid: Expect, row: MakeRow): Row[] {
  const changed = Buffer.from(body);
  changed[changed.length >> 1]! ^= 0x01;
  return [
    row('an empty body', Buffer.alloc(0), invalid),
    row('junk', Buffer.from('hello'), invalid),
    row('a JSON value', Buffer.from('{"entries":1}'), invalid),
    row('a truncated body', body.subarray(0, -1), invalid),
    row('half the body', body.subarray(0, body.length >> 1), invalid),
    row('a changed byte', changed, invalid),
    row('the body followed by other data', Buffer.concat([body, Buffer.from('x')]), invalid),
  ];
}

/** A body the shape's route refuses as malformed, and the answer. */
function malformedBody(shape: BodyShape): [string | Buffer, Expect] {
  switch (shape.kind) {
    case undefined:
      return ['{"x":', { status: 400, message: shape.message }];
    case 'frames':
      return [Buffer.from('00cc00', 'hex'), FRAMES_MALFORMED];
    case 'message':
      return [Buffer.from('ffffff', 'hex'), { status: 400, message: shape.message }];
    case 'opaque':
      return [Buffer.from('hello'), shape.invalid];
  }
}

/**
 * Whether an identity whose policy allows only `allowed` paths gets a request through, and how it
 * is refused otherwise. KES routes (`verify`) refuse before anything else is read; routes that
 * authorize in their handler refuse with MinKMS's error, SysAdmin-only ones before reading the
 * body, MinKMS commands once their frames are decoded (the body says what is done).
 */
function access(route: Route, needs: Needs | undefined, path: string, allowed: ReadonlySet<string>): { pass: boolean; denied: Expect; beforeBody: boolean } {
  if (route.auth === 'verify') return { pass: allowed.has(path), denied: NOT_ALLOWED, beforeBody: true };
  if (route.auth === 'none' || needs === undefined) return { pass: true, denied: OK, beforeBody: false };
  if (needs === 'sysadmin') return { pass: false, denied: KMS_DENIED, beforeBody: true };
  return { pass: needs.every((p) => allowed.has(p)), denied: KMS_DENIED, beforeBody: false };
}

/**
 * The rows of a client whose policy allows only `allowed` paths: authorization comes after the
 * method check and before the body limit and the handler (as KES, whose body limit only bounds
 * what its handler reads: protocol.md §1.3); routes that authorize in their handler do so after
 * the body limit.
 */
export function limitedRows(route: Route, valid: ValidRequest, allowed: ReadonlySet<string>, shape?: BodyShape): Row[] {
  const path = route.path + valid.resource;
  const body = encodeBody(valid.body);
  const a = access(route, valid.needs, path, allowed);
  const rows: Row[] = [{ what: 'the valid request', method: route.method, path, body, stream: valid.stream && a.pass, expect: a.pass ? valid.expect : a.denied }];
  for (const o of valid.others ?? []) {
    const oa = access(route, o.needs ?? valid.needs, route.path + (o.resource ?? valid.resource), allowed);
    rows.push(otherRow(route, valid, o, oa.pass ? o.expect : oa.denied, o.stream && oa.pass));
  }
  const accepted = acceptedMethods(route);
  const wrong = ['GET', 'DELETE', 'PATCH'].find((m) => !accepted.has(m))!;
  rows.push({ what: `method ${wrong}`, method: wrong, path, expect: methodNotAllowed(route, wrong) });
  const kind = resourceKind(route);
  if (kind !== undefined && kind !== 'pattern') {
    const expect = route.auth === 'verify' ? NOT_ALLOWED : kind === 'any' ? valid.expect : invalidResource(kind, 'a.b');
    rows.push({ what: 'an invalid name', method: route.method, path: `${route.path}a.b`, body, expect });
  }
  if (shape) {
    const req = bodyRequest(route, valid, shape);
    const ba = access(route, req.method === route.method ? valid.needs : (valid.others?.find((o) => o.method === req.method)?.needs ?? valid.needs), req.path, allowed);
    // The pipeline checks a declared length before the handler: only a KES route refuses first.
    const tooLarge = route.auth === 'verify' && !ba.pass ? ba.denied : TOO_LARGE;
    rows.push(...overLimitRows(route, shape, req.method, req.path, tooLarge).slice(0, 1));
    const [bad, badExpect] = malformedBody(shape);
    rows.push({ what: 'a malformed body', method: req.method, path: req.path, body: bad, expect: ba.pass || !ba.beforeBody ? badExpect : ba.denied });
  }
  return rows;
}

export type Transport = 'HTTP/1.1' | 'HTTP/2';

/** A response with its bytes (binary answers: MinKMS command frames, backups). */
export interface RawResponse extends TestResponse {
  bytes: Buffer;
}

/**
 * A client that sends a row exactly: binary bodies, a declared length without the body, POST
 * requests answered with a stream. HTTP/1.1 with keep-alive, or one HTTP/2 session.
 */
export interface RawClient {
  request(row: Row): Promise<RawResponse>;
  close(): void;
}

function rawResponse(status: number, headers: TestResponse['headers'], bytes: Buffer): RawResponse {
  const body = bytes.toString('utf8');
  return { status, headers, body, bytes, json: () => JSON.parse(body) };
}

async function readAll(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** @param identity the client certificate; none: the client presents none */
export function rawClient(transport: Transport, port: number, caPem: string, identity?: ClientIdentity): RawClient {
  const headersOf = (row: Row, body: Buffer | undefined): Record<string, string> => {
    const headers: Record<string, string> = { ...row.headers };
    if (row.declared !== undefined) headers['content-length'] = String(row.declared);
    else if (body !== undefined && row.streamed && transport === 'HTTP/1.1') headers['transfer-encoding'] = 'chunked';
    else if (body !== undefined && !row.streamed) headers['content-length'] = String(body.length);
    return headers;
  };
  const bodyOf = (row: Row) => (row.body === undefined || row.declared !== undefined ? undefined : Buffer.from(row.body));

  if (transport === 'HTTP/1.1') {
    const agent = new https.Agent({ keepAlive: true, ca: caPem, cert: identity?.certPem, key: identity?.keyPem, servername: 'localhost' });
    return {
      request: (row) =>
        new Promise((resolve, reject) => {
          const body = bodyOf(row);
          const req = https.request({ host: '127.0.0.1', port, method: row.method, path: row.path, agent, headers: headersOf(row, body) }, (res) => {
            const status = res.statusCode ?? 0;
            if (row.stream && status === 200) {
              res.destroy();
              return resolve(rawResponse(status, res.headers, Buffer.alloc(0)));
            }
            readAll(res).then((bytes) => resolve(rawResponse(status, res.headers, bytes)), reject);
          });
          req.on('error', reject);
          req.end(body);
        }),
      close: () => agent.destroy(),
    };
  }

  let session: http2.ClientHttp2Session | undefined;
  const connect = () => {
    if (!session || session.closed || session.destroyed) {
      // Node's client counts the unsent rest of a body the server refused (413 before reading it)
      // against the session's memory, and past maxSessionMemory (10 MB) refuses every new stream
      // itself (ENHANCE_YOUR_CALM): the over-limit rows of 4 MB routes would reach that.
      session = http2.connect(`https://127.0.0.1:${port}`, { ca: caPem, cert: identity?.certPem, key: identity?.keyPem, servername: 'localhost', maxSessionMemory: 1000 });
      session.on('error', () => undefined);
    }
    return session;
  };
  return {
    request: (row) =>
      new Promise((resolve, reject) => {
        const body = bodyOf(row);
        const stream = connect().request({ ':method': row.method, ':path': row.path, ...headersOf(row, body) }, { endStream: body === undefined && row.declared === undefined });
        stream.once('error', reject);
        stream.once('response', (h) => {
          const status = Number(h[':status']);
          if (row.stream && status === 200) {
            stream.close();
            return resolve(rawResponse(status, h, Buffer.alloc(0)));
          }
          readAll(stream).then((bytes) => {
            // A declared body was never sent: the stream is still open on this side.
            if (row.declared !== undefined) stream.close();
            resolve(rawResponse(status, h, bytes));
          }, reject);
        });
        if (body !== undefined) stream.end(body);
      }),
    close: () => session?.close(),
  };
}

/** Rows that only the raw client can send. */
const needsRaw = (row: Row) => Buffer.isBuffer(row.body) || row.declared !== undefined || (row.stream === true && row.method !== 'GET');

/**
 * Sends a row. HTTP/2 requests carry a content-length unless the row is streamed; HTTP/1.1
 * streams with chunked transfer encoding. Binary bodies, declared lengths and POST streams go
 * through the raw client.
 */
export async function send(c: TestClient, transport: Transport, row: Row, raw: RawClient): Promise<TestResponse> {
  if (needsRaw(row)) return raw.request(row);
  const body = row.body as string | undefined;
  const headers: Record<string, string> = { ...row.headers };
  if (body !== undefined && row.streamed && transport === 'HTTP/1.1') headers['transfer-encoding'] = 'chunked';
  if (body !== undefined && !row.streamed && transport === 'HTTP/2') headers['content-length'] = String(Buffer.byteLength(body));
  if (!row.stream) return c.request(row.method, row.path, body, headers);
  const s = await c.stream(row.path, headers);
  s.close();
  return { status: s.status, headers: s.headers, body: '', json: () => undefined };
}

const CATALOGUE = catalogue();

/**
 * Why an error answer is not one of the catalogue's (api/errors.ts), or '' when it is: a KES
 * JSON error with a catalogued (status, message), or one of the router's plain-text answers.
 */
export function uncatalogued(r: TestResponse, method = 'GET'): string {
  if (r.status < 400 || method === 'HEAD') return ''; // a HEAD answer has no body
  if (Object.values(ROUTER_ANSWERS).some((a) => a.status === r.status && a.body === r.body)) return '';
  let message: unknown;
  try {
    message = r.json().message;
  } catch {
    return `an error answer that is not KES JSON: ${JSON.stringify(r.body.slice(0, 100))}`;
  }
  if (typeof message !== 'string' || !CATALOGUE.some((c) => c.status === r.status && c.pattern.test(message as string))) {
    return `(${r.status}, ${JSON.stringify(message)}) is not in the error catalogue`;
  }
  return '';
}

/** A short description of a list of command numbers. */
function commandList(commands: readonly number[]): string {
  return commands.length > 4 ? `${commands.length} × [${[...new Set(commands)].join(', ')}]` : `[${commands.join(', ')}]`;
}

/** The differences between a command answer and the expected frames ('' when it matches). */
function framesMismatch(r: TestResponse, frames: readonly number[]): string {
  const bytes = (r as Partial<RawResponse>).bytes;
  if (!bytes) return 'the answer was not read as bytes';
  const problems: string[] = [];
  if (r.headers['content-type'] !== 'application/octet-stream') problems.push(`content type ${String(r.headers['content-type'])}, expected application/octet-stream`);
  if (r.headers['content-length'] !== String(bytes.length)) problems.push(`content-length ${String(r.headers['content-length'])}, expected ${bytes.length}`);
  let got: number[];
  try {
    got = splitFrames(bytes).map(([command]) => command);
    if (Buffer.concat(splitFrames(bytes).map(([c, p]) => kmsFrame(c, p))).length !== bytes.length) throw new Error('cut');
  } catch {
    return [...problems, `the answer is not command frames: ${bytes.subarray(0, 20).toString('hex')}`].join('; ');
  }
  if (got.join() !== frames.join()) problems.push(`answer frames ${commandList(got)}, expected ${commandList(frames)}`);
  return problems.join('; ');
}

/** The differences between a response and a row's expectation ('' when it matches). */
export function mismatch(r: TestResponse, e: Expect, method: string): string {
  const problems: string[] = [];
  const outside = uncatalogued(r, method);
  if (outside) problems.push(outside);
  if (r.status !== e.status) problems.push(`status ${r.status}, expected ${e.status}`);
  if (e.message !== undefined) {
    let message: unknown;
    try {
      message = r.json().message;
    } catch {
      message = undefined;
    }
    if (message !== e.message) problems.push(`message ${JSON.stringify(message ?? r.body).slice(0, 200)}, expected ${JSON.stringify(e.message).slice(0, 200)}`);
    else if (!r.body.endsWith('"\n}') || !String(r.headers['content-type']).startsWith('application/json')) problems.push(`not KES's error format: ${JSON.stringify(r.body.slice(-40))}`);
  }
  if (e.body !== undefined && method !== 'HEAD' && r.body !== e.body) problems.push(`body ${JSON.stringify(r.body.slice(0, 100))}, expected ${JSON.stringify(e.body)}`);
  if (e.location !== undefined && r.headers.location !== e.location) problems.push(`location ${String(r.headers.location)}, expected ${e.location}`);
  if (e.accept !== undefined && r.headers.accept !== e.accept) problems.push(`accept header ${String(r.headers.accept)}, expected ${e.accept}`);
  if (e.frames !== undefined && r.status === e.status) {
    const frames = framesMismatch(r, e.frames);
    if (frames) problems.push(frames);
  }
  return problems.join('; ');
}
