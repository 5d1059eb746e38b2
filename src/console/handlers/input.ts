/** Reading the fields of a request's JSON body: a wrong one is a 400 that names it. */
import { ConsoleError } from '../errors.js';

function fieldsOf(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ConsoleError(400, 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** A string field; undefined when absent and optional. */
export function stringField(body: unknown, name: string): string;
export function stringField(body: unknown, name: string, optional: true): string | undefined;
export function stringField(body: unknown, name: string, optional = false): string | undefined {
  const value = fieldsOf(body)[name];
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string') throw new ConsoleError(400, `'${name}' must be a string`);
  return value;
}

/** Rules: command → list of patterns. */
export function rulesField(body: unknown, name: string): Record<string, string[]> {
  const value = fieldsOf(body)[name] ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConsoleError(400, `'${name}' must map commands to lists of patterns`);
  const out: Record<string, string[]> = {};
  for (const [command, patterns] of Object.entries(value)) {
    if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string')) throw new ConsoleError(400, `'${name}.${command}' must be a list of patterns`);
    out[command] = patterns as string[];
  }
  return out;
}

/** A whole number from min to max in a query parameter, or its default when absent. */
export function intParam(value: string | null, name: string, min: number, max: number, fallback: number): number {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConsoleError(400, `'${name}' must be a whole number from ${min} to ${max}`);
  return n;
}
