// The app shell: session (login), header with navigation, hash routing.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { SessionInfo } from '../../src/console/api-types.js';
import { currentSession, errorMessage, isSessionGone, login, logout, setUnauthorizedHandler } from './api.js';
import { shortId } from './format.js';
import { Alert } from './ui.js';
import { LoginForm } from './login.js';
import { KeysPage } from './keys.js';
import { AccessPage } from './access.js';
import { StatusPage } from './status.js';
import { MetricsPage } from './metrics.js';
import { AuditPage } from './audit.js';

type Page = 'keys' | 'access' | 'status' | 'metrics' | 'audit';

const PAGES: { id: Page; title: string }[] = [
  { id: 'keys', title: 'Keys' },
  { id: 'access', title: 'Access' },
  { id: 'status', title: 'Status' },
  { id: 'metrics', title: 'Metrics' },
  { id: 'audit', title: 'Audit' },
];

interface Route {
  page: Page;
  /** #/keys/<name>: the key whose details are shown. */
  key: string | null;
}

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  const page = PAGES.find((p) => p.id === parts[0])?.id ?? 'keys';
  let key: string | null = null;
  if (page === 'keys' && parts.length > 1) {
    const raw = parts.slice(1).join('/');
    try {
      key = decodeURIComponent(raw);
    } catch {
      key = raw;
    }
    if (key === '') key = null;
  }
  return { page, key };
}

function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return parseRoute(hash);
}

/** Removes ?token= from the address bar, keeping the rest of the URL and the hash. */
function dropTokenFromUrl(): void {
  const params = new URLSearchParams(location.search);
  if (!params.has('token')) return;
  params.delete('token');
  const search = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`);
}

type SessionState =
  | { phase: 'loading' }
  | { phase: 'error'; message: string }
  | { phase: 'login'; message: string }
  | { phase: 'ready'; session: SessionInfo };

export function App() {
  const [state, setState] = useState<SessionState>({ phase: 'loading' });

  useEffect(() => {
    setUnauthorizedHandler(() => setState({ phase: 'login', message: 'Your session has ended. Sign in again.' }));
    void start();
  }, []);

  async function start() {
    try {
      const session = await currentSession();
      const token = new URLSearchParams(location.search).get('token');
      if (session) {
        dropTokenFromUrl();
        setState({ phase: 'ready', session });
        return;
      }
      if (token) {
        try {
          const info = await login(token);
          setState({ phase: 'ready', session: info });
        } catch (e) {
          setState({ phase: 'login', message: errorMessage(e) });
        } finally {
          dropTokenFromUrl();
        }
        return;
      }
      setState({ phase: 'login', message: '' });
    } catch (e) {
      dropTokenFromUrl();
      setState({ phase: 'error', message: errorMessage(e) });
    }
  }

  if (state.phase === 'ready') {
    return <Console session={state.session} onSignedOut={(message) => setState({ phase: 'login', message })} />;
  }
  return (
    <>
      <header class="topbar">
        <div class="topbar-inner">
          <span class="brand">openkes console</span>
        </div>
      </header>
      <main id="main" class="content narrow">
        {state.phase === 'loading' && <p class="muted">Loading…</p>}
        {state.phase === 'error' && (
          <>
            <h1>openkes console</h1>
            <Alert message={state.message} />
            <button type="button" onClick={() => void start()}>
              Try again
            </button>
          </>
        )}
        {state.phase === 'login' && (
          <LoginForm message={state.message} onSession={(session) => setState({ phase: 'ready', session })} />
        )}
      </main>
    </>
  );
}

function Console({ session, onSignedOut }: { session: SessionInfo; onSignedOut: (message: string) => void }) {
  const route = useRoute();
  const title = PAGES.find((p) => p.id === route.page)?.title ?? 'Keys';
  const first = useRef(true);

  useEffect(() => {
    document.title = `${route.key ?? title} – openkes console`;
  }, [title, route.key]);

  // After a navigation, move the focus to the new view's heading (not on the first render).
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const target =
      document.querySelector<HTMLElement>('main [data-focus-heading]') ?? document.querySelector<HTMLElement>('main h1');
    target?.focus();
  }, [route.page, route.key]);

  async function signOut() {
    let message = '';
    try {
      await logout();
    } catch (e) {
      // the page drops the session anyway; a server that did not answer is worth saying
      if (!isSessionGone(e)) message = `Signing out on the server failed: ${errorMessage(e)}`;
    }
    onSignedOut(message);
  }

  return (
    <>
      <a class="skip" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <span class="brand">openkes console</span>
          <nav aria-label="Main">
            <ul>
              {PAGES.map((p) => (
                <li key={p.id}>
                  <a href={`#/${p.id}`} aria-current={route.page === p.id ? 'page' : undefined}>
                    {p.title}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div class="who">
            <span class="who-id" title={session.identity}>
              <span class="who-label">Signed in as </span>
              <span class="mono">{shortId(session.identity)}</span>
              {session.isAdmin ? ' (admin)' : ''}
            </span>
            <button type="button" class="secondary" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" class="content" tabIndex={-1}>
        {route.page === 'keys' && <KeysPage keyName={route.key} />}
        {route.page === 'access' && <AccessPage />}
        {route.page === 'status' && <StatusPage />}
        {route.page === 'metrics' && <MetricsPage servers={session.servers} />}
        {route.page === 'audit' && <AuditPage />}
      </main>
    </>
  );
}

/** The skip link must not change the hash (that is the router's). */
function skipToMain(e: Event) {
  e.preventDefault();
  document.getElementById('main')?.focus();
}
