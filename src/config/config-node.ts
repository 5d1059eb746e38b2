/**
 * A small typed reader over YAML nodes: every value is read together with its dotted field path
 * and line, so every config error can name both (protocol.md §13.1). Every key a reader asks
 * for is recorded, so the keys nobody asked for can be reported afterwards (unknown-fields.ts).
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import { ConfigError } from './config-error.js';
import { ConfigWarning, type ConfigWarningKind } from './config-warning.js';
import { closestName } from './did-you-mean.js';
import { parseDuration } from './duration.js';
import type { FieldAccess } from './field-access.js';

/** Environment variables for `${NAME}` references. */
export type Env = Record<string, string | undefined>;

/** What every node of one document shares. */
export interface ReadContext {
  doc: Document;
  lines: LineCounter;
  env: Env;
  file?: string;
  /** The keys the readers asked for. */
  access: FieldAccess;
  /** Warnings found while reading. */
  warnings: ConfigWarning[];
}

/** A field of a mapping as written, for the unknown-field check (see ConfigNode.fields). */
export interface WrittenField {
  /** The key; undefined for a key that is not a scalar. */
  key: string | undefined;
  /** The value, aliases resolved, with its field path and the line of its key. */
  value: ConfigNode;
  /** The value as written: an alias, or a node that may carry an anchor. */
  written: Node | null;
}

/** `${NAME}`, possibly surrounded by whitespace; the name is trimmed too. */
const ENV_REFERENCE = /^\s*\$\{(.*)\}\s*$/s;

const TRUE = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSE = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

/**
 * One YAML value (or a missing/null one) with its field path and line. Reading a scalar
 * replaces a `${NAME}` reference by the environment variable; `rawText` does not.
 */
export class ConfigNode {
  private constructor(
    private readonly ctx: ReadContext,
    /** The resolved YAML node; null when the value is missing or null. */
    readonly node: Node | null,
    /** Dotted field path (empty for the top level). */
    readonly path: string,
    /** 1-based line; undefined for the top-level mapping (and the fields missing from it). */
    readonly line: number | undefined,
  ) {}

  /** The top-level node of a parsed document. */
  static root(ctx: ReadContext): ConfigNode {
    const node = resolve(ctx.doc, ctx.doc.contents);
    // Fields missing at the top level have no line to point at: the top level has none.
    return new ConfigNode(ctx, node, '', node === null || isMap(node) ? undefined : lineOf(ctx, node));
  }

  /** Throws a ConfigError for this field. */
  fail(reason: string): never {
    throw this.error(reason);
  }

  /** A ConfigError for this field. */
  error(reason: string): ConfigError {
    return new ConfigError(reason, { field: this.path || undefined, line: this.line, file: this.ctx.file });
  }

  /** Records a warning about this field (the parsers hand them out once the whole file is read). */
  warn(kind: ConfigWarningKind, reason: string): void {
    this.ctx.warnings.push(new ConfigWarning(kind, reason, { field: this.path || undefined, line: this.line, file: this.ctx.file }));
  }

  /**
   * Marks keys of this mapping as accepted and ignored (fields KES knows and openkes does not
   * use, e.g. Vault's `approle.retry`), so that they are not reported as unknown.
   */
  ignore(...keys: string[]): void {
    for (const key of keys) this.ctx.access.ignore(this.isMap ? this.node : null, key);
  }

  get isNull(): boolean {
    return this.node === null || (isScalar(this.node) && this.node.value === null);
  }

  get isMap(): boolean {
    return isMap(this.node);
  }

  get isSeq(): boolean {
    return isSeq(this.node);
  }

  /**
   * The value under key in this mapping, also when it is null; undefined when the key is
   * missing (or this value itself is null). Throws unless this value is a mapping or null.
   */
  field(key: string): ConfigNode | undefined {
    this.ctx.access.ask(this.isMap ? this.node : null, this.path, key);
    for (const pair of this.pairs()) {
      if (!isScalar(pair.key) || String(pair.key.value) !== key) continue;
      const value = resolve(this.ctx.doc, pair.value as Node | null);
      // Scalars report their own line; collections and null values the line of their key.
      const scalar = isScalar(value) && value.value !== null;
      const line = scalar ? lineOf(this.ctx, value) : lineOf(this.ctx, pair.key as Node);
      return new ConfigNode(this.ctx, value, this.join(key), line);
    }
    return undefined;
  }

