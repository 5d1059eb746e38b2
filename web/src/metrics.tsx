// Metrics: requests per second and latency percentiles per server, polled every 2 seconds.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { MetricSample, MetricsFeed } from '../../src/console/api-types.js';
import { errorMessage, get, isSessionGone } from './api.js';
import { num } from './format.js';
import { LineChart, Swatch, type Series } from './chart.js';
import { Alert } from './ui.js';

const POLL_MS = 2000;
const KEEP = 150;

interface ServerSeries {
  endpoint: string;
  samples: MetricSample[];
  error?: string;
}

export function MetricsPage({ servers }: { servers: string[] }) {
  const [data, setData] = useState<ServerSeries[]>([]);
  const [intervalMs, setIntervalMs] = useState(0);
  const [error, setError] = useState('');
  const [loaded, setLoaded] = useState(false);
  const store = useRef(new Map<string, ServerSeries>());

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;

    async function poll() {
      const current = [...store.current.values()].filter((s) => !s.error && s.samples.length > 0);
      const since = current.length ? Math.min(...current.map((s) => s.samples[s.samples.length - 1]?.time ?? 0)) : 0;
      try {
        const feed = await get<MetricsFeed>(`/api/metrics?since=${since}`);
        if (!live) return;
        const next: ServerSeries[] = [];
        for (const srv of feed.servers) {
          const old = store.current.get(srv.endpoint);
          const last = old?.samples[old.samples.length - 1]?.time ?? -Infinity;
          const fresh = srv.samples.filter((s) => s.time > last).sort((a, b) => a.time - b.time);
          const samples = fresh.length ? [...(old?.samples ?? []), ...fresh].slice(-KEEP) : (old?.samples ?? []);
          const entry: ServerSeries = { endpoint: srv.endpoint, samples };
          if (srv.error) entry.error = srv.error;
          next.push(entry);
        }
        store.current = new Map(next.map((s) => [s.endpoint, s]));
        setData(next);
        setIntervalMs(feed.intervalMs);
        setError('');
        setLoaded(true);
      } catch (e) {
        if (!live || isSessionGone(e)) return;
        setError(errorMessage(e));
      }
      if (live) timer = setTimeout(() => void poll(), POLL_MS);
    }

    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);

  return (
    <>
      <h1 tabIndex={-1}>Metrics</h1>
      <p class="muted">
        Updated every 2 s; the charts show the last {KEEP} samples
        {intervalMs > 0 ? ` (one every ${num(intervalMs / 1000, 1)} s)` : ''}.
      </p>
      <Alert message={error} />
      {!loaded && !error && <p class="muted">Loading metrics…</p>}
      {loaded && data.length === 0 && (
        <p class="empty-state">{servers.length ? 'No server answered with metrics.' : 'The console knows no servers.'}</p>
      )}
      {data.map((s) => (
        <ServerMetrics key={s.endpoint} s={s} />
      ))}
    </>
  );
}

function rateLabel(v: number | undefined): string {
  return v === undefined ? '—' : num(v, 2);
}
function msLabel(v: number | null | undefined): string {
  return v === null || v === undefined ? 'none' : num(v, 2);
}

function ServerMetrics({ s }: { s: ServerSeries }) {
  const times = s.samples.map((x) => x.time);
  const latest = s.samples[s.samples.length - 1];
  const id = `m-${s.endpoint.replace(/[^a-zA-Z0-9_-]/g, '_')}`;

  const rates: (Series & { key: 'success' | 'error' | 'failure'; hint: string })[] = [
    { key: 'success', name: 'success', hint: '2xx', cls: 's-success', values: s.samples.map((x) => x.success) },
    { key: 'error', name: 'error', hint: '4xx', cls: 's-error', values: s.samples.map((x) => x.error) },
    { key: 'failure', name: 'failure', hint: '5xx', cls: 's-failure', values: s.samples.map((x) => x.failure) },
  ];
  const lat: (Series & { key: 'p50' | 'p90' | 'p99' })[] = [
    { key: 'p50', name: 'p50', cls: 's-p50', values: s.samples.map((x) => x.p50) },
    { key: 'p90', name: 'p90', cls: 's-p90', values: s.samples.map((x) => x.p90) },
    { key: 'p99', name: 'p99', cls: 's-p99', values: s.samples.map((x) => x.p99) },
  ];

  const rateAria = latest
    ? `Requests per second, latest: ${rates.map((r) => `${rateLabel(latest[r.key])} ${r.name}`).join(', ')}`
    : 'Requests per second, no samples yet';
  const latAria = !latest
    ? 'Latency percentiles (ms), no samples yet'
    : latest.p50 === null && latest.p90 === null && latest.p99 === null
      ? 'Latency percentiles (ms), latest: no requests'
      : `Latency percentiles (ms), latest: ${lat.map((l) => `${l.name} ${msLabel(latest[l.key])}`).join(', ')}`;

  return (
    <section class="metrics-server" aria-labelledby={id}>
      <h2 id={id} class="break">
        {s.endpoint}
      </h2>
      {s.error && <p class="error-text">This server's metrics could not be read: {s.error}</p>}
      <div class="charts">
        <figure class="card chart-fig">
          <figcaption>Requests per second</figcaption>
          <LineChart label={rateAria} times={times} series={rates} minTop={1} />
          <ul class="legend">
            {rates.map((r) => (
              <li key={r.key}>
                <Swatch cls={r.cls} />
                <span class="legend-name">
                  {r.name} <span class="muted">({r.hint})</span>
                </span>
                <span class="legend-value">{latest ? `${rateLabel(latest[r.key])}/s` : '—'}</span>
              </li>
            ))}
            <li>
              <span class="swatch-space" aria-hidden="true" />
              <span class="legend-name">active requests</span>
              <span class="legend-value">{latest ? String(latest.active) : '—'}</span>
            </li>
          </ul>
        </figure>
        <figure class="card chart-fig">
          <figcaption>Latency percentiles (ms)</figcaption>
          <LineChart label={latAria} times={times} series={lat} minTop={1} />
          <ul class="legend">
            {lat.map((l) => (
              <li key={l.key}>
                <Swatch cls={l.cls} />
                <span class="legend-name">{l.name}</span>
                <span class="legend-value">
                  {latest ? (latest[l.key] === null ? 'no requests' : `${msLabel(latest[l.key])} ms`) : '—'}
                </span>
              </li>
            ))}
          </ul>
        </figure>
      </div>
    </section>
  );
}
