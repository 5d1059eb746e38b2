// Status: a card per server, refreshed every 5 seconds.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ServerStatus, StatusOverview } from '../../src/console/api-types.js';
import { errorMessage, get, isSessionGone } from './api.js';
import { humanBytes, humanDuration, isoTime, localTime, num } from './format.js';
import { Alert, Fact } from './ui.js';

const REFRESH_MS = 5000;

export function StatusPage() {
  const [overview, setOverview] = useState<StatusOverview | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const [refreshedAt, setRefreshedAt] = useState<number | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const live = useRef(true);
  const inFlight = useRef(false);

  async function refresh() {
    if (inFlight.current) return;
    inFlight.current = true;
    clearTimeout(timer.current);
    setLoading(true);
    try {
      const o = await get<StatusOverview>('/api/status');
      if (!live.current) return;
      setOverview(o);
      setError('');
      setRefreshedAt(Date.now());
    } catch (e) {
      if (!live.current || isSessionGone(e)) return;
      setError(errorMessage(e));
    } finally {
      inFlight.current = false;
      if (live.current) {
        setLoading(false);
        timer.current = setTimeout(() => void refresh(), REFRESH_MS);
      }
    }
  }

  useEffect(() => {
    live.current = true;
    void refresh();
    return () => {
      live.current = false;
      clearTimeout(timer.current);
    };
  }, []);

  return (
    <>
      <h1 tabIndex={-1}>Status</h1>
      <div class="toolbar">
        <button type="button" onClick={() => void refresh()}>
          Refresh
        </button>
        <p class="muted">
          {refreshedAt !== null ? (
            <>
              Last refreshed at{' '}
              <time dateTime={isoTime(refreshedAt)} title={isoTime(refreshedAt)}>
                {localTime(refreshedAt)}
              </time>
              {' · refreshes every 5 s'}
            </>
          ) : loading ? (
            'Loading status…'
          ) : null}
        </p>
      </div>
      <Alert message={error} />
      {overview && overview.servers.length === 0 && <p class="empty-state">The console knows no servers.</p>}
      {overview && (
        <div class="grid-cards">
          {overview.servers.map((s) => (
            <ServerCard key={s.endpoint} s={s} />
          ))}
        </div>
      )}
    </>
  );
}

function ServerCard({ s }: { s: ServerStatus }) {
  const cache = s.cache;
  const lookups = cache ? cache.hits + cache.misses : 0;
  return (
    <article class="card server" aria-labelledby={`srv-${s.endpoint}`}>
      <div class="card-head">
        <h2 id={`srv-${s.endpoint}`} class="break">
          {s.endpoint}
        </h2>
        <span class={s.online ? 'badge ok' : 'badge bad'}>{s.online ? 'Online' : 'Offline'}</span>
      </div>
      {s.error && <p class="error-text">{s.error}</p>}
      <dl class="facts">
        {s.version !== undefined && <Fact label="Version">{s.version}</Fact>}
        {s.uptime !== undefined && <Fact label="Uptime">{humanDuration(s.uptime)}</Fact>}
        {(s.os || s.arch) && <Fact label="Platform">{[s.os, s.arch].filter(Boolean).join('/')}</Fact>}
        {s.keyStore && (
          <Fact label="Key store">
            {`${s.keyStore.state}${s.keyStore.latencyMs !== undefined ? `, ${s.keyStore.latencyMs.toFixed(2)} ms` : ''}`}
          </Fact>
        )}
        {cache && (
          <>
            <Fact label="Cache entries">{String(cache.entries)}</Fact>
            <Fact label="Cache hits / misses">
              {`${cache.hits} / ${cache.misses}${lookups > 0 ? ` (${num((cache.hits / lookups) * 100, 1)} % hits)` : ''}`}
            </Fact>
          </>
        )}
        {s.cpus !== undefined && (
          <Fact label="CPUs">
            {s.usableCpus !== undefined && s.usableCpus !== s.cpus ? `${s.usableCpus} of ${s.cpus} usable` : String(s.cpus)}
          </Fact>
        )}
        {s.heapBytes !== undefined && <Fact label="Heap">{humanBytes(s.heapBytes)}</Fact>}
        {s.rttMs !== undefined && <Fact label="Round trip">{`${s.rttMs.toFixed(2)} ms`}</Fact>}
      </dl>
    </article>
  );
}
