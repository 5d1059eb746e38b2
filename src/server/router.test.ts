import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router, cleanPath } from './router.js';

const router = new Router([{ path: '/v1/key/' }, { path: '/v1/key/hmac/' }, { path: '/v1/status' }, { path: '/v1/log/' }]);

test('the longest subtree wins and the rest of the path is the resource', () => {
  assert.deepEqual(router.match('/v1/key/hmac/my-key'), { kind: 'route', route: { path: '/v1/key/hmac/' }, resource: 'my-key' });
  assert.deepEqual(router.match('/v1/key/hmac/a/b'), { kind: 'route', route: { path: '/v1/key/hmac/' }, resource: 'a/b' });
  assert.deepEqual(router.match('/v1/key/other/x'), { kind: 'route', route: { path: '/v1/key/' }, resource: 'other/x' });
  assert.deepEqual(router.match('/v1/key/'), { kind: 'route', route: { path: '/v1/key/' }, resource: '' });
});

test('exact routes match only themselves', () => {
  assert.deepEqual(router.match('/v1/status'), { kind: 'route', route: { path: '/v1/status' }, resource: '' });
  assert.deepEqual(router.match('/v1/status/x'), { kind: 'not-found' });
  assert.deepEqual(router.match('/'), { kind: 'not-found' });
  assert.deepEqual(router.match('/v2/key/hmac/x'), { kind: 'not-found' });
});

test('subtree roots without the slash and unclean paths redirect, keeping the query', () => {
  assert.deepEqual(router.match('/v1/log', 'a=1'), { kind: 'redirect', location: '/v1/log/?a=1' });
  assert.deepEqual(router.match('/v1//key/./hmac/../x', ''), { kind: 'redirect', location: '/v1/key/x' });
  assert.deepEqual(router.match('/v1/key/a/', 'q'), { kind: 'route', route: { path: '/v1/key/' }, resource: 'a/' });
});

test('cleanPath follows Go path.Clean and keeps a trailing slash', () => {
  assert.equal(cleanPath(''), '/');
  assert.equal(cleanPath('/a/../../b/'), '/b/');
  assert.equal(cleanPath('a//b/.'), '/a/b');
});

test('remembered matches answer like fresh ones, and redirects are never remembered', () => {
  const r = new Router([{ path: '/v1/key/' }, { path: '/v1/log/' }]);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(r.match('/v1/key/a'), { kind: 'route', route: { path: '/v1/key/' }, resource: 'a' });
    assert.deepEqual(r.match('/v1/log', `q=${i}`), { kind: 'redirect', location: `/v1/log/?q=${i}` });
  }
  for (let i = 0; i < 5000; i++) r.match(`/v1/key/k${i}`); // beyond the table: it starts over
  assert.deepEqual(r.match('/v1/key/k1'), { kind: 'route', route: { path: '/v1/key/' }, resource: 'k1' });
});