  /** The non-null value under key, or undefined when it is missing or null. */
  get(key: string): ConfigNode | undefined {
    const child = this.field(key);
    return child === undefined || child.isNull ? undefined : child;
  }

  /** Reports whether key has a non-null value. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A child for error reports about key: the field itself when present, else this line. */
  at(key: string): ConfigNode {
    return this.field(key) ?? new ConfigNode(this.ctx, null, this.join(key), this.line);
  }

  /**
   * The mapping under key. A missing or null section is returned as a null node (`isNull`)
   * whose fields are all missing, so required fields inside it still fail with their path.
   */
  section(key: string): ConfigNode {
    const child = this.at(key);
    if (!child.isNull && !child.isMap) child.fail('must be a mapping');
    return child;
  }

  /** The entries of this mapping (none when null), keys as written (never substituted). */
  entries(): Array<[string, ConfigNode]> {
    const keys = new Set<string>();
    for (const pair of this.pairs()) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (key === undefined || key === null || typeof key === 'object') {
        new ConfigNode(this.ctx, null, this.path, lineOf(this.ctx, pair.key as Node)).fail('mapping keys must be scalars');
      }
      keys.add(String(key));
    }
    return [...keys].map((key) => [key, this.field(key) as ConfigNode]);
  }

  /** The items of this sequence (none when null). */
  items(): ConfigNode[] {
    if (this.isNull) return [];
    if (!isSeq(this.node)) this.fail('must be a list');
    return this.node.items.map((item, i) => {
      const node = resolve(this.ctx.doc, item as Node | null);
      return new ConfigNode(this.ctx, node, `${this.path}[${i}]`, node === null ? this.line : lineOf(this.ctx, node));
    });
  }

  /** The scalar text as written, without `${NAME}` substitution ('' when null). */
  rawText(): string {
    if (this.isNull) return '';
    if (!isScalar(this.node)) this.fail('must be a single value, not a list or mapping');
    const { value, source } = this.node;
    return typeof value === 'string' ? value : (source ?? String(value));
  }

  /**
   * The scalar text ('' when null). A value `${NAME}` is replaced by the environment
   * variable, which is then read like any other plain scalar.
   */
  text(): string {
    const raw = this.rawText();
    const reference = ENV_REFERENCE.exec(raw);
    if (reference === null) return raw;
    const name = (reference[1] ?? '').trim();
    // Own variables only: `${constructor}` must not find Object.prototype members.
    const value = Object.hasOwn(this.ctx.env, name) ? this.ctx.env[name] : undefined;
    if (value === undefined) throw this.error(`referenced env. variable '${name}' in line '${this.line ?? 0}' not found`);
    return value;
  }

  /** The NAME of a `${NAME}` value; undefined for any other value. */
  envName(): string | undefined {
    if (!isScalar(this.node) || typeof this.node.value !== 'string') return undefined;
    const reference = ENV_REFERENCE.exec(this.node.value);
    return reference === null ? undefined : (reference[1] ?? '').trim();
  }

  /** The string under key; undefined when missing or null. */
  string(key: string): string | undefined {
    return this.get(key)?.text();
  }

  /** The string under key; undefined when missing, null or empty. */
  optional(key: string): string | undefined {
    const value = this.string(key);
    return value === '' ? undefined : value;
  }

  /**
   * The non-empty string under key; fails with `required` when missing or empty, naming a key
   * of this mapping that looks like a typo of it (`required (is "kye" a typo of "key"?)`).
   */
  required(key: string): string {
    const value = this.string(key);
    if (value === undefined || value === '') throw this.at(key).error(`required${this.field(key) === undefined ? this.typoOf(key) : ''}`);
    return value;
  }

  /** The boolean under key (`true`/`false`, also YAML 1.1 yes/no/on/off); undefined when missing. */
  boolean(key: string): boolean | undefined {
    const child = this.get(key);
    if (child === undefined) return undefined;
    const text = child.text();
    if (TRUE.has(text)) return true;
    if (FALSE.has(text)) return false;
    return child.fail(`must be true or false, got ${JSON.stringify(text)}`);
  }

  /** The Go duration under key in milliseconds; undefined when missing or empty; never negative. */
  duration(key: string): number | undefined {
    const child = this.get(key);
    if (child === undefined) return undefined;
    const text = child.text();
    if (text === '') return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) throw child.error(`invalid duration ${JSON.stringify(text)} (use Go syntax such as 30s, 5m or 1h30m)`);
    if (ms < 0) child.fail(`must not be negative, got ${text}`);
    return ms;
  }

  /** The decimal integer under key; undefined when missing or empty. */
  integer(key: string, min: number, max: number): number | undefined {
    const child = this.get(key);
    if (child === undefined) return undefined;
    const text = child.text();
    if (text === '') return undefined;
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!(n >= min && n <= max)) child.fail(`must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
    return n;
  }

  /**
   * The strings of the list under key (none when missing), each with `${NAME}` substitution
   * unless env is false.
   */
  strings(key: string, { env = true }: { env?: boolean } = {}): string[] {
    return (this.get(key)?.items() ?? []).map((item) => (env ? item.text() : item.rawText()));
  }

  /**
   * The fields of this mapping as written (none when null), merged ones included and the first
   * of a key winning, as field() finds them; reading them does not count as asking for them.
   */
  fields(): WrittenField[] {
    const seen = new Set<string>();
    const fields: WrittenField[] = [];
    for (const pair of this.pairs()) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key !== undefined) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      const written = (pair.value ?? null) as Node | null;
      const value = resolve(this.ctx.doc, written);
      const line = pair.key !== null && typeof pair.key === 'object' ? lineOf(this.ctx, pair.key as Node) : this.line;
      fields.push({ key, value: new ConfigNode(this.ctx, value, key === undefined ? this.path : this.join(key), line), written });
    }
    return fields;
  }

  /** The keys some reader asked for in this mapping (none when it is null). */
  askedKeys(): ReadonlySet<string> {
    return this.isMap ? this.ctx.access.askedIn(this.node as Node) : new Set();
  }

  /** Reports whether a reader asked for key in this mapping or ignores it. */
  isKnown(key: string): boolean {
    return this.isMap && this.ctx.access.isKnown(this.node as Node, key);
  }

  /** The shallowest other path where key is a field (`tls.auth` for `auth`), if any. */
  elsewhere(key: string): string | undefined {
    return this.ctx.access.elsewhere(key, this.path);
  }

  /** The YAML document being read. */
  get document(): Document {
    return this.ctx.doc;
  }

  /** The warnings recorded so far for the whole document. */
  warnings(): ConfigWarning[] {
    return this.ctx.warnings;
  }

  /** ` (is "kye" a typo of "key"?)` when this mapping has a key no reader asked for close to key. */
  private typoOf(key: string): string {
    const unasked = this.fields().flatMap((f) => (f.key !== undefined && !this.isKnown(f.key) ? [f.key] : []));
    const typo = closestName(key, unasked);
    return typo === undefined ? '' : ` (is ${JSON.stringify(typo)} a typo of ${JSON.stringify(key)}?)`;
  }

  /**
   * The pairs of this mapping (none when null): its own, then those merged in by YAML merge
   * keys (`<<: *anchor` or `<<: [*a, *b]`, as go-yaml supports them); the first of a key wins.
   */
  private pairs(depth = 0): Pair[] {
    if (this.isNull) return [];
    if (!isMap(this.node)) this.fail('must be a mapping');
    if (depth > 32) this.fail('YAML merge keys (<<) nested too deeply');
    const own: Pair[] = [];
    const merged: Pair[] = [];
    for (const pair of this.node.items) {
      if (!isMergeKey(pair.key)) {
        own.push(pair);
        continue;
      }
      const value = resolve(this.ctx.doc, pair.value as Node | null);
      const line = lineOf(this.ctx, pair.key as Node);
      const sources = isSeq(value) ? value.items.map((item) => resolve(this.ctx.doc, item as Node | null)) : [value];
      for (const source of sources) {
        const node = new ConfigNode(this.ctx, source, this.path, line);
        if (!isMap(source)) node.fail('a merge key (<<) needs a mapping or a list of mappings');
        merged.push(...node.pairs(depth + 1));
      }
    }
    return [...own, ...merged];
  }

  private join(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && key.value === '<<' && key.type === 'PLAIN';
}

function resolve(doc: Document, node: Node | null | undefined): Node | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return node.resolve(doc) ?? null;
  return node;
}

function lineOf(ctx: ReadContext, node: Node): number | undefined {
  const offset = node.range?.[0];
  return offset === undefined ? undefined : ctx.lines.linePos(offset).line;
}

/** Drops the properties whose value is undefined, so optional fields are absent, not undefined. */
export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) if (value[key] === undefined) delete value[key];
  return value;
}
