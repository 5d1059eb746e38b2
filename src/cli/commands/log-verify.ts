/** `kes log verify`: checks tamper-evident audit files offline (docs/audit-log.md). */
import { systemErrorText } from '../../util/system-error.js';
import { readFile } from 'node:fs/promises';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../flags.js';
import { paint } from '../output.js';
import { readIdentitySource } from '../identity-source.js';
import { OUTPUT_FLAGS } from '../client-env.js';
import { outputOf } from './common.js';
import { verifyAuditFiles, type VerifyReport } from '../../log/audit-verify.js';

export const logVerifyCommand: Command = {
  name: 'verify',
  summary: 'Check audit files (log.audit_file) for deleted, modified, inserted or reordered records',
  usage: 'kes log verify FILE... [--cert FILE | --identity HEX] [options]',
  description: [
    'Verifies audit files written by the server\'s log.audit_file: the hash chain that links every',
    'line to the one before, the sequence numbers, the links between rotated files, and the',
    'signatures of the checkpoints. Give the files of one chain oldest first: the rotated files',
    '(<path>.<UTC time>, which sort by time) and then the current file.',
    '',
    'Checkpoints are signed with the server\'s TLS private key. --cert (the server certificate) or',
    '--identity pins the signer; without them the signatures are checked but anyone could have',
    'made them: the identities seen are reported. A checkpoint of reason "rekey", signed by a',
    'pinned key, passes trust on to the key that replaced it.',
    '',
    'Reports the first problem found, with its file, line and kind: deleted, modified, inserted,',
    'reordered, bad-signature, file-link (a file does not continue the one before) or truncated.',
    'Warnings do not fail the check unless --strict is given: no final checkpoint (the last records',
    'are not covered by a signature: the server is running, crashed, or the end was cut), a',
    'restart without clean shutdown, events the server could not write, unpinned signers.',
    '',
    'Exit status: 0 when intact, 1 when a problem was found (or a file could not be read).',
  ].join('\n'),
  flags: [
    { name: 'cert', type: 'list', value: 'FILE', description: 'A certificate (or public key) whose key may sign checkpoints; repeatable' },
    { name: 'identity', type: 'list', value: 'HEX', description: 'An identity that may sign checkpoints; repeatable' },
    { name: 'strict', type: 'boolean', description: 'Fail on warnings too' },
    ...OUTPUT_FLAGS,
  ],
  examples: [
    'kes log verify /var/log/kes/audit.log --cert /etc/kes/server.crt',
    'kes log verify /var/log/kes/audit.log.* /var/log/kes/audit.log --cert server.crt',
    'kes log verify audit.log --identity 3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22',
  ],
  run: runVerify,
};

async function runVerify(ctx: CommandContext): Promise<number> {
  if (ctx.args.length === 0) throw new UsageError('missing argument: kes log verify FILE...');
  const signers = await pinnedSigners(ctx);
  const inputs = [];
  for (const name of ctx.args) {
    try {
      inputs.push({ name, data: await readFile(name) });
    } catch (err) {
      throw new Error(`cannot read '${name}': ${systemErrorText(err)}`);
    }
  }
  const report = verifyAuditFiles(inputs, { signers });
  const out = outputOf(ctx);
  ctx.io.stdout.write(out.json ? JSON.stringify(report, null, 2) + '\n' : reportText(report, out.color));
  return report.ok && !(ctx.flags.strict && report.warnings.length > 0) ? 0 : 1;
}

/** The identities of --cert and --identity. */
async function pinnedSigners(ctx: CommandContext): Promise<string[]> {
  const signers: string[] = [];
  for (const id of (ctx.flags.identity as string[] | undefined) ?? []) {
    if (!/^[0-9a-fA-F]{64}$/.test(id)) throw new UsageError(`invalid --identity '${id}': expected 64 hex characters`);
    signers.push(id.toLowerCase());
  }
  for (const file of (ctx.flags.cert as string[] | undefined) ?? []) {
    const source = await readIdentitySource(file);
    if (source.kind !== 'certificate' && source.kind !== 'public-key') throw new UsageError(`--cert '${file}' is not a certificate or public key file`);
    signers.push(source.identity);
  }
  return signers;
}

function reportText(r: VerifyReport, color: boolean): string {
  const lines: string[] = [];
  const width = Math.max(0, ...r.files.map((f) => f.file.length)) + 3;
  for (const f of r.files) lines.push(`${f.file.padEnd(width)}${f.records} records, ${f.checkpoints} checkpoints`);
  if (r.signers.length > 0) lines.push(`Signed by: ${r.signers.join(', ')} (${r.pinned ? 'pinned' : 'not pinned'})`);
  if (r.firstSeq !== undefined && r.firstSeq > 0) lines.push(`The chain is checked from seq ${r.firstSeq} on (older files were not given).`);
  for (const w of r.warnings) lines.push(`${paint(color, 'Warning:', 'yellow')} ${w.file}${w.line === undefined ? '' : `:${w.line}`}: ${w.message}`);
  const records = r.files.reduce((n, f) => n + f.records, 0);
  const checkpoints = r.files.reduce((n, f) => n + f.checkpoints, 0);
  if (r.problem) {
    const p = r.problem;
    lines.push(`${paint(color, 'FAILED:', 'red', 'bold')} ${p.file}:${p.line}: ${p.kind}: ${p.message}`);
  } else {
    lines.push(`${paint(color, 'OK:', 'green', 'bold')} intact: ${records} records, ${checkpoints} checkpoints in ${r.files.length} file(s)`);
  }
  return lines.join('\n') + '\n';
}
