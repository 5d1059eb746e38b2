// A small SVG line chart: a few series over time, gaps where a value is null, y scaled to the
// maximum of the window, a few tick labels. Colors and dash patterns come from CSS classes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { localTime, num } from './format.js';

export interface Series {
  name: string;
  /** CSS class of the line: color and dash pattern. */
  cls: string;
  values: (number | null)[];
}

const HEIGHT = 220;
const M = { left: 48, right: 14, top: 12, bottom: 26 };

/** A step of 1, 2, 2.5 or 5 times a power of ten, near raw. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

function yTicks(max: number, minTop: number): number[] {
  const top = Math.max(max, minTop);
  const step = niceStep(top / 4);
  const ticks: number[] = [];
  for (let v = 0; v <= top + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks.length < 2) ticks.push(step);
  return ticks;
}

function useWidth(initial: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(initial);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.round(entries[0]?.contentRect.width ?? 0);
      if (w > 0) setWidth(Math.max(240, w));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width] as const;
}

export function LineChart({
  label,
  times,
  series,
  minTop = 1,
}: {
  label: string;
  times: number[];
  series: Series[];
  /** The y axis reaches at least this far. */
  minTop?: number;
}) {
  const [wrapRef, width] = useWidth(600);
  const n = times.length;
  const plotW = width - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;

  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  const ticks = yTicks(max, minTop);
  const top = ticks[ticks.length - 1] ?? 1;

  const t0 = times[0] ?? 0;
  const t1 = times[n - 1] ?? 0;
  const span = t1 - t0;
  const x = (t: number) => M.left + (span > 0 ? ((t - t0) / span) * plotW : plotW);
  const y = (v: number) => M.top + plotH - (v / top) * plotH;

  const xTicks: { t: number; anchor: string }[] = [];
  if (n > 0) {
    if (span > 0) {
      const count = plotW < 300 ? 2 : 4;
      for (let i = 0; i < count; i++) {
        const f = i / (count - 1);
        xTicks.push({ t: t0 + f * span, anchor: i === 0 ? 'start' : i === count - 1 ? 'end' : 'middle' });
      }
    } else {
      xTicks.push({ t: t1, anchor: 'end' });
    }
  }

  /** The series as a path with gaps at null values; points without neighbours become dots. */
  function shape(values: (number | null)[]): { d: string; dots: [number, number][] } {
    let d = '';
    const dots: [number, number][] = [];
    let run: [number, number][] = [];
    const end = () => {
      if (run.length === 1 && run[0]) dots.push(run[0]);
      else run.forEach(([px, py], i) => (d += `${i === 0 ? 'M' : 'L'}${px.toFixed(1)} ${py.toFixed(1)}`));
      run = [];
    };
    for (let i = 0; i < n; i++) {
      const v = values[i];
      const t = times[i];
      if (v === null || v === undefined || t === undefined) end();
      else run.push([x(t), y(v)]);
    }
    end();
    return { d, dots };
  }

  return (
    <div class="chart-wrap" ref={wrapRef}>
      <svg
        class="chart"
        role="img"
        aria-label={label}
        data-points={String(n)}
        width={width}
        height={HEIGHT}
        viewBox={`0 0 ${width} ${HEIGHT}`}
      >
        {ticks.map((v) => (
          <g key={v}>
            <line class="grid" x1={M.left} x2={width - M.right} y1={y(v)} y2={y(v)} />
            <text class="tick" x={M.left - 6} y={y(v)} text-anchor="end" dominant-baseline="middle">
              {num(v, 2)}
            </text>
          </g>
        ))}
        <line class="axis" x1={M.left} x2={M.left} y1={M.top} y2={M.top + plotH} />
        <line class="axis" x1={M.left} x2={width - M.right} y1={M.top + plotH} y2={M.top + plotH} />
        {xTicks.map((tk) => (
          <text key={tk.t} class="tick" x={x(tk.t)} y={HEIGHT - 6} text-anchor={tk.anchor}>
            {localTime(tk.t)}
          </text>
        ))}
        {n === 0 && (
          <text class="tick" x={M.left + plotW / 2} y={M.top + plotH / 2} text-anchor="middle">
            Waiting for samples…
          </text>
        )}
        {series.map((s) => {
          const { d, dots } = shape(s.values);
          return (
            <g key={s.name} class={`series ${s.cls}`}>
              {d && <path d={d} />}
              {dots.map(([cx, cy]) => (
                <circle key={cx} class="dot" cx={cx.toFixed(1)} cy={cy.toFixed(1)} r="1.5" />
              ))}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** A short line in a series' style, for a legend. */
export function Swatch({ cls }: { cls: string }) {
  return (
    <svg class="swatch" width="28" height="10" viewBox="0 0 28 10" aria-hidden="true">
      <line class={`series ${cls}`} x1="2" x2="26" y1="5" y2="5" />
    </svg>
  );
}
