/**
 * Verifies audit files (docs/audit-log.md): the hash chain, seq continuity, the links between
 * rotated files and the checkpoint signatures. Stops at the first problem and names its file,
 * line and most likely kind; conditions that are not tampering by themselves (no closing
 * checkpoint, unpinned signers, a restart without clean shutdown, lost events) are warnings.
 */
import { checkpointError, GENESIS, lineHash, parseChainRecord, type ChainRecord } from './audit-chain.js';

export type ProblemKind =
  /** Records are missing (a seq gap). */
  | 'deleted'
  /** A line's content differs from what the chain recorded. */
  | 'modified'
  /** A line that does not belong to the chain. */
  | 'inserted'
  /** Records of the chain are in the wrong order. */
  | 'reordered'
  /** A checkpoint whose signature does not verify, or whose signer is not trusted. */
  | 'bad-signature'
  /** A file does not continue the chain of the file before it. */
  | 'file-link'
  /** A file ends inside a line. */
  | 'truncated';

export interface Problem {
  file: string;
  /** 1-based line number. */
  line: number;
  kind: ProblemKind;
  message: string;
}

export interface Warning {
  file: string;
  line?: number;
  message: string;
}

export interface FileSummary {
  file: string;
  /** Audit event lines (not checkpoints or lost-event markers) verified. */
  records: number;
  checkpoints: number;
}

export interface VerifyReport {
  /** True when no problem was found (warnings may remain). */
  ok: boolean;
  problem?: Problem;
  warnings: Warning[];
  files: FileSummary[];
  /** The identities that signed checkpoints, in order of appearance. */
  signers: string[];
  /** Whether the signers were checked against pinned identities. */
  pinned: boolean;
  /** seq of the first line verified. */
  firstSeq?: number;
}

export interface AuditFileInput {
  /** Shown in the report. */
  name: string;
  data: Uint8Array;
}

export interface VerifyOptions {
  /**
   * The identities allowed to sign checkpoints (`--cert`, `--identity`). A `rekey` checkpoint
   * signed by an allowed identity allows its `next_signer` too. Unpinned when absent or empty.
   */
  signers?: Iterable<string>;
}

/** The lines of a file: byte ranges, parsed when asked for (files can be large: nothing is kept). */
class Lines {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** The file ends inside a line (its last bytes are not followed by a newline). */
  readonly torn: boolean;

  constructor(readonly data: Uint8Array) {
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== 0x0a) continue;
      this.starts.push(start);
      this.ends.push(i);
      start = i + 1;
    }
    this.torn = start < data.length;
  }

  /** Complete lines. */
  get length(): number {
    return this.starts.length;
  }

  bytes(i: number): Buffer {
    const start = this.starts[i]!;
    return Buffer.from(this.data.buffer, this.data.byteOffset + start, this.ends[i]! - start);
  }

  /** The parsed line i, undefined when it is not an audit line or does not exist. */
  record(i: number): ChainRecord | undefined {
    if (i < 0 || i >= this.length) return undefined;
    return parseChainRecord(this.bytes(i).toString('utf8'));
  }

  hash(i: number): string {
    return lineHash(this.bytes(i));
  }
}

/** Verifies files that hold one chain, oldest first (`audit.log.* audit.log`). */
export function verifyAuditFiles(inputs: readonly AuditFileInput[], options: VerifyOptions = {}): VerifyReport {
  return new Verifier(options).run(inputs);
}

class Verifier {
  private readonly trusted: Set<string> | undefined;
  private readonly report: VerifyReport;
  /** The expected seq and prev of the next line; undefined before the first line. */
  private expected: { seq: number; prev: string } | undefined;
  /** The last checkpoint seen: where the unsigned window starts. */
  private lastCheckpoint: { file: string; line: number; reason: string } | undefined;
  /** Records since the last checkpoint. */
  private unsigned = 0;

  constructor(options: VerifyOptions) {
    const pinned = [...(options.signers ?? [])];
    this.trusted = pinned.length > 0 ? new Set(pinned) : undefined;
    this.report = { ok: true, warnings: [], files: [], signers: [], pinned: this.trusted !== undefined };
  }

  run(inputs: readonly AuditFileInput[]): VerifyReport {
    for (let f = 0; f < inputs.length; f++) {
      const input = inputs[f]!;
      const next = inputs[f + 1];
      if (!this.verifyFile(input, next && new Lines(next.data))) break;
    }
    if (this.report.ok) this.finalWarnings(inputs);
    if (!this.report.pinned && this.report.signers.length > 0) {
      this.report.warnings.push({ file: inputs[0]?.name ?? '', message: `the checkpoint signers were not pinned (use --cert or --identity): signed by ${this.report.signers.join(', ')}` });
    }
    return this.report;
  }

