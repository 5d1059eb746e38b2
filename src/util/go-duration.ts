/** Formats a duration like Go's `time.Duration.String()`: `1.5s`, `200ms`, `2m0s`, `1h0m0s`, `0s`. */
export function goDuration(nanos: number): string {
  if (nanos === 0) return '0s';
  const sign = nanos < 0 ? '-' : '';
  let ns = Math.abs(Math.round(nanos));
  if (ns < 1_000) return `${sign}${ns}ns`;
  if (ns < 1_000_000) return `${sign}${trim(ns / 1_000)}µs`;
  if (ns < 1_000_000_000) return `${sign}${trim(ns / 1_000_000)}ms`;
  const h = Math.floor(ns / 3_600_000_000_000);
  ns -= h * 3_600_000_000_000;
  const m = Math.floor(ns / 60_000_000_000);
  ns -= m * 60_000_000_000;
  const s = `${trim(ns / 1_000_000_000)}s`;
  if (h > 0) return `${sign}${h}h${m}m${s}`;
  if (m > 0) return `${sign}${m}m${s}`;
  return sign + s;
}

// Up to 9 fractional digits with trailing zeros removed, as Go prints them.
function trim(v: number): string {
  return v.toFixed(9).replace(/\.?0+$/, '');
}
