/**
 * Request routing with Go `http.ServeMux` semantics (protocol.md §1.2), which KES clients rely on:
 * - unclean paths (`//`, `/./`, `/../`) are redirected (301) to the cleaned path;
 * - a route path ending in `/` is a subtree: it matches every path below it, longest wins;
 * - a subtree root requested without its trailing slash is redirected (301) to it, query kept;
 * - exact routes match only themselves; anything else is Go's 404 `404 page not found`.
 */

export type RouteMatch<R> =
  | { kind: 'route'; route: R; resource: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'not-found' };

export class Router<R extends { path: string }> {
  private readonly exact = new Map<string, R>();
  private readonly subtrees = new Map<string, R>();
  /** Route matches (never redirects, which keep the query) of recent short paths. */
  private readonly recent = new Map<string, RouteMatch<R>>();

  constructor(routes: readonly R[]) {
    for (const r of routes) {
      this.exact.set(r.path, r);
      if (r.path.endsWith('/')) this.subtrees.set(r.path, r);
    }
  }

  /**
   * @param path the percent-decoded URL path
   * @param query the raw query string without `?` (kept on redirects)
   */
  match(path: string, query = ''): RouteMatch<R> {
    const known = this.recent.get(path);
    if (known) return known;
    const m = this.resolve(path, query);
    if (m.kind === 'route' && path.length <= RECENT_PATH_LENGTH) {
      // Clients repeat the same few paths (one key name per bucket): remember recent matches,
      // forgetting all of them when the table is full so memory stays bounded.
      if (this.recent.size >= RECENT_MATCHES) this.recent.clear();
      this.recent.set(path, m);
    }
    return m;
  }

  private resolve(path: string, query: string): RouteMatch<R> {
    const clean = cleanPath(path);
    if (clean !== path) return { kind: 'redirect', location: clean + querySuffix(query) };

    const exact = this.exact.get(path);
    if (exact) return { kind: 'route', route: exact, resource: '' };
    // The longest subtree that contains path: try its prefixes ending in '/', longest first.
    for (let i = path.lastIndexOf('/'); i >= 0; i = i > 0 ? path.lastIndexOf('/', i - 1) : -1) {
      const r = this.subtrees.get(path.slice(0, i + 1));
      if (r) return { kind: 'route', route: r, resource: path.slice(i + 1) };
    }
    if (this.exact.has(path + '/')) return { kind: 'redirect', location: path + '/' + querySuffix(query) };
    return { kind: 'not-found' };
  }
}

/** How many route matches the router remembers, of paths up to this length (names: 80). */
const RECENT_MATCHES = 4096;
const RECENT_PATH_LENGTH = 256;

const querySuffix = (query: string) => (query ? `?${query}` : '');

/**
 * Go's `path.Clean` as ServeMux applies it: resolves `.`/`..` and repeated slashes, always
 * rooted, and keeps a trailing slash.
 */
export function cleanPath(p: string): string {
  if (p.startsWith('/') && !p.includes('//') && !p.includes('/.')) return p;
  if (p === '') return '/';
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  let clean = '/' + parts.join('/');
  if (p.endsWith('/') && clean !== '/') clean += '/';
  return clean;
}
