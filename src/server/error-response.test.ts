import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { KesError } from '../api/errors.js';
import { ErrorLog } from '../log/error-log.js';
import { EventHub } from '../log/event-hub.js';
import { describeFailure, errorResponse } from './error-response.js';

function capture(): { log: ErrorLog; lines: () => string[] } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { log: new ErrorLog(0, out, new EventHub()), lines: () => text.split('\n').filter((l) => l !== '') };
}

test('describeFailure joins the messages of an error chain', () => {
  const err = new Error('vault: cannot read key x1', { cause: new Error('connect timed out') });
  assert.equal(describeFailure(err), 'vault: cannot read key x1: connect timed out');
  assert.equal(describeFailure('plain'), 'plain');
});

test('describeFailure does not repeat a cause its wrapper already quotes', () => {
  const cause = new Error('404 no handler for route "nope/data/x1"');
  const wrapped = new Error(`vault: GET /v1/nope/data/x1: ${cause.message}`, { cause });
  const outer = new Error(`key store failed: ${wrapped.message}`, { cause: wrapped });
  assert.equal(describeFailure(outer), 'key store failed: vault: GET /v1/nope/data/x1: 404 no handler for route "nope/data/x1"');
});

test('describeFailure counts a system error as quoted when its code or description is', () => {
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x.crt'"), { code: 'ENOENT' });
  assert.equal(describeFailure(new Error("cannot read 'x.crt': ENOENT", { cause: enoent })), "cannot read 'x.crt': ENOENT");
  assert.equal(describeFailure(new Error("cannot read 'x.crt': no such file or directory", { cause: enoent })), "cannot read 'x.crt': no such file or directory");
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2379'), { code: 'ECONNREFUSED' });
  assert.equal(describeFailure(new Error('etcd: unreachable', { cause: refused })), 'etcd: unreachable: connect ECONNREFUSED 127.0.0.1:2379');
});

test('a server-side failure without a cause is answered without an error log line', () => {
  const { log, lines } = capture();
  const res = errorResponse(new KesError('KES_ERR_STORE_UNREACHABLE'), log, []);
  assert.equal(res.status, 504);
  assert.deepEqual(lines(), []);
});

test('a server-side failure with a cause logs the cause once; the answer does not show it', () => {
  const { log, lines } = capture();
  const res = errorResponse(new KesError('KES_ERR_STORE_UNREACHABLE', undefined, { cause: new Error('dial tcp 10.0.0.9:2379: i/o timeout') }), log, []);
  assert.equal(res.status, 504);
  assert.doesNotMatch(res.body, /10\.0\.0\.9/);
  assert.equal(lines().length, 1);
  assert.match(lines()[0]!, /key store is not reachable: dial tcp 10\.0\.0\.9:2379: i\/o timeout/);
});

test('an unexpected error is a 500 whose details stay in the log', () => {
  const { log, lines } = capture();
  const res = errorResponse(new TypeError('x is undefined'), log, []);
  assert.equal(res.status, 500);
  assert.doesNotMatch(res.body, /undefined/);
  assert.match(lines()[0]!, /internal error: x is undefined/);
});
