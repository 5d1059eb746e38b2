/**
 * The page's files, built by `npm run build` into dist/web/ (web/, scripts/build-console.mjs).
 * Only the files found there at start are served, by name: no path from a request reaches the
 * file system. Paths without a file extension are the page's own routes and get index.html.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** dist/web, from this module in dist/console/ or (run from source) src/console/. */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

export class StaticFiles {
  private readonly files = new Map<string, Buffer>();

  /** @throws Error when dir has no index.html (the page was not built) */
  constructor(readonly dir: string = DEFAULT_ASSETS_DIR) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      names = [];
    }
    for (const name of names) {
      if (extname(name) in TYPES) this.files.set(`/${name}`, readFileSync(join(dir, name)));
    }
    if (!this.files.has('/index.html')) throw new Error(`the console's page is not built (no index.html in ${dir}): run "npm run build"`);
  }

  async serve(pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const name = extname(pathname) === '' ? '/index.html' : pathname;
    const body = this.files.get(name);
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'content-length': body.length,
      // The page is small and changes with each build: always revalidate.
      'cache-control': name === '/index.html' ? 'no-store' : 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
