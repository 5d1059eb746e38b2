/**
 * The rows of the bad-input matrix (test/server/bad-input*.test.ts): for each route of the route
 * table, a valid request, and the requests of every class of bad input that applies to the
 * route, each with the exact answer KES gives (protocol.md §1.2–§1.4, §4, §5, §20).
 *
 * Classes are derived from the route's attributes (method, subtree or exact path, body limit,
 * authentication), so a new route is covered by them automatically; only its valid request (in
 * the matrix test) and, for a route with a body, its body fields (BODY_SHAPES) must be described,
 * which the matrix checks.
 */
import type { Route } from '../../src/server/routes.js';
import { catalogue, ROUTER_ANSWERS } from '../../src/api/errors.js';
import type { TestClient, TestResponse } from './https-client.js';

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
}

export interface Row {
  /** The class of bad input, for failure messages. */
  what: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  /** The body is sent without a length (HTTP/1.1: chunked). */
  streamed?: boolean;
  /** A log stream: the answer is checked once its headers arrive. */
  stream?: boolean;
  expect: Expect;
}

/** A valid request of a route, and its answer (chosen so the key store is never changed). */
export interface ValidRequest {
  resource: string;
  body?: unknown;
  expect: Expect;
  stream?: boolean;
}

/** The JSON body of a route that reads one. */
export interface BodyShape {
  /** Its fields and their Go types. */
  fields: Record<string, 'bytes' | 'string' | 'number'>;
  /** The 400 message for a body that does not decode. */
  message: string;
  /** The body is a JSON array of such objects (legacy bulk decrypt). */
  array?: boolean;
  /** The body is optional: an empty one is no body, answered as the valid request (generate). */
  optional?: boolean;
}

export const OK: Expect = { status: 200 };
export const NOT_ALLOWED: Expect = { status: 403, message: 'not authorized: insufficient permissions' };
export const TOO_LARGE: Expect = { status: 413, message: 'request body too large' };
export const NOT_FOUND: Expect = { status: 404, body: '404 page not found\n' };

const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

/** The JSON bodies of the routes with a body limit, keyed by route path. */
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
};

/** What the resource of a subtree route names; undefined for exact routes. */
export function resourceKind(route: Route): 'key' | 'policy' | 'identity' | 'pattern' | undefined {
  if (!route.path.endsWith('/')) return undefined;
  if (route.path.includes('/list/')) return 'pattern';
  if (route.path.startsWith('/v1/key/')) return 'key';
  if (route.path.startsWith('/v1/policy/')) return 'policy';
  if (route.path.startsWith('/v1/identity/')) return 'identity';
  throw new Error(`the subtree route ${route.path} takes an unknown kind of resource: classify it in resourceKind`);
}

