import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointUrls } from './endpoints.js';

const cases: Array<{ endpoints: string[]; tls: boolean; urls: string[] }> = [
  { endpoints: ['http://127.0.0.1:2379'], tls: false, urls: ['http://127.0.0.1:2379'] },
  { endpoints: ['127.0.0.1:2379', 'etcd-2:2379'], tls: false, urls: ['http://127.0.0.1:2379', 'http://etcd-2:2379'] },
  { endpoints: ['etcd-1:2379', 'https://etcd-2:2379'], tls: true, urls: ['https://etcd-1:2379', 'https://etcd-2:2379'] },
  { endpoints: ['https://etcd-1:2379'], tls: false, urls: ['https://etcd-1:2379'] },
  { endpoints: ['HTTPS://etcd-1:2379'], tls: false, urls: ['https://etcd-1:2379'] },
];

test('endpointUrls adds the scheme TLS implies', () => {
  for (const [i, c] of cases.entries()) assert.deepEqual(endpointUrls(c.endpoints, c.tls), c.urls, `case ${i}`);
});

test('endpointUrls rejects plain http with TLS, and mixed schemes', () => {
  assert.throws(() => endpointUrls(['http://etcd-1:2379'], true), /tls is configured but an endpoint is plain http/);
  assert.throws(() => endpointUrls(['https://etcd-1:2379', 'http://etcd-2:2379'], false), /mix http:\/\/ and https:\/\//);
});
