/**
 * Every config the project ships or shows loads without a single warning: the fixtures, the
 * example config, and every YAML block of the docs (fragments completed with admin, tls and
 * keystore). A warning here is a reader that does not mark a field it supports, or a doc typo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { yml } from '../../test/helpers/config-testing.js';
import { ConfigError } from './config-error.js';
import type { ConfigWarning } from './config-warning.js';
import { parseConfig } from './parse-config.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Fixtures that are meant to fail. */
const INVALID_FIXTURES = new Set(['legacy-v0.13.yml']);

/** Doc blocks that are not configs openkes loads, and why. */
const NOT_CONFIGS: Record<string, string> = {
  'docs/protocol.md#1': 'a template with <placeholders>',
  'docs/protocol.md#2': 'a template with <placeholders>',
  'docs/config.md#1': 'shows ${NAME} in tls only (no cert)',
  'docs/config.md#6': 'the vault reference lists every authentication method at once',
};

/** An environment for every `${NAME}` in text: a distinct identity per name. */
function envFor(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name] of text.matchAll(/\$\{\s*([^}]*?)\s*\}/g)) env[name!] = createHash('sha256').update(name!).digest('hex');
  return env;
}

/** Parses text, failing on warnings; the ConfigError when it does not load. */
function warningsOf(text: string, filename: string, baseDir: string): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  parseConfig(text, { env: envFor(text), filename, baseDir, warnings });
  return warnings;
}

const fixtures = readdirSync(fileURLToPath(new URL('testdata/', import.meta.url))).filter((f) => f.endsWith('.yml') && !INVALID_FIXTURES.has(f));

for (const name of fixtures) {
  test(`testdata/${name} loads without warnings`, () => {
    const text = readFileSync(fileURLToPath(new URL(`testdata/${name}`, import.meta.url)), 'utf8');
    assert.deepEqual(warningsOf(text, name, here).map((w) => w.message), []);
  });
}

test('docs/kes-config.example.yml loads without warnings, also with its commented fields', () => {
  const text = readFileSync(`${repo}docs/kes-config.example.yml`, 'utf8');
  assert.deepEqual(warningsOf(text, 'kes-config.example.yml', repo).map((w) => w.message), []);
  // Uncomment the optional fields (`# name: value`, keeping the indentation after the `# `).
  const fields = 'password|ca|proxy|identities|header|cert|ticket_lifetime|max_connections|audit_file|path|max_size|checkpoint_every|checkpoint_interval|backup|key';
  const fixed = text.replace(new RegExp(`^(\\s*)# (\\s*(?:${fields}):)`, 'gm'), '$1$2');
  assert.ok((fixed.match(/^\s*(ticket_lifetime|max_connections|audit_file|backup):/gm) ?? []).length === 4, 'the optional fields are uncommented');
  assert.deepEqual(warningsOf(fixed, 'kes-config.example.yml', repo).map((w) => w.message), []);
});

/** The ```yaml blocks of a Markdown file, indentation removed, with their names `file#n`. */
function yamlBlocks(file: string): Array<[string, string]> {
  const text = readFileSync(`${repo}${file}`, 'utf8');
  const blocks: Array<[string, string]> = [];
  for (const m of text.matchAll(/^( *)```ya?ml\n([\s\S]*?)^\1```/gm)) {
    const indent = m[1]!.length;
    blocks.push([`${file}#${blocks.length + 1}`, m[2]!.split('\n').map((line) => line.slice(indent)).join('\n')]);
  }
  return blocks;
}

const markdown = [
  'README.md',
  ...readdirSync(`${repo}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  ...readdirSync(`${repo}docs/keystores`).filter((f) => f.endsWith('.md')).map((f) => `docs/keystores/${f}`),
];

test('every YAML block of the docs loads without warnings (fragments completed)', () => {
  const skipped: string[] = [];
  let loaded = 0;
  for (const file of markdown) {
    for (const [name, block] of yamlBlocks(file)) {
      try {
        assert.deepEqual(warningsOf(yml(block), name, '/').map((w) => w.message), [], name);
        loaded++;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        assert.ok(name in NOT_CONFIGS, `${name} does not load: ${err.message}`);
        skipped.push(name);
      }
    }
  }
  assert.deepEqual(skipped.sort(), Object.keys(NOT_CONFIGS).sort(), 'NOT_CONFIGS lists only blocks that do not load');
  assert.ok(loaded >= 10, `only ${loaded} blocks loaded`);
});
