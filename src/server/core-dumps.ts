/**
 * Keeps key material out of core dumps where the operating system allows it without native
 * code. On Linux, `/proc/self/coredump_filter` selects the memory mappings a core dump holds;
 * 0 excludes all of them (heap, stacks, mapped files), so a crash writes no cached keys, data
 * keys or TLS private key to disk. The setting is inherited by the worker processes. Elsewhere
 * (or where /proc is not writable) nothing changes: SECURITY.md tells how to turn core dumps off.
 */
import { writeFileSync } from 'node:fs';

/** Reports whether this process's memory is now excluded from core dumps. */
export function excludeMemoryFromCoreDumps(): boolean {
  try {
    writeFileSync('/proc/self/coredump_filter', '0');
    return true;
  } catch {
    return false;
  }
}
