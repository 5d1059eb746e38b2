/** Go `time.ParseDuration` syntax (protocol.md §13.1). */

const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.Duration is an int64 of nanoseconds. */
const MAX_NANOS = 9_223_372_036_854_775_807;

const COMPONENT = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Parses a Go duration such as `5m`, `30s`, `1h30m`, `1.5s`, `300ms`, `0` or `-1s` (units ns, us,
 * µs, ms, s, m, h; an optional sign; no spaces).
 * @returns the duration in milliseconds (fractional below 1 ms), or undefined if the text is not
 *   a valid Go duration or overflows Go's int64 nanoseconds.
 */
export function parseDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let nanos = 0;
  while (rest !== '') {
    const match = COMPONENT.exec(rest);
    if (match === null) return undefined;
    const [whole, number, unit] = match as unknown as [string, string, string];
    nanos += Number(number) * (NANOS_PER_UNIT[unit] ?? Number.NaN);
    rest = rest.slice(whole.length);
  }
  if (!(nanos <= MAX_NANOS)) return undefined;
  return (sign * nanos) / 1e6 + 0; // + 0 turns -0 into 0
}
