#!/usr/bin/env node
// Builds the console page into dist/web/: web/src/main.tsx bundled and minified into app.js
// (esbuild, Preact), next to copies of web/index.html and web/styles.css. `kes console`
// serves that folder as it is; nothing of it is needed at run time but those files.
//
//   node scripts/build-console.mjs
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const web = join(root, 'web');
const out = join(root, 'dist', 'web');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const started = Date.now();
await build({
  absWorkingDir: root,
  entryPoints: [join(web, 'src', 'main.tsx')],
  outfile: join(out, 'app.js'),
  tsconfig: join(web, 'tsconfig.json'),
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  platform: 'browser',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  sourcemap: false,
  charset: 'utf8',
  logLevel: 'warning',
});

for (const file of ['index.html', 'styles.css']) copyFileSync(join(web, file), join(out, file));

function size(file) {
  const bytes = statSync(join(out, file)).size;
  const gz = gzipSync(readFileSync(join(out, file))).length;
  return `${file} ${(bytes / 1024).toFixed(1)} KB (${(gz / 1024).toFixed(1)} KB gzip)`;
}
console.log(
  `console page: dist/web/ ${['app.js', 'styles.css', 'index.html'].map(size).join(', ')} in ${Date.now() - started} ms`,
);
