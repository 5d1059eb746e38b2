/**
 * Command-line flags in the style of KES's CLI (Go pflag): `--name value`, `--name=value`,
 * `-n value`, boolean flags without a value, repeatable list flags, and `--` to end flags.
 * Flags may appear before or after positional arguments.
 */

export interface FlagSpec {
  /** Long name without dashes, e.g. `config`. */
  name: string;
  /** One-letter short name, e.g. `k`. */
  short?: string;
  type: 'boolean' | 'string' | 'list';
  /** Placeholder for the value in help output, e.g. `FILE`. */
  value?: string;
  description: string;
  /** Not shown in help (deprecated flags). */
  hidden?: boolean;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** A mistake in how a command was called; the CLI prints it with a usage hint and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An argument that looks like a flag the command does not have. */
export class UnknownFlagError extends UsageError {
  /** @param flag the flag as given, without `=value` */
  constructor(readonly flag: string) {
    super(`unknown flag: ${flag}`);
  }

  /** Reports whether the flag looks more like an argument (`-leading`) than a mistyped flag. */
  get mayBeArgument(): boolean {
    return /^-[^-]./.test(this.flag);
  }
}

export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): { flags: FlagValues; positionals: string[] } {
  const flags: FlagValues = {};
  const positionals: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const eq = arg.indexOf('=');
    const key = arg.slice(long ? 2 : 1, eq < 0 ? undefined : eq);
    const spec = long ? byName.get(key) : byShort.get(key);
    if (!spec) throw new UnknownFlagError(`${long ? '--' : '-'}${key}`);
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (spec.type === 'boolean') {
      if (value !== undefined && !['true', 'false'].includes(value)) throw new UsageError(`invalid value '${value}' for --${spec.name}: expected true or false`);
      flags[spec.name] = value === undefined || value === 'true';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: --${spec.name}`);
      value = args[++i]!;
    }
    if (spec.type === 'list') flags[spec.name] = [...((flags[spec.name] as string[] | undefined) ?? []), value];
    else flags[spec.name] = value;
  }
  return { flags, positionals };
}

/** The flags section of a help text. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs
    .filter((s) => !s.hidden)
    .map((s) => {
      const names = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'boolean' ? '' : ` ${s.value ?? 'VALUE'}`}`;
      return [names, s.description] as const;
    });
  const width = Math.max(0, ...rows.map(([n]) => n.length)) + 3;
  return rows.map(([n, d]) => `  ${n.padEnd(width)}${d}`).join('\n');
}
