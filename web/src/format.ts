// Formatting of identities, times, durations and sizes for display.

/** An identity shortened to its first 12 hex characters (an `h1:` prefix is kept). */
export function shortId(id: string): string {
  if (!id) return '—';
  const m = /^([a-z0-9]+:)?(.*)$/i.exec(id);
  const prefix = m?.[1] ?? '';
  const rest = m?.[2] ?? id;
  return rest.length > 12 ? `${prefix}${rest.slice(0, 12)}…` : id;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function toDate(value: string | number | Date): Date | null {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local date and time: 2024-05-01 13:45:12. */
export function localDateTime(value: string | number | Date): string {
  const d = toDate(value);
  if (!d) return typeof value === 'string' && value ? value : '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${localTime(d)}`;
}

/** Local time of day: 13:45:12. */
export function localTime(value: string | number | Date): string {
  const d = toDate(value);
  if (!d) return '—';
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The ISO form for a title attribute. */
export function isoTime(value: string | number | Date): string {
  const d = toDate(value);
  return d ? d.toISOString() : String(value);
}

/** A duration in seconds as "3 d 4 h", "3 h 12 min", "12 min 5 s" or "42 s". */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return sec > 0 ? `${m} min ${sec} s` : `${m} min`;
  return `${sec} s`;
}

/** Bytes as KiB/MiB/GiB. */
export function humanBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** A number with at most `digits` decimals and no trailing zeros: 12.5, 0, 3.14. */
export function num(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return '—';
  return String(Number(n.toFixed(digits)));
}

/** "1 key", "2 keys". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
