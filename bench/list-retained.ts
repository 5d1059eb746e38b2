/**
 * The heap a filesystem-store listing keeps alive, measured in-process with forced GCs (peak RSS
 * also counts garbage the GC has not collected yet, which grows with the allocation rate):
 *
 *   node --expose-gc --import tsx bench/list-retained.ts <dir>   → {"listed":N,"retainedMax":bytes}
 */
import { FsKeyStore } from '../src/keystore/fs/fs.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const store = await FsKeyStore.open(process.argv[2]!);
gc();
const base = process.memoryUsage().heapUsed;
let listed = 0;
let retainedMax = 0;
for await (const _ of store.list('')) {
  if (++listed % 5000 === 0) {
    gc();
    retainedMax = Math.max(retainedMax, process.memoryUsage().heapUsed - base);
  }
}
process.stdout.write(JSON.stringify({ listed, retainedMax }) + '\n');
