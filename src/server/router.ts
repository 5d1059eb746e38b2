/**
 * Request routing with Go `http.ServeMux` semantics (kes-spec §1.2), which KES clients rely on:
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
  private readonly subtrees: R[];

  constructor(routes: readonly R[]) {
    for (const r of routes) this.exact.set(r.path, r);
    this.subtrees = routes.filter((r) => r.path.endsWith('/')).sort((a, b) => b.path.length - a.path.length);
  }

  /**
   * @param path the percent-decoded URL path
   * @param query the raw query string without `?` (kept on redirects)
   */
  match(path: string, query = ''): RouteMatch<R> {
    const suffix = query ? `?${query}` : '';
    const clean = cleanPath(path);
    if (clean !== path) return { kind: 'redirect', location: clean + suffix };

    const exact = this.exact.get(path);
    if (exact) return { kind: 'route', route: exact, resource: '' };
    for (const r of this.subtrees) {
      if (path.startsWith(r.path)) return { kind: 'route', route: r, resource: path.slice(r.path.length) };
    }
    if (this.exact.has(path + '/')) return { kind: 'redirect', location: path + '/' + suffix };
    return { kind: 'not-found' };
  }
}

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