  private fail(file: string, line: number, kind: ProblemKind, message: string): false {
    this.report.ok = false;
    this.report.problem = { file, line, kind, message };
    return false;
  }

  private warn(file: string, line: number | undefined, message: string): void {
    this.report.warnings.push(line === undefined ? { file, message } : { file, line, message });
  }

  /** Verifies one file; false when a problem was found. */
  private verifyFile(input: AuditFileInput, nextFile: Lines | undefined): boolean {
    const file = input.name;
    const lines = new Lines(input.data);
    const summary: FileSummary = { file, records: 0, checkpoints: 0 };
    this.report.files.push(summary);
    if (lines.length === 0) {
      return lines.torn ? this.fail(file, 1, 'truncated', 'the file holds only an incomplete line') : this.fail(file, 1, 'deleted', 'the file is empty');
    }
    const firstFile = this.expected === undefined;
    for (let i = 0; i < lines.length; i++) {
      const r = lines.record(i);
      if (this.expected === undefined) {
        if (!r?.checkpoint) {
          return this.fail(file, 1, 'deleted', 'the file does not begin with a checkpoint: its first lines were removed, or it is not an openkes audit file');
        }
        this.report.firstSeq = r.seq;
      } else if (r === undefined || r.seq !== this.expected.seq || r.prev !== this.expected.prev) {
        return this.mismatch(file, lines, i, firstFile);
      }
      if (r.checkpoint) {
        if (!this.checkCheckpoint(file, lines, i, r)) return false;
        summary.checkpoints++;
      } else if (r.lost !== undefined) {
        this.warn(file, i + 1, `the server could not write ${r.lost} audit event(s) here (a disk or I/O error)`);
      } else {
        summary.records++;
        this.unsigned++;
      }
      this.expected = { seq: r.seq + 1, prev: lines.hash(i) };
    }
    if (lines.torn) {
      // The server moves a file with an incomplete last line aside at start and continues the
      // chain from its last complete line in a new file: then it is not tampering.
      const first = nextFile?.record(0);
      if (first?.checkpoint?.reason === 'file-start' && first.seq === this.expected!.seq && first.prev === this.expected!.prev) {
        this.warn(file, lines.length + 1, 'the file ends with an incomplete line (a write was interrupted); the server continued in the next file');
      } else {
        return this.fail(file, lines.length + 1, 'truncated', 'the file ends with an incomplete line: it was cut, or a write was interrupted');
      }
    }
    return true;
  }

  private checkCheckpoint(file: string, lines: Lines, i: number, r: ChainRecord): boolean {
    const c = r.checkpoint!;
    const error = checkpointError(r.seq, r.prev, c);
    if (error !== undefined) return this.fail(file, i + 1, 'bad-signature', `checkpoint: ${error} (the checkpoint was modified or forged)`);
    if (c.reason === 'start' && (r.seq !== 0 || r.prev !== GENESIS)) {
      return this.fail(file, i + 1, 'bad-signature', 'checkpoint: a chain start that is not at seq 0');
    }
    if (this.trusted && !this.trusted.has(c.signer)) {
      return this.fail(file, i + 1, 'bad-signature', `checkpoint: signed by ${c.signer}, which is not a pinned signer`);
    }
    if (!this.report.signers.includes(c.signer)) this.report.signers.push(c.signer);
    if (c.reason === 'rekey' && c.next_signer !== undefined) this.trusted?.add(c.next_signer);
    const before = i > 0 ? lines.record(i - 1) : undefined;
    if (c.reason === 'resume' && before && before.checkpoint?.reason !== 'close') {
      this.warn(file, i + 1, `the server restarted without a clean shutdown: ${this.unsigned} record(s) before this line were not covered by a checkpoint, and records written after them may be missing`);
    }
    this.lastCheckpoint = { file, line: i + 1, reason: c.reason };
    this.unsigned = 0;
    return true;
  }

