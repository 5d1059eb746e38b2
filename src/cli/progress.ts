/**
 * A status line on a terminal, redrawn in place at a fixed interval (about every second) while
 * a long command runs. Only for terminals: piped output gets the final result and no redraws.
 */
import type { Writable } from 'node:stream';

/** Carriage return and "erase line": the next text replaces the current line. */
const CLEAR_LINE = '\r\x1b[2K';

/** A line on a terminal that is redrawn every interval until stopped. */
export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;

  /**
   * @param stream the terminal to draw on
   * @param render the current text of the line (one line, no newline)
   * @param intervalMs time between redraws (default 1 s)
   */
  constructor(
    private readonly stream: Writable,
    private readonly render: () => string,
    private readonly intervalMs = 1000,
  ) {}

  /** Starts redrawing every interval; the first draw is after one interval. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
  }

  /** Redraws the line now. */
  draw(): void {
    this.stream.write(CLEAR_LINE + this.render());
    this.drawn = true;
  }

  /** Stops redrawing and erases the line, so that the next output starts on a clean line. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.stream.write(CLEAR_LINE);
    this.drawn = false;
  }
}

/** A count with thousands separators: `12,345`. */
export function formatCount(n: number): string {
  return Math.trunc(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A rate per second over elapsedMs, e.g. `1,234/s` (`0/s` before any time has passed). */
export function formatRate(count: number, elapsedMs: number): string {
  return `${formatCount(elapsedMs > 0 ? (count * 1000) / elapsedMs : 0)}/s`;
}
