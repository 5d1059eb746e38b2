/** `log.audit_file` (openkes): the tamper-evident audit file (docs/audit-log.md). */
import type { ConfigNode } from './config-node.js';
import type { AuditFileConfig } from './types.js';
import { DEFAULT_AUDIT_FILE } from './defaults.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The smallest `max_size`: room for a few records besides the checkpoints of each file. */
export const MIN_AUDIT_FILE_SIZE = 16 * KiB;
const MAX_AUDIT_FILE_SIZE = 1024 * GiB;

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: KiB, kb: 1000, kib: KiB, m: MiB, mb: 1e6, mib: MiB, g: GiB, gb: 1e9, gib: GiB };

/**
 * Parses a size: bytes, or a number with a unit (case-insensitive): `B`, `KiB`/`K`, `MiB`/`M`,
 * `GiB`/`G` (powers of 1024) or `KB`, `MB`, `GB` (powers of 1000); e.g. `100MiB`, `1.5 GiB`.
 * @returns the whole number of bytes, or undefined when the text is not a size
 */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m === null ? undefined : UNITS[m[2]!.toLowerCase()];
  if (m === null || unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** Reads `log.audit_file`; undefined when it is absent or null. */
export function readAuditFileConfig(node: ConfigNode): AuditFileConfig | undefined {
  if (node.isNull) return undefined;
  const path = node.required('path');
  let maxSize = DEFAULT_AUDIT_FILE.maxSize;
  const size = node.get('max_size');
  if (size !== undefined) {
    const text = size.text();
    const bytes = parseByteSize(text);
    if (bytes === undefined) throw size.error(`invalid size ${JSON.stringify(text)} (bytes, or a number with a unit such as 64KiB, 100MiB or 1GiB)`);
    if (bytes < MIN_AUDIT_FILE_SIZE || bytes > MAX_AUDIT_FILE_SIZE) throw size.error(`must be from 16KiB to 1024GiB, got ${text}`);
    maxSize = bytes;
  }
  const checkpointEvery = node.integer('checkpoint_every', 1, 1_000_000_000) ?? DEFAULT_AUDIT_FILE.checkpointEvery;
  const checkpointIntervalMs = node.duration('checkpoint_interval') ?? DEFAULT_AUDIT_FILE.checkpointIntervalMs;
  return { path, maxSize, checkpointEvery, checkpointIntervalMs };
}