  /**
   * Line i does not continue the chain: works out the most likely kind from the lines around
   * it, and fails.
   */
  private mismatch(file: string, lines: Lines, i: number, firstFile: boolean): false {
    const { seq: s, prev: h } = this.expected!;
    const line = i + 1;
    const r = lines.record(i);
    const n = lines.record(i + 1);
    const continues = (x: ChainRecord | undefined) => x !== undefined && x.seq === s && x.prev === h;
    if (i === 0 && !firstFile) return this.fileLink(file, r, s);
    if (r === undefined) {
      if (continues(n)) return this.fail(file, line, 'inserted', `line ${line} is not part of the chain`);
      return this.fail(file, line, 'modified', `line ${line} is not a valid audit record (expected seq ${s})`);
    }
    if (r.seq === s) {
      // The previous line was modified, or this line's prev was.
      const signed = r.checkpoint !== undefined && checkpointError(r.seq, r.prev, r.checkpoint) === undefined;
      if (signed) {
        const from = this.lastCheckpoint?.file === file ? this.lastCheckpoint.line + 1 : 1;
        const rewritten = from < line - 1 ? `, or a line from line ${from} on was modified and the chain recomputed up to it` : '';
        return this.fail(file, line - 1, 'modified', `line ${line - 1} does not match the hash recorded by the signed checkpoint at line ${line}${rewritten}`);
      }
      if (n === undefined || n.prev === lines.hash(i)) return this.fail(file, line - 1, 'modified', `line ${line - 1} does not match the hash recorded by line ${line}`);
      if (continues(n)) return this.fail(file, line, 'inserted', `line ${line} is not part of the chain`);
      return this.fail(file, line, 'modified', `line ${line} does not link to line ${line - 1} (its prev was changed)`);
    }
    if (r.prev === h && !continues(n)) return this.fail(file, line, 'modified', `line ${line} has seq ${r.seq}, expected ${s} (its seq was changed)`);
    if (r.seq < s) {
      const p = lines.record(i - 1);
      if (p && r.seq === p.seq && r.prev === p.prev) {
        // Two lines claim the same place: the one the next line links to is the original.
        if (n?.prev === lines.hash(i)) return this.fail(file, line - 1, 'inserted', `line ${line - 1} is not part of the chain (line ${line} has the same seq ${r.seq}, and the chain continues from it)`);
        return this.fail(file, line, 'inserted', `line ${line} repeats seq ${r.seq} of line ${line - 1}`);
      }
      return this.fail(file, line, 'inserted', `line ${line} has seq ${r.seq}, expected ${s}: it repeats an earlier record`);
    }
    // r.seq > s: records are missing, unless the one expected here comes later.
    let j = i + 1;
    while (j < lines.length && !continues(lines.record(j))) j++;
    if (j === lines.length) {
      const missing = r.seq - s;
      return this.fail(file, line, 'deleted', `${missing} record(s) missing before line ${line} (seq ${s}${missing > 1 ? `..${r.seq - 1}` : ''})`);
    }
    // Line i is a record of the chain when a later line links to it; else it was inserted.
    const hash = lines.hash(i);
    let linked = false;
    for (let k = i + 1; k < lines.length && !linked; k++) linked = lines.record(k)?.prev === hash;
    if (j === i + 1 && !linked) return this.fail(file, line, 'inserted', `line ${line} is not part of the chain`);
    return this.fail(file, line, 'reordered', `lines are out of order: seq ${s} belongs at line ${line} but is at line ${j + 1}`);
  }

  /** The first line of a file after the first does not continue the previous file. */
  private fileLink(file: string, r: ChainRecord | undefined, s: number): false {
    const previous = this.report.files[this.report.files.length - 2]?.file ?? 'the previous file';
    if (r === undefined) return this.fail(file, 1, 'file-link', `the first line is not a valid audit record, so the file does not continue ${previous}`);
    if (r.seq < s) {
      const fresh = r.checkpoint?.reason === 'start' ? ' or it starts a new chain' : '';
      return this.fail(file, 1, 'file-link', `the file starts at seq ${r.seq}, before the end of ${previous} (seq ${s - 1}): the files are out of order${fresh}`);
    }
    if (r.checkpoint?.reason === 'start') return this.fail(file, 1, 'file-link', `the file starts a new chain instead of continuing ${previous}`);
    if (r.seq > s) {
      return this.fail(file, 1, 'file-link', `records seq ${s}..${r.seq - 1} are missing between ${previous} and this file (a file or the end of ${previous} was deleted, or the files are out of order)`);
    }
    return this.fail(file, 1, 'file-link', `the file does not continue ${previous}: the last line of ${previous} was modified, or a file is missing`);
  }

  private finalWarnings(inputs: readonly AuditFileInput[]): void {
    const last = inputs[inputs.length - 1];
    if (!last || !this.expected) return;
    const lines = new Lines(last.data);
    const end = lines.record(lines.length - 1);
    if (!end?.checkpoint) {
      const where = this.lastCheckpoint ? ` after the checkpoint at ${this.lastCheckpoint.file}:${this.lastCheckpoint.line}` : '';
      this.warn(last.name, lines.length, `no final checkpoint: the ${this.unsigned} record(s)${where} are not covered by a signature (the server is running, or stopped without a clean shutdown, or the end of the file was cut)`);
    } else if (end.checkpoint.reason !== 'close' && end.checkpoint.reason !== 'file-end') {
      this.warn(last.name, lines.length, `no final checkpoint: the last checkpoint is a '${end.checkpoint.reason}' checkpoint, not 'close' (the server is running, or stopped without a clean shutdown, or the end of the file was cut)`);
    }
  }
}
