/** The server's version (package.json) and git commit (when run from a checkout). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  version: string;
  commit: string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function readCommit(): string {
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    try {
      return readFileSync(join(root, '.git', ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(join(root, '.git', 'packed-refs'), 'utf8');
      return packed.split('\n').find((l) => l.endsWith(` ${ref}`))?.split(' ')[0] ?? '';
    }
  } catch {
    return '';
  }
}

let cached: BuildInfo | undefined;

/** Read once: package.json's version and the commit of the checkout the code runs from. */
export function buildInfo(): BuildInfo {
  if (!cached) {
    let version = '<unknown>';
    try {
      version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? version;
    } catch {
      // Running without package.json next to the code: keep '<unknown>' as KES does.
    }
    cached = { version, commit: readCommit() };
  }
  return cached;
}
