/**
 * The tamper-evident audit file (`log.audit_file`, docs/audit-log.md): appends every audit
 * event as a JSON line chained to the previous line by its SHA-256, and signed checkpoints when
 * a file is opened, every `checkpointEvery` records or `checkpointIntervalMs`, on reload, on
 * rotation and at close. Rotates by size to `<path>.<UTC time>`, the new file's first
 * checkpoint continuing the chain of the old file's last line.
 *
 * I/O is synchronous and batched: lines produced in one turn of the event loop go to the file
 * in a single write, so records are never interleaved or split. A failed write is rolled back
 * (the file truncated to its last complete line) and the lost events are counted in a `lost`
 * line once writing works again: the chain on disk stays intact. Failures are reported, never
 * thrown to the caller of {@link AuditFile.write}.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, existsSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Timestamp } from '../util/time.js';
import { systemErrorText } from '../util/system-error.js';
import type { AuditFileConfig } from '../config/types.js';
import { chainLine, checkpointMessage, GENESIS, lineHash, parseChainRecord, type Checkpoint, type CheckpointReason, type CheckpointSigner } from './audit-chain.js';

/** Where write failures and recoveries are reported (the error log). */
export type AuditFileReporter = (message: string) => void;

/** The bytes read from the end of an existing file to find its last line (lines are far shorter). */
const TAIL_BYTES = 64 * 1024;

/** Room for the chain fields added to an event's JSON (`{"seq":…,"prev":"<64 hex>",`). */
const CHAIN_OVERHEAD = 100;

