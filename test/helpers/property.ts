/**
 * Helpers for the fast-check property tests (`src/**\/*.property.test.ts`): run a parser on
 * arbitrary input and require that it either returns or throws one of its typed errors.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { KesError } from '../../src/api/errors.js';

/** What a parser did with one input: its result, or the typed error it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Decides whether a thrown value is one of the errors the parser documents. */
export type Expected = (err: unknown) => err is Error;

type ErrorClass = abstract new (...args: any[]) => Error;

/** Accepts instances of the given error classes. */
export function instanceOf(...classes: ErrorClass[]): Expected {
  return (err: unknown): err is Error => classes.some((c) => err instanceof c);
}

/** Accepts a KesError with a 4xx status: the only errors bad client input may cause. */
export function kesClientError(err: unknown): err is KesError {
  return err instanceof KesError && err.status >= 400 && err.status < 500;
}

/** Accepts a KesError with the given code. */
export function kesError(code: KesError['code']): Expected {
  return (err: unknown): err is KesError => err instanceof KesError && err.code === code;
}

function unexpected(err: unknown): never {
  assert.fail(`unexpected exception: ${inspect(err, { depth: 2 })}`);
}

/** Calls fn; an exception that expected does not accept fails the property. */
export function outcome<T>(fn: () => T, expected: Expected): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (expected(err)) return { ok: false, error: err };
    return unexpected(err);
  }
}

/** Awaits fn; a rejection that expected does not accept fails the property. */
export async function asyncOutcome<T>(fn: () => Promise<T>, expected: Expected): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (expected(err)) return { ok: false, error: err };
    return unexpected(err);
  }
}

/** The error of an outcome that must have failed. */
export function failure<T>(o: Outcome<T>, what: string): Error {
  if (o.ok) assert.fail(`${what}: expected an error, got ${inspect(o.value, { depth: 1 })}`);
  return o.error;
}
