import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { KeyStoreUnreachableError } from '../keystore.js';
import { describeError, isUnreachable, sqlState, storeError } from './errors.js';
import { freePort } from '../../../test/helpers/postgres.js';

/** An error as the server sends it (pg's own class, as the driver builds it). */
function serverError(code: string, message: string): Error {
  const err = new pg.DatabaseError(message, message.length, 'error');
  err.code = code;
  err.severity = 'FATAL';
  err.detail = 'Key (name)=(secret-value) already exists.';
  return err;
}

describe('postgres error classification', () => {
  test('a refused connection (a real one) is unreachable', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: await freePort(), user: 'u', password: 'not-logged', database: 'd' });
    const err = await client.connect().then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.equal(isUnreachable(err), true);
    const wrapped = storeError("failed to get 'k'", err);
    assert.ok(wrapped instanceof KeyStoreUnreachableError);
    assert.match(wrapped.message, /^postgres: failed to get 'k': connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    assert.ok(!wrapped.message.includes('not-logged'));
  });

  test('server shutdown, start-up, connection and time-out states are unreachable', () => {
    for (const code of ['57P01', '57P02', '57P03', '57014', '55P03', '53300', '08006', '08001']) {
      assert.equal(isUnreachable(serverError(code, 'x')), true, code);
    }
  });

  test('login, permission and SQL errors are failures, not unreachable', () => {
    for (const code of ['28P01', '28000', '3D000', '42501', '42P01', '23505', '25006', '22021']) {
      const err = storeError("failed to create 'k'", serverError(code, 'boom'));
      assert.ok(!(err instanceof KeyStoreUnreachableError), code);
      assert.equal(err.message, `postgres: failed to create 'k': boom (SQLSTATE ${code})`);
    }
  });

  test("the driver's lost-connection and time-out errors are unreachable", () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated',
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
      'Query read timeout',
      'Client has encountered a connection error and is not queryable',
    ]) {
      assert.equal(isUnreachable(new Error(message)), true, message);
    }
    for (const message of ['The server does not support SSL connections', 'self-signed certificate', 'Client was closed and is not queryable']) {
      assert.equal(isUnreachable(new Error(message)), false, message);
    }
  });

  test('details of server errors (they may quote values) are not part of the message', () => {
    const err = serverError('23505', 'duplicate key value violates unique constraint "kes_keys_pkey"');
    assert.equal(sqlState(err), '23505');
    assert.ok(!describeError(err).includes('secret-value'));
    assert.equal(sqlState(Object.assign(new Error('x'), { code: 'ECONNRESET' })), undefined);
  });
});
