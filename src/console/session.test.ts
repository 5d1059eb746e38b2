import { it } from 'node:test';
import assert from 'node:assert/strict';
import { LoginGate, sameSecret } from './session.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

it('the token is 32 random bytes in base64url, new for every gate', () => {
  const a = new LoginGate();
  assert.match(a.token, /^[\w-]{43}$/);
  assert.notEqual(a.token, new LoginGate().token);
});

it('the token expires unused after its time, and says so', () => {
  const c = clock();
  const gate = new LoginGate({ now: c.now, tokenTtlMs: 60_000 });
  c.advance(60_001);
  const r = gate.login(gate.token);
  assert.equal(r.ok, false);
  assert.deepEqual(r.ok ? undefined : [r.status, r.message], [401, 'the access token has expired: restart kes console for a new one']);
});

it('a session ends after its idle time or its maximum age, and at logout', () => {
  const c = clock();
  const gate = new LoginGate({ now: c.now, sessionIdleMs: 1000, sessionMaxMs: 3000 });
  const r = gate.login(gate.token);
  assert.ok(r.ok);
  const id = r.session.id;
  c.advance(900);
  assert.equal(gate.session(id)?.id, id, 'in use: the idle time restarts');
  c.advance(900);
  assert.equal(gate.session(id)?.id, id);
  c.advance(900);
  assert.equal(gate.session(id)?.id, id);
  c.advance(900);
  assert.equal(gate.session(id), undefined, 'older than the maximum age');
  assert.equal(gate.session(undefined), undefined);
  assert.equal(gate.session('made-up'), undefined);
});

it('locks sign-in for the lock-out time after maxFailures wrong tokens, then counts again from zero', () => {
  const c = clock();
  const gate = new LoginGate({ now: c.now, maxFailures: 3, lockoutMs: 10_000 });
  for (let i = 0; i < 3; i++) assert.equal(gate.login(`wrong-${i}`).ok, false);
  const locked = gate.login(gate.token);
  assert.deepEqual(locked.ok ? undefined : [locked.status, locked.retryAfterSeconds], [429, 10]);
  c.advance(9_500);
  const still = gate.login(gate.token);
  assert.deepEqual(still.ok ? undefined : [still.status, still.retryAfterSeconds], [429, 1]);
  c.advance(600);
  assert.equal(gate.login('wrong-again').ok, false);
  assert.equal(gate.login(gate.token).ok, true, 'one failure after the lock-out does not lock again');
});

it('the spent token is no failure: it does not count towards the lock-out', () => {
  const gate = new LoginGate({ maxFailures: 2 });
  assert.ok(gate.login(gate.token).ok);
  for (let i = 0; i < 5; i++) {
    const r = gate.login(gate.token);
    assert.deepEqual(r.ok ? undefined : r.status, 401);
  }
});

it('sameSecret compares any two strings', () => {
  assert.equal(sameSecret('abc', 'abc'), true);
  assert.equal(sameSecret('abc', 'abd'), false);
  assert.equal(sameSecret('', 'abc'), false);
});
