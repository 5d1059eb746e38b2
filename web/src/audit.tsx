// Audit: the live audit log of the servers (Server-Sent Events), newest first, filterable,
// pausable, downloadable as NDJSON.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AuditEntry, AuditProblem } from '../../src/console/api-types.js';
import { get, isSessionGone } from './api.js';
import { plural } from './format.js';
import { Field, Ident, TableHead, TableWrap, TextField, Time } from './ui.js';

const KEEP = 1000;
const FLUSH_MS = 100;
const RECONNECT_MS = 3000;

interface Row extends AuditEntry {
  seq: number;
}

type Conn = 'connecting' | 'live' | 'reconnecting' | 'closed';

const CONN_TEXT: Record<Conn, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

function isEntry(v: unknown): v is AuditEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e.time === 'string' && typeof e.path === 'string' && typeof e.status === 'number';
}

/** Status filter: 'all', '2xx'/'4xx'/'5xx', or an exact code. */
function statusMatches(filter: string, status: number): boolean {
  if (filter === 'all' || filter === '') return true;
  const cls = /^([1-5])xx$/.exec(filter);
  if (cls) return Math.floor(status / 100) === Number(cls[1]);
  return String(status) === filter;
}

/** ISO 8601 basic format (no colons, so it is a valid file name everywhere): 20240501T134512Z. */
function fileTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function AuditPage() {
  const [rows, setRows] = useState<Row[]>([]);
  const [pendingCount, setPendingCount] = useState(0);
  const [paused, setPaused] = useState(false);
  const [conn, setConn] = useState<Conn>('connecting');
  // Servers whose audit stream is refused or broken, and why.
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [identity, setIdentity] = useState('');
  const [path, setPath] = useState('');
  const [status, setStatus] = useState('all');

  // Arrived but not yet shown: flushed every FLUSH_MS, or held while paused.
  const incoming = useRef<Row[]>([]);
  const pausedRef = useRef(false);
  const seq = useRef(0);

  useEffect(() => {
    let es: EventSource | null = null;
    let live = true;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;

    const flush = () => {
      flushTimer = undefined;
      if (!live) return;
      if (pausedRef.current) {
        setPendingCount(Math.min(incoming.current.length, KEEP));
        return;
      }
      const batch = incoming.current;
      incoming.current = [];
      if (batch.length === 0) return;
      setRows((old) => [...batch.reverse(), ...old].slice(0, KEEP));
    };

    const onAudit = (ev: MessageEvent<string>) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!isEntry(parsed)) return;
      incoming.current.push({ ...parsed, seq: ++seq.current });
      if (incoming.current.length > KEEP) incoming.current.splice(0, incoming.current.length - KEEP);
      flushTimer ??= setTimeout(flush, FLUSH_MS);
    };

    const onProblem = (ev: MessageEvent<string>) => {
      let p: AuditProblem;
      try {
        p = JSON.parse(ev.data) as AuditProblem;
      } catch {
        return;
      }
      setProblems((old) => {
        const next = { ...old };
        if (p.message === '') delete next[p.server];
        else next[p.server] = p.message;
        return next;
      });
    };

    const connect = () => {
      if (!live) return;
      setConn((c) => (c === 'live' ? 'reconnecting' : c));
      es = new EventSource('/api/audit');
      es.addEventListener('audit', onAudit as EventListener);
      es.addEventListener('problem', onProblem as EventListener);
      es.onopen = () => live && setConn('live');
      es.onerror = () => {
        if (!live || !es) return;
        if (es.readyState === EventSource.CLOSED) {
          // The server refused the stream (e.g. the session is gone): ask, then try again.
          es.close();
          es = null;
          setConn('reconnecting');
          // get() answers a 401 by showing the login form; otherwise try again in a while.
          get<unknown>('/api/session')
            .then(() => {
              if (live) retryTimer = setTimeout(connect, RECONNECT_MS);
            })
            .catch((e: unknown) => {
              if (!live) return;
              if (isSessionGone(e)) setConn('closed');
              else retryTimer = setTimeout(connect, RECONNECT_MS);
            });
        } else {
          setConn('reconnecting');
        }
      };
    };

    connect();
    return () => {
      live = false;
      clearTimeout(flushTimer);
      clearTimeout(retryTimer);
      es?.close();
    };
  }, []);

  function togglePause() {
    if (pausedRef.current) {
      pausedRef.current = false;
      setPaused(false);
      setPendingCount(0);
      const batch = incoming.current;
      incoming.current = [];
      if (batch.length) setRows((old) => [...batch.reverse(), ...old].slice(0, KEEP));
    } else {
      pausedRef.current = true;
      setPaused(true);
      setPendingCount(incoming.current.length);
    }
  }

  const codes = useMemo(() => {
    const set = new Set<number>();
    for (const r of rows) set.add(r.status);
    return [...set].sort((a, b) => a - b);
  }, [rows]);

  const idNeedle = identity.trim().toLowerCase();
  const pathNeedle = path.trim().toLowerCase();
  const shown = useMemo(
    () =>
      rows.filter(
        (r) =>
          (!idNeedle || r.identity.toLowerCase().includes(idNeedle)) &&
          (!pathNeedle || r.path.toLowerCase().includes(pathNeedle)) &&
          statusMatches(status, r.status),
      ),
    [rows, idNeedle, pathNeedle, status],
  );

  function download() {
    // Oldest first, one JSON object per line: as a log file reads.
    const lines = [...shown].reverse().map(({ seq: _seq, ...entry }) => JSON.stringify(entry));
    const blob = new Blob(lines.length ? [lines.join('\n') + '\n'] : [], { type: 'application/x-ndjson' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `openkes-audit-${fileTime(new Date())}.ndjson`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  const filtered = idNeedle !== '' || pathNeedle !== '' || status !== 'all';

  return (
    <>
      <h1 tabIndex={-1}>Audit</h1>
      <div class="toolbar">
        <p class="conn">
          <span class="muted">Connection: </span>
          <span role="status" class={`conn-state ${conn}`}>
            {CONN_TEXT[conn]}
          </span>
        </p>
        <button type="button" class="secondary" onClick={togglePause}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        {paused && <p class="pending">{plural(pendingCount, 'new event')}</p>}
        <button type="button" class="secondary" onClick={download} disabled={shown.length === 0}>
          Download NDJSON
        </button>
      </div>
      {Object.keys(problems).length > 0 && (
        <ul class="alert stream-problems" aria-label="Audit streams not followed">
          {Object.entries(problems).map(([server, message]) => (
            <li key={server}>
              No audit events from {server}: {message}
            </li>
          ))}
        </ul>
      )}
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <TextField id="audit-identity" label="Identity" value={identity} onValue={setIdentity} />
        <TextField id="audit-path" label="Path" value={path} onValue={setPath} />
        <Field id="audit-status" label="Status">
          <select id="audit-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="all">All</option>
            <option value="2xx">2xx</option>
            <option value="4xx">4xx</option>
            <option value="5xx">5xx</option>
            {status !== 'all' && !/xx$/.test(status) && !codes.includes(Number(status)) && (
              <option value={status}>{status}</option>
            )}
            {codes.map((c) => (
              <option key={c} value={String(c)}>
                {c}
              </option>
            ))}
          </select>
        </Field>
      </form>
      <p class="muted">
        {rows.length === 0
          ? 'No events yet: requests to the servers show up here as they happen.'
          : filtered
            ? `${plural(shown.length, 'event')} of ${rows.length} match the filters.`
            : `${plural(rows.length, 'event')} (the newest ${KEEP} are kept).`}
      </p>
      {shown.length > 0 && (
        <TableWrap scrollLabel="Audit entries, scrollable">
          <table aria-label="Audit log" class="audit">
            <TableHead columns={['Time', 'Server', 'Identity', 'IP', 'Path', 'Status', 'Duration (ms)']} />
            <tbody>
              {shown.map((r) => (
                <tr key={r.seq}>
                  <td class="nowrap">
                    <Time value={r.time} />
                  </td>
                  <td>{r.server}</td>
                  <td>
                    <Ident id={r.identity} />
                  </td>
                  <td class="mono">{r.ip}</td>
                  <td class="mono break">{r.path}</td>
                  <td class={r.status >= 500 ? 'num bad' : r.status >= 400 ? 'num warn' : 'num'}>{r.status}</td>
                  <td class="num">{Number.isFinite(r.durationMs) ? r.durationMs.toFixed(2) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
