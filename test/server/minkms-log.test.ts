/**
 * `POST /v1/debug/log` (docs/minkms.md "Logs"): the error and audit events of the KES log streams
 * as MinKMS's SDK reads them — length-prefixed LogRecords — for SysAdmins, with the request's
 * level and message filters, from either SDK version's LogRequest.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import * as M from '../../src/kms/messages.js';
import { LOG_INFO } from '../../src/config/types.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { TestCert } from '../helpers/certs.js';

describe('MinKMS log stream', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer((config) => {
      config.log.audit = LOG_INFO;
    });
  });
  after(() => t.close());

  /** Opens the stream with a LogRequest body; resolves once the answer's headers are in. */
  const open = (body: Buffer, cert: TestCert = t.admin) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: t.port, method: 'POST', path: '/v1/debug/log', ca: t.pki.ca.certPem, cert: cert.certPem, key: cert.keyPem, servername: 'localhost', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });

  /** Reads records until one matches, decoding each: 4-byte big-endian length, then a LogRecord. */
  async function recordMatching(res: IncomingMessage, match: (r: M.LogRecord) => boolean, seen: M.LogRecord[] = []): Promise<M.LogRecord> {
    let buf = Buffer.alloc(0);
    for await (const chunk of res as AsyncIterable<Buffer>) {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0);
        assert.ok(n <= 4096, 'a record fits the SDK\'s 4096 bytes');
        const record = M.LogRecord.decode(buf.subarray(4, 4 + n));
        buf = buf.subarray(4 + n);
        seen.push(record);
        if (match(record)) return record;
      }
    }
    return assert.fail(`stream ended; records: ${JSON.stringify(seen.map((r) => r.message))}`);
  }

  test('audit events arrive as length-prefixed LogRecords at INFO, filtered by message', async () => {
    const res = await open(M.LogRequest.encode({ level: 0, message: 'log-stream-key' }));
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    const kes = t.client();
    await kes.request('PUT', '/v1/key/create/other-key');
    await kes.request('PUT', '/v1/key/create/log-stream-key');
    const seen: M.LogRecord[] = [];
    const record = await recordMatching(res, (r) => r.message.includes("secret key 'log-stream-key' created"), seen);
    assert.equal(record.level, 0);
    assert.ok(record.time !== undefined);
    assert.match(record.message, /req\.path=\/v1\/key\/create\/log-stream-key .*res\.code=200/);
    assert.ok(seen.every((r) => r.message.includes('log-stream-key')), 'the message filter holds');
    res.destroy();
  });

  test('the level filter passes errors and warnings only; the older SDK\'s request is read too', async () => {
    // The pinned SDK: field 4 is a Method filter (a string), field 8 its trace level.
    const pinned = Buffer.concat([M.LogRequest.encode({ level: 4 }), Buffer.from('2203474554' + '4001', 'hex')]);
    const res = await open(pinned);
    assert.equal(res.statusCode, 200);
    await t.client().request('PUT', '/v1/key/create/info-only');
    // The create's audit record is INFO: below the filter's WARN, it must not come through.
    const seen: M.LogRecord[] = [];
    const reading = recordMatching(res, () => false, seen).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    res.destroy();
    await reading;
    assert.deepEqual(seen.filter((r) => r.level < 4), [], 'nothing below WARN');
  });

  test('a malformed LogRequest is a 400; anyone but a SysAdmin gets 403', async () => {
    const bad = await open(Buffer.from([0x0a, 0x05, 0x01]));
    assert.equal(bad.statusCode, 400);
    bad.resume();
    const stranger = t.pki.client({ commonName: 'stranger' });
    const denied = await open(M.LogRequest.encode({}), stranger);
    assert.equal(denied.statusCode, 403);
    denied.resume();
  });
});
