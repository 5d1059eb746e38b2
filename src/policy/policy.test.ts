import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Policy } from './policy.js';
import { PolicyConfigError, PolicySet } from './policy-set.js';

// test-vectors.md §7 (minio/kms-go kes/policy_test.go)
const cases: { allow: string[]; deny: string[]; paths: [string, boolean][] }[] = [
  { allow: [], deny: [], paths: [['/v1/status', false], ['/v1/key/create/my-key', false], ['/v1/identity/list/a', false]] },
  { allow: ['/v1/status'], deny: [], paths: [['/v1/status', true], ['/v1/key/create/my-key', false], ['/v1/identity/list/a', false]] },
  {
    allow: ['/v1/key/create/my*', '/v1/key/create/your*'],
    deny: [],
    paths: [['/v1/key/create/my-key', true], ['/v1/key/create/your-key', true], ['/v1/identity/list/somekey', false]],
  },
  {
    allow: ['/v1/key/create/my*', '/v1/key/create/your*'],
    deny: ['/v1/key/create/my-key*'],
    paths: [['/v1/key/create/my-key', false], ['/v1/key/create/my-key1', false], ['/v1/key/create/my-minio-key', true], ['/v1/key/create/your-minio-key', true]],
  },
  // Prefix semantics cross '/', a '*' elsewhere is literal, the empty pattern never matches.
  { allow: ['/v1/*'], deny: [], paths: [['/v1/key/create/a', true], ['/v1/status', true], ['/v2/status', false], ['/v1', false]] },
  { allow: ['/v1/key/*/my-key'], deny: [], paths: [['/v1/key/create/my-key', false], ['/v1/key/*/my-key', true]] },
  { allow: [''], deny: [], paths: [['', false], ['/v1/status', false]] },
  { allow: ['*'], deny: ['/v1/key/delete/*'], paths: [['/v1/key/create/x', true], ['/v1/key/delete/x', false]] },
];

describe('Policy.isAllowed (test-vectors.md §7)', () => {
  for (const [i, c] of cases.entries()) {
    test(`policy #${i} allow=${JSON.stringify(c.allow)} deny=${JSON.stringify(c.deny)}`, () => {
      const p = new Policy(c);
      for (const [path, want] of c.paths) assert.equal(p.isAllowed(path), want, path);
    });
  }
});

describe('PolicySet', () => {
  const id1 = 'a'.repeat(64);
  const id2 = 'b'.repeat(64);

  test('assigns identities to their policy; unknown identities are denied', () => {
    const set = new PolicySet({
      minio: { allow: ['/v1/key/generate/*'], deny: [], identities: [id1] },
      reader: { allow: ['/v1/status'], deny: [], identities: [id2] },
    });
    assert.equal(set.policyNameOf(id1), 'minio');
    assert.equal(set.isAllowed(id1, '/v1/key/generate/k'), true);
    assert.equal(set.isAllowed(id1, '/v1/status'), false);
    assert.equal(set.isAllowed(id2, '/v1/status'), true);
    assert.equal(set.isAllowed('c'.repeat(64), '/v1/status'), false);
    assert.deepEqual(set.names(), ['minio', 'reader']);
    assert.deepEqual(set.identities(), [id1, id2]);
  });

  test('an identity may belong to one policy only', () => {
    assert.throws(
      () => new PolicySet({ a: { allow: [], deny: [], identities: [id1] }, b: { allow: [], deny: [], identities: [id1] } }),
      (err: unknown) => err instanceof PolicyConfigError && /more than one policy/.test(err.message),
    );
  });

  test('policy names and identities must be valid names', () => {
    assert.throws(() => new PolicySet({ 'bad.name': { allow: [], deny: [], identities: [] } }), PolicyConfigError);
    assert.throws(() => new PolicySet({ ok: { allow: [], deny: [], identities: ['not/valid'] } }), PolicyConfigError);
  });

  test('a check consults only the caller\'s own policy', () => {
    const config: Record<string, { allow: string[]; deny: string[]; identities: string[] }> = {};
    for (let i = 0; i < 200; i++) config[`p${i}`] = { allow: [`/v1/key/create/p${i}-*`], deny: [], identities: [`id${i}`] };
    const set = new PolicySet(config);
    assert.equal(set.isAllowed('id7', '/v1/key/create/p7-x'), true);
    assert.equal(set.isAllowed('id7', '/v1/key/create/p8-x'), false);
  });
});
