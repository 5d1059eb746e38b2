/**
 * Timestamps with nanosecond precision, formatted like Go's `time.RFC3339Nano`.
 *
 * KES stores key creation times with nanoseconds (protobuf Timestamp) and writes them as
 * RFC 3339 with trailing fractional zeros trimmed. JavaScript's Date keeps milliseconds only,
 * so times are kept as whole seconds since the Unix epoch plus nanoseconds.
 */

const NANOS_PER_SECOND = 1_000_000_000n;

/** Seconds of Go's zero time (0001-01-01T00:00:00Z) relative to the Unix epoch. */
const GO_ZERO_SECONDS = -62135596800n;

/** A point in time: seconds since the Unix epoch, nanoseconds 0..999999999 and a UTC offset. */
export class Timestamp {
  /** Go's zero time, written by KES for keys without a creation time. */
  static readonly ZERO = new Timestamp(GO_ZERO_SECONDS, 0);

  /**
   * @param seconds whole seconds since 1970-01-01T00:00:00Z
   * @param nanos nanoseconds within the second, 0..999999999
   * @param offsetSeconds the UTC offset to print the time in (0 prints `Z`)
   */
  constructor(
    readonly seconds: bigint,
    readonly nanos: number,
    readonly offsetSeconds = 0,
  ) {
    if (!Number.isInteger(nanos) || nanos < 0 || nanos >= 1e9) throw new RangeError('nanos out of range');
  }

  /** The current time in UTC, with sub-millisecond precision from the monotonic clock. */
  static now(): Timestamp {
    const ns = wallClockNanos();
    return new Timestamp(ns / NANOS_PER_SECOND, Number(ns % NANOS_PER_SECOND));
  }

  /** A UTC time from seconds and nanoseconds; nanoseconds outside 0..999999999 carry over. */
  static fromSecondsNanos(seconds: bigint, nanos: bigint | number): Timestamp {
    const n = BigInt(nanos);
    let carry = n / NANOS_PER_SECOND;
    let rest = n % NANOS_PER_SECOND;
    if (rest < 0n) {
      rest += NANOS_PER_SECOND;
      carry -= 1n;
    }
    return new Timestamp(seconds + carry, Number(rest));
  }

  /** The wall-clock time of a `process.hrtime.bigint()` reading. */
  static fromHrtime(hrtime: bigint): Timestamp {
    const ns = wallBase + hrtime;
    return new Timestamp(ns / NANOS_PER_SECOND, Number(ns % NANOS_PER_SECOND));
  }

  static fromDate(date: Date): Timestamp {
    const ms = BigInt(date.getTime());
    const seconds = ms >= 0n ? ms / 1000n : -((-ms + 999n) / 1000n);
    return new Timestamp(seconds, Number(ms - seconds * 1000n) * 1_000_000);
  }

  /**
   * Parses an RFC 3339 time with optional fraction (up to 9 digits) and a `Z` or `±hh:mm`
   * offset. Returns undefined when the text is not such a time.
   */
  static parse(text: string): Timestamp | undefined {
    const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(text);
    if (!m) return undefined;
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) {
      return undefined;
    }
    const nanos = m[7] ? Number(m[7].padEnd(9, '0')) : 0;
    let offset = 0;
    if (!m[8]) {
      const oh = Number(m[10]);
      const om = Number(m[11]);
      if (oh > 23 || om > 59) return undefined;
      offset = (oh * 3600 + om * 60) * (m[9] === '-' ? -1 : 1);
    }
    const days = daysFromCivil(year, month, day);
    const local = BigInt(days) * 86400n + BigInt(hour * 3600 + minute * 60 + second);
    return new Timestamp(local - BigInt(offset), nanos, offset);
  }

  /** Reports whether this is Go's zero time. */
  isZero(): boolean {
    return this.seconds === GO_ZERO_SECONDS && this.nanos === 0;
  }

  /** The same instant printed in UTC. */
  utc(): Timestamp {
    return this.offsetSeconds === 0 ? this : new Timestamp(this.seconds, this.nanos);
  }

  /** The same instant printed with the given UTC offset. */
  withOffset(offsetSeconds: number): Timestamp {
    return new Timestamp(this.seconds, this.nanos, offsetSeconds);
  }

  equals(other: Timestamp): boolean {
    return this.seconds === other.seconds && this.nanos === other.nanos;
  }

  /** Milliseconds since the Unix epoch (precision lost below 1 ms). */
  toMillis(): number {
    return Number(this.seconds) * 1000 + Math.floor(this.nanos / 1e6);
  }

  private text: string | undefined;

  /** Formats like Go's `time.RFC3339Nano`: fraction with trailing zeros trimmed. */
  toString(): string {
    return (this.text ??= this.format(false));
  }

  /** Formats with exactly three fractional digits (truncated), as Go's slog prints times. */
  toMillisString(): string {
    return this.format(true);
  }

  private format(millis: boolean): string {
    const local = this.seconds + BigInt(this.offsetSeconds);
    let days = local / 86400n;
    let secs = Number(local - days * 86400n);
    if (secs < 0) {
      secs += 86400;
      days -= 1n;
    }
    const [y, mo, d] = civilFromDays(Number(days));
    const hh = Math.floor(secs / 3600);
    const mm = Math.floor((secs % 3600) / 60);
    const ss = secs % 60;
    let text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}`;
    if (millis) text += '.' + pad(Math.floor(this.nanos / 1e6), 3);
    else if (this.nanos > 0) text += '.' + pad(this.nanos, 9).replace(/0+$/, '');
    if (this.offsetSeconds === 0) return text + 'Z';
    const off = Math.abs(this.offsetSeconds);
    return `${text}${this.offsetSeconds < 0 ? '-' : '+'}${pad(Math.floor(off / 3600), 2)}:${pad(Math.floor((off % 3600) / 60), 2)}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

const wallBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Wall-clock nanoseconds since the epoch: Date.now() at start-up advanced by the monotonic clock. */
function wallClockNanos(): bigint {
  return wallBase + process.hrtime.bigint();
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysIn(y: number, m: number): number {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}