export class AuditFile {
  /** The absolute path of the current file. */
  readonly path: string;
  private fd: number;
  private size: number;
  /** The seq of the next line. */
  private seq: number;
  /** The hash of the last line. */
  private head: string;
  private written: { seq: number; head: string };
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Events (and events already counted as lost) in pending: lost if the write fails. */
  private pendingEvents = 0;
  private lost = 0;
  private failing = false;
  /** Records in the current file since its opening checkpoint. */
  private recordsInFile = 0;
  private sinceCheckpoint = 0;
  /** The largest checkpoint line written: room kept for the closing checkpoints of a file. */
  private checkpointBytes = 0;
  /** Extra room after a failed rotation, so that it is retried only after another max size. */
  private allowance = 0;
  private flushing: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private options: AuditFileConfig,
    private signer: CheckpointSigner,
    private readonly report: AuditFileReporter,
    opened: Opened,
  ) {
    this.path = resolve(options.path);
    this.fd = opened.fd;
    this.size = opened.size;
    this.seq = opened.chain?.seq ?? 0;
    this.head = opened.chain?.head ?? GENESIS;
    this.written = { seq: this.seq, head: this.head };
  }

  /**
   * Opens or creates the file (mode 0600, directories created as needed) and writes the opening
   * checkpoint: `start` for a new chain, `resume` to continue the chain of an existing file. A
   * file whose last line is incomplete or not an audit record is moved to a rotated name (and
   * reported); the new file continues from its last good line when there is one.
   * @throws Error when the file cannot be opened
   */
  static open(options: AuditFileConfig, signer: CheckpointSigner, report: AuditFileReporter): AuditFile {
    const path = resolve(options.path);
    let opened: Opened;
    let reason: CheckpointReason;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      opened = openFile(path);
      const tail = opened.size === 0 ? undefined : readLastLine(opened.fd, opened.size);
      const last = tail?.line === undefined ? undefined : parseChainRecord(tail.line.toString());
      const chain = last && { seq: last.seq + 1, head: lineHash(tail!.line!) };
      if (tail === undefined) {
        reason = 'start';
      } else if (!tail.torn && chain) {
        opened.chain = chain;
        reason = 'resume';
      } else {
        closeSync(opened.fd);
        const aside = rotatedName(path);
        renameSync(path, aside);
        report(`audit file: '${path}' ends with an incomplete or invalid line: moved it to '${aside}', continuing in a new file`);
        opened = { ...openFile(path), chain };
        reason = chain ? 'file-start' : 'start';
      }
    } catch (err) {
      throw new Error(`log.audit_file: cannot open '${path}': ${systemErrorText(err)}`);
    }
    const file = new AuditFile(options, signer, report, opened);
    file.checkpoint(reason);
    file.flush();
    return file;
  }

  /** Appends an audit event (its `/v1/log/audit` JSON). Never throws. */
  write(event: object): void {
    if (this.closed) return;
    try {
      const body = JSON.stringify(event);
      if (this.recordsInFile > 0 && this.size + this.pendingBytes + Buffer.byteLength(body) + CHAIN_OVERHEAD + 2 * this.checkpointBytes > this.options.maxSize + this.allowance) {
        this.rotate();
      }
      if (this.lost > 0) {
        this.append(chainLine(this.seq, this.head, { lost: { count: this.lost, time: Timestamp.now().toString() } }), this.lost);
        this.lost = 0;
      }
      this.append(`{"seq":${this.seq},"prev":"${this.head}"${body === '{}' ? '}' : ',' + body.slice(1)}`, 1);
      this.recordsInFile++;
      if (++this.sinceCheckpoint >= this.options.checkpointEvery) this.checkpoint('periodic');
      else if (this.options.checkpointIntervalMs > 0 && this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.safely(() => this.sinceCheckpoint > 0 && this.checkpoint('periodic'));
        }, this.options.checkpointIntervalMs);
        this.timer.unref();
      }
    } catch (err) {
      this.report(`audit file: failed to record an audit event: ${systemErrorText(err)}`);
    }
  }

  /**
   * Applies new settings for the same path (a config reload): writes a `reload` checkpoint, and
   * a `rekey` checkpoint first when the signing key changed. Never throws.
   */
  reconfigure(options: AuditFileConfig, signer: CheckpointSigner): void {
    this.options = options;
    this.safely(() => {
      this.setSigner(signer);
      this.checkpoint('reload');
      this.flush();
    });
  }

  /**
   * Signs the following checkpoints with another key: when it differs, a `rekey` checkpoint
   * signed by the current key names the new signer first. Never throws.
   */
  setSigner(signer: CheckpointSigner): void {
    this.safely(() => {
      if (signer.identity !== this.signer.identity) {
        this.checkpoint('rekey', signer.identity);
        this.flush();
      }
      this.signer = signer;
    });
  }

  /** Writes the `close` checkpoint, syncs and closes the file. Idempotent; never throws. */
  close(): void {
    if (this.closed) return;
    this.safely(() => this.checkpoint('close'));
    this.closed = true;
    clearTimeout(this.timer);
    if (this.flushing) clearImmediate(this.flushing);
    this.flush();
    try {
      fsyncSync(this.fd);
    } catch {
      // Best effort: the data was written.
    }
    try {
      closeSync(this.fd);
    } catch (err) {
      this.report(`audit file: failed to close '${this.path}': ${systemErrorText(err)}`);
    }
  }

  /** Appends a signed checkpoint line. */
  private checkpoint(reason: CheckpointReason, nextSigner?: string): void {
    const c: Omit<Checkpoint, 'key' | 'sig'> = { reason, time: Timestamp.now().toString(), signer: this.signer.identity };
    if (nextSigner !== undefined) c.next_signer = nextSigner;
    const sig = this.signer.sign(checkpointMessage(this.seq, this.head, c)).toString('base64');
    const line = chainLine(this.seq, this.head, { checkpoint: { ...c, key: this.signer.publicKey, sig } });
    this.append(line, 0);
    this.checkpointBytes = Math.max(this.checkpointBytes, Buffer.byteLength(line) + 64);
    this.sinceCheckpoint = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private append(line: string, events: number): void {
    this.pending.push(line + '\n');
    this.pendingBytes += Buffer.byteLength(line) + 1;
    this.pendingEvents += events;
    this.head = lineHash(line);
    this.seq++;
    this.flushing ??= setImmediate(() => {
      this.flushing = undefined;
      this.flush();
    });
  }

  /** Writes the pending lines in one write; on failure rolls the chain back to the file's end. */
  private flush(): boolean {
    if (this.pending.length === 0) return true;
    const data = Buffer.from(this.pending.join(''));
    const events = this.pendingEvents;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingEvents = 0;
    try {
      for (let offset = 0; offset < data.length; ) offset += writeSync(this.fd, data, offset);
    } catch (err) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // The verifier will report the incomplete line.
      }
      this.seq = this.written.seq;
      this.head = this.written.head;
      this.lost += events;
      if (!this.failing) this.report(`audit file: failed to write '${this.path}': ${systemErrorText(err)}; audit events are lost until writing works again`);
      this.failing = true;
      return false;
    }
    this.size += data.length;
    this.written = { seq: this.seq, head: this.head };
    if (this.failing) {
      this.failing = false;
      this.report(`audit file: writing '${this.path}' works again`);
    }
    return true;
  }

  /**
   * Ends the current file with a `file-end` checkpoint, renames it to `<path>.<UTC time>` and
   * starts a new file with a `file-start` checkpoint. On failure the current file stays.
   */
  private rotate(): void {
    this.checkpoint('file-end');
    if (!this.flush()) return;
    let aside: string | undefined;
    try {
      fsyncSync(this.fd);
      aside = rotatedName(this.path);
      renameSync(this.path, aside);
      const next = openFile(this.path);
      closeSync(this.fd);
      this.fd = next.fd;
      this.size = next.size;
      this.allowance = 0;
    } catch (err) {
      this.allowance += this.options.maxSize;
      this.report(`audit file: failed to rotate '${this.path}'${aside ? ` to '${aside}'` : ''}: ${systemErrorText(err)}`);
    }
    this.recordsInFile = 0;
    this.checkpoint('file-start');
  }

  private safely(fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      this.report(`audit file: ${systemErrorText(err)}`);
    }
  }
}

interface Opened {
  fd: number;
  size: number;
  /** The chain to continue; a new chain when absent. */
  chain?: { seq: number; head: string };
}

function openFile(path: string): Opened {
  const fd = openSync(path, 'a+', 0o600);
  return { fd, size: fstatSync(fd).size };
}

/**
 * The last complete line of a file, and whether bytes follow it (an incomplete line: the file
 * was cut, or the system crashed during a write).
 */
function readLastLine(fd: number, size: number): { line?: Buffer; torn: boolean } {
  const n = Math.min(size, TAIL_BYTES);
  const buf = Buffer.alloc(n);
  readSync(fd, buf, 0, n, size - n);
  const torn = buf[n - 1] !== 0x0a;
  const end = torn ? buf.lastIndexOf(0x0a) : n - 1;
  if (end < 0) return { torn };
  const start = end === 0 ? 0 : buf.lastIndexOf(0x0a, end - 1) + 1;
  if (start === 0 && n < size) return { torn };
  return { line: buf.subarray(start, end), torn };
}

/**
 * `<path>.<UTC time>`, e.g. `audit.log.20261128T101500.123Z`, so that sorted names are in time
 * order; when the name is taken (rotations within a millisecond) the next millisecond's.
 */
export function rotatedName(path: string, now = Date.now()): string {
  const name = (ms: number) => `${path}.${new Date(ms).toISOString().replace(/[-:]/g, '')}`;
  let ms = now;
  while (existsSync(name(ms))) ms++;
  return name(ms);
}

