/**
 * Invariants of the code base (docs/architecture.md), checked on the sources so that later work
 * cannot undo them silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(SRC, '..');

/** Every source file under src/ (tests excluded), with its text. */
function sources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push({ file: relative(ROOT, path), text: readFileSync(path, 'utf8') });
    }
  };
  walk(SRC);
  return out;
}

test('no file under src/ cites a document outside the repository; cited documents exist', () => {
  const external = sources().filter((s) => /kes-spec|decisions\.md|kes-vectors|shared\/spec|guides\//.test(s.text));
  assert.deepEqual(external.map((s) => s.file), []);
  const missing: string[] = [];
  for (const { file, text } of sources()) {
    // `docs/keystores/aws.md`, `docs/minkms.md`, `minkms.md` (in docs/ or the root).
    for (const [, doc] of text.matchAll(/(?<![\w/-])((?:docs\/(?:[\w-]+\/)*)?[\w-]+\.md)\b/g)) {
      const path = doc!.includes('/') ? join(ROOT, doc!) : [join(ROOT, 'docs', doc!), join(ROOT, doc!)].find(existsSync);
      if (!path || !existsSync(path)) missing.push(`${file}: ${doc}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('CA bundles and the system roots are read only through pki/tls-files.ts', () => {
  const offenders = sources().filter(
    ({ file, text }) => file !== 'src/pki/tls-files.ts' && (/\brootCertificates\b/.test(text) || (/\breaddir(Sync)?\(/.test(text) && /\bdecodePem\b/.test(text))),
  );
  assert.deepEqual(offenders.map((s) => s.file), []);
});

test('the import graph of src/ has no cycle (static imports; lazy ones are import())', () => {
  const graph = new Map<string, string[]>();
  for (const { file, text } of sources()) {
    const deps: string[] = [];
    for (const [, kind, spec] of text.matchAll(/^(import|export)(?! type)[^'";]*?from '(\.[^']+)'/gm)) {
      void kind;
      deps.push(relative(ROOT, resolve(dirname(join(ROOT, file)), spec!.replace(/\.js$/, '.ts'))));
    }
    graph.set(file, deps);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') return void cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
    state.set(node, 'visiting');
    for (const dep of graph.get(node) ?? []) visit(dep, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  assert.deepEqual(cycles, []);
});

test('no error answer is written outside the catalogue', () => {
  const offenders: string[] = [];
  for (const { file, text } of sources()) {
    // The SDK builds errors from the messages it received; the catalogue is api/errors.ts.
    if (file.startsWith('src/client/') || file === 'src/api/errors.ts') continue;
    for (const m of text.matchAll(/new KesError\('[A-Z_]+',\s*(?!\s|undefined\b)[^)]/g)) offenders.push(`${file}: ${m[0]}`);
    for (const m of text.matchAll(/errorBody\((['`"])/g)) offenders.push(`${file}: ${m[0]}`);
  }
  assert.deepEqual(offenders, [], 'use new KesError(code) or kesError(code, variant, values) of api/errors.ts');
});
