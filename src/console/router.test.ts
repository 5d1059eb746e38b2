import { it } from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute, type ApiRoute } from './router.js';

const handler = async () => undefined;
const routes: ApiRoute[] = [
  { method: 'GET', path: '/api/keys', handler },
  { method: 'GET', path: '/api/keys/:name', handler },
  { method: 'DELETE', path: '/api/keys/:name/versions/:version', handler },
];

it('matches by method and path, with decoded parameters', () => {
  assert.equal(matchRoute(routes, 'GET', '/api/keys')?.route, routes[0]);
  assert.deepEqual(matchRoute(routes, 'GET', '/api/keys/my%20key')?.params, { name: 'my key' });
  assert.deepEqual(matchRoute(routes, 'DELETE', '/api/keys/k/versions/2')?.params, { name: 'k', version: '2' });
});

it('matches nothing for another method, an empty or undecodable parameter, or extra segments', () => {
  assert.equal(matchRoute(routes, 'POST', '/api/keys'), undefined);
  assert.equal(matchRoute(routes, 'GET', '/api/keys/'), undefined);
  assert.equal(matchRoute(routes, 'GET', '/api/keys/%E0%A4%A'), undefined);
  assert.equal(matchRoute(routes, 'GET', '/api/keys/a/b'), undefined);
});