/** KES's 400 for an invalid name or listing pattern (protocol.md §5.3). */
function invalidResource(kind: 'key' | 'policy' | 'identity' | 'pattern', r: string): Expect {
  if (kind === 'pattern') return { status: 400, message: `listing pattern '${r}' is empty, too long or is invalid` };
  if (kind === 'identity') return { status: 400, message: `identity '${r}' is empty, too long or contains invalid characters` };
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

/** The rows every client gets for a route: its valid request, and bad resources and methods. */
export function requestRows(route: Route, valid: ValidRequest): Row[] {
  const rows: Row[] = [];
  const body = valid.body === undefined ? undefined : JSON.stringify(valid.body);
  const base = { method: route.method, body, stream: valid.stream };
  const url = (resource: string) => route.path + resource;
  rows.push({ what: 'the valid request', ...base, path: url(valid.resource), expect: valid.expect });
  rows.push({ what: 'a junk query string', ...base, path: `${url(valid.resource)}?%zz=&&x=%00`, expect: valid.expect });
  rows.push({ what: 'a wrong content type', ...base, path: url(valid.resource), headers: { 'content-type': 'text/html; charset=latin1' }, expect: valid.expect });
  if (route.maxBody === 0 && !valid.stream) {
    rows.push({ what: 'a body the route does not read', ...base, path: url(valid.resource), body: '{"junk": [1, 2', expect: valid.expect });
  }

  for (const method of METHODS) {
    if (method === route.method || (method === 'POST' && route.method === 'PUT')) continue;
    const expect: Expect = { status: 405, accept: route.method, ...(method !== 'HEAD' && { message: `received method '${method}' expected '${route.method}'` }) };
    rows.push({ what: `method ${method}`, method, path: url(valid.resource), body, expect });
  }

  const kind = resourceKind(route);
  if (kind === undefined) {
    rows.push({ what: 'a trailing slash', ...base, path: `${route.path}/`, expect: NOT_FOUND, stream: false });
    rows.push({ what: 'a sub-path', ...base, path: `${route.path}/x`, expect: NOT_FOUND, stream: false });
    return rows;
  }
  for (const [what, raw, decoded, validPattern] of BAD_RESOURCES) {
    const expect = kind === 'pattern' && validPattern ? OK : invalidResource(kind, decoded);
    rows.push({ what: `a resource with ${what}`, ...base, path: url(raw), expect });
  }
  rows.push({ what: 'a percent-encoded valid resource', ...base, path: url(percentEncodeAll(valid.resource)), expect: valid.expect });
  rows.push({ what: 'a malformed percent-escape', ...base, path: url('a%zz'), expect: { status: 400, body: '400 Bad Request' } });
  rows.push({ what: 'the subtree root without its slash', ...base, path: route.path.slice(0, -1), expect: { status: 301, location: route.path } });
  const parent = parentOf(route.path);
  rows.push({ what: 'a .. resource', ...base, path: url('..'), expect: { status: 301, location: parent } });
  rows.push({ what: 'a percent-encoded .. resource', ...base, path: url('%2E%2E'), expect: { status: 301, location: parent } });
  rows.push({ what: 'a percent-encoded ../.. path', ...base, path: url('..%2F..%2Fetc%2Fpasswd'), expect: { status: 301, location: `${parentOf(parent + '/')}/etc/passwd`.replace('//', '/') } });
  return rows;
}

/** The body rows of a route with a body limit. */
export function bodyRows(route: Route, valid: ValidRequest, shape: BodyShape): Row[] {
  const bad: Expect = { status: 400, message: shape.message };
  const item = (shape.array ? (valid.body as unknown[])[0] : valid.body) as Record<string, unknown>;
  const wrap = (json: string) => (shape.array ? `[${json}]` : json);
  const validJson = JSON.stringify(valid.body);
  const row = (what: string, body: string, expect: Expect, extra: Partial<Row> = {}): Row => ({ what, method: route.method, path: route.path + valid.resource, body, expect, ...extra });

  const rows: Row[] = [
    row('malformed JSON', wrap(`{"${Object.keys(item)[0]}":`), bad),
    row('truncated JSON', validJson.slice(0, -1), bad),
    row('not JSON', 'hello', bad),
    row('a lone surrogate in a string', wrap(withRaw(item, Object.keys(item)[0]!, '"\ud800"')), bad),
    row('an empty body', '', shape.optional ? valid.expect : bad),
    row('a deeply nested value', wrap(withRaw(item, Object.keys(item)[0]!, '['.repeat(50_000) + ']'.repeat(50_000))), bad),
    row('a huge unknown field', wrap(JSON.stringify({ junk: 'x'.repeat(900_000), ...item })), valid.expect),
    row('unknown fields of every type', wrap(JSON.stringify({ a: 1, b: [null, {}], c: { d: true }, ...item })), valid.expect),
    // Go's json.Decoder reads the first value and leaves the rest unread, as KES does.
    row('a valid body followed by other data', `${wrap(JSON.stringify(item))} trailing {"x":`, valid.expect),
    row('a body over the limit, declared', ' '.repeat(route.maxBody + 1), TOO_LARGE),
    row('a body over the limit, streamed', ' '.repeat(route.maxBody + 1), TOO_LARGE, { streamed: true }),
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
    rows.push(row(`a duplicate ${field}, the last valid`, wrap(`{"${field}":${invalid},${rest}`), valid.expect));
    rows.push(row(`a duplicate ${field} in upper case, the last valid`, wrap(`{"${field.toUpperCase()}":${invalid},${rest}`), valid.expect));
    rows.push(row(`a duplicate ${field}, the last invalid`, wrap(`${JSON.stringify(item).slice(0, -1)},"${field}":${invalid}}`), bad));
  }
  return rows;
}

/**
 * The rows of a client whose policy allows only `allowed` paths: authorization comes after the
 * method check and before the body limit and the handler (as KES, whose body limit only bounds
 * what its handler reads: protocol.md §1.3).
 */
export function limitedRows(route: Route, valid: ValidRequest, allowed: ReadonlySet<string>, shape?: BodyShape): Row[] {
  const path = route.path + valid.resource;
  const body = valid.body === undefined ? undefined : JSON.stringify(valid.body);
  const mayPass = route.auth !== 'verify' || allowed.has(path);
  const rows: Row[] = [{ what: 'the valid request', method: route.method, path, body, stream: valid.stream && mayPass, expect: mayPass ? valid.expect : NOT_ALLOWED }];
  const wrong = route.method === 'GET' ? 'DELETE' : 'GET';
  rows.push({ what: `method ${wrong}`, method: wrong, path, expect: { status: 405, accept: route.method, message: `received method '${wrong}' expected '${route.method}'` } });
  const kind = resourceKind(route);
  if (kind !== undefined && kind !== 'pattern') {
    rows.push({ what: 'an invalid name', method: route.method, path: `${route.path}a.b`, body, expect: route.auth === 'verify' ? NOT_ALLOWED : invalidResource(kind, 'a.b') });
  }
  if (shape) {
    rows.push({ what: 'a body over the limit, declared', method: route.method, path, body: ' '.repeat(route.maxBody + 1), expect: mayPass ? TOO_LARGE : NOT_ALLOWED });
    rows.push({ what: 'malformed JSON', method: route.method, path, body: '{"x":', expect: mayPass ? { status: 400, message: shape.message } : NOT_ALLOWED });
  }
  return rows;
}

export type Transport = 'HTTP/1.1' | 'HTTP/2';

/**
 * Sends a row. HTTP/2 requests carry a content-length unless the row is streamed; HTTP/1.1
 * streams with chunked transfer encoding.
 */
export async function send(c: TestClient, transport: Transport, row: Row): Promise<TestResponse> {
  const headers: Record<string, string> = { ...row.headers };
  if (row.body !== undefined && row.streamed && transport === 'HTTP/1.1') headers['transfer-encoding'] = 'chunked';
  if (row.body !== undefined && !row.streamed && transport === 'HTTP/2') headers['content-length'] = String(Buffer.byteLength(row.body));
  if (!row.stream) return c.request(row.method, row.path, row.body, headers);
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
  return problems.join('; ');
}
