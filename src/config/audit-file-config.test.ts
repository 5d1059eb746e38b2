import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseByteSize } from './audit-file-config.js';
import { assertConfigError, HERE, parse, yml } from '../../test/helpers/config-testing.js';

const MiB = 1024 * 1024;

test('log.audit_file is off unless set', () => {
  assert.equal(parse(yml('log:\n  audit: on\n')).log.auditFile, undefined);
  assert.equal(parse(yml('log:\n  audit_file:\n')).log.auditFile, undefined);
});

test('log.audit_file: path, and defaults for the rest', () => {
  assert.deepEqual(parse(yml('log:\n  audit_file:\n    path: /var/log/kes/audit.log\n')).log.auditFile, {
    path: '/var/log/kes/audit.log',
    maxSize: 100 * MiB,
    checkpointEvery: 1000,
    checkpointIntervalMs: 60_000,
  });
  const c = parse(yml('log:\n  audit_file:\n    path: ${AUDIT}\n    max_size: 1GiB\n    checkpoint_every: 50\n    checkpoint_interval: 0\n'), { env: { AUDIT: 'audit.log' } });
  assert.deepEqual(c.log.auditFile, { path: 'audit.log', maxSize: 1024 * MiB, checkpointEvery: 50, checkpointIntervalMs: 0 });
});

test('log.audit_file errors name the field and line', () => {
  assertConfigError(yml(`log:\n  audit_file: /var/log/audit.log  ${HERE}\n`), 'log.audit_file', /must be a mapping/);
  assertConfigError(yml(`log:\n  audit_file:  ${HERE}\n    max_size: 1MiB\n`), 'log.audit_file.path', /required/);
  assertConfigError(yml(`log:\n  audit_file:\n    path: a.log\n    max_size: lots  ${HERE}\n`), 'log.audit_file.max_size', /invalid size "lots" \(bytes, or a number with a unit/);
  assertConfigError(yml(`log:\n  audit_file:\n    path: a.log\n    max_size: 1KiB  ${HERE}\n`), 'log.audit_file.max_size', /must be from 16KiB to 1024GiB, got 1KiB/);
  assertConfigError(yml(`log:\n  audit_file:\n    path: a.log\n    checkpoint_every: 0  ${HERE}\n`), 'log.audit_file.checkpoint_every', /must be an integer from 1 to 1000000000, got "0"/);
  assertConfigError(yml(`log:\n  audit_file:\n    path: a.log\n    checkpoint_interval: soon  ${HERE}\n`), 'log.audit_file.checkpoint_interval', /invalid duration "soon"/);
});

test('sizes: bytes, binary and decimal units, case-insensitive', () => {
  const cases: Array<[string, number | undefined]> = [
    ['65536', 65536],
    ['64KiB', 65536],
    ['64k', 65536],
    ['100MiB', 100 * MiB],
    ['100 mb', 100e6],
    ['1.5GiB', 1.5 * 1024 * MiB],
    ['2GB', 2e9],
    ['12B', 12],
    ['-1MiB', undefined],
    ['1 TiB', undefined],
    ['MiB', undefined],
    ['', undefined],
  ];
  for (const [text, bytes] of cases) assert.equal(parseByteSize(text), bytes, text);
});
