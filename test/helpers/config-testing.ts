/** Helpers for the config tests in src/config. */
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig, type ParseConfigOptions } from '../../src/config/parse-config.js';
import type { ServerConfig } from '../../src/config/types.js';

/** Marks the line an error must point at, as a YAML comment. */
export const HERE = '#<';

export const ADMIN = 'admin:\n  identity: disabled\n';
export const TLS = 'tls:\n  key: ./private.key\n  cert: ./public.crt\n';
export const FS = 'keystore:\n  fs:\n    path: /tmp/keys\n';

/** A config of the given sections, with admin, tls and keystore added when not given. */
export function yml(...sections: string[]): string {
  const text = sections.join('');
  const has = (key: string) => new RegExp(`^${key}:`, 'm').test(text);
  return (has('admin') || has('root') ? '' : ADMIN) + (has('tls') ? '' : TLS) + text + (has('keystore') ? '' : FS);
}

/** Parses text as `kes.yml` with the given env (default none). */
export function parse(text: string, options: ParseConfigOptions = {}): ServerConfig {
  return parseConfig(text, { env: {}, filename: 'kes.yml', ...options });
}

/**
 * Asserts that parsing text fails with a ConfigError for field ('' for the top level), at the line marked with HERE
 * (no line when nothing is marked), whose message has the `kes.yml:<line>: <field>: ` prefix
 * and matches reason.
 */
export function assertConfigError(text: string, field: string, reason: RegExp, options: ParseConfigOptions = {}): void {
  const marked = text.split('\n').findIndex((line) => line.includes(HERE));
  const line = marked < 0 ? undefined : marked + 1;
  assert.throws(
    () => parse(text, options),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
      assert.equal(err.field ?? '', field, err.message);
      assert.equal(err.line, line, err.message);
      const where = line === undefined ? 'kes.yml' : `kes.yml:${line}`;
      const prefix = field === '' ? `${where}: ` : `${where}: ${field}: `;
      assert.ok(err.message.startsWith(prefix), `${JSON.stringify(err.message)} does not start with ${JSON.stringify(prefix)}`);
      assert.match(err.reason, reason);
      return true;
    },
  );
}
