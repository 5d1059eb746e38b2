/** `kes log`: follow the server's audit log (default) or error log; `kes log verify` checks audit files. */
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { clientFlags, OUTPUT_FLAGS } from '../client-env.js';
import { paint } from '../output.js';
import { expectArgs, outputOf, withClient } from './common.js';
import type { AuditEvent } from '../../client/types.js';
import { logVerifyCommand } from './log-verify.js';

function latency(ns: number): string {
  const ms = ns / 1e6;
  return ms < 1 ? `${(ns / 1e3).toFixed(0)}µs` : ms < 1000 ? `${ms.toFixed(1)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

const COLUMNS = ['Time', 'Status', 'Identity', 'IP', 'API', 'Latency'] as const;
const WIDTHS = [10, 8, 14, 17, 40, 0];

function row(cells: readonly string[]): string {
  return cells.map((c, i) => (WIDTHS[i] ? c.padEnd(WIDTHS[i]!) : c)).join('');
}

function auditRow(e: AuditEvent, color: boolean): string {
  const time = e.time.toTimeString().slice(0, 8);
  const status = paint(color, String(e.response.code), e.response.code === 200 ? 'green' : 'red');
  const id = e.request.identity ? `${e.request.identity.slice(0, 10)}…` : '<unknown>';
  return row([time, status + ' '.repeat(Math.max(0, WIDTHS[1]! - 3)), id, e.request.ip, e.request.path, latency(e.response.time)]);
}

export const logCommand: Command = {
  name: 'log',
  usage: 'kes log [--audit | --error] [options]\n  kes log verify FILE... [--cert FILE | --identity HEX]',
  description: [
    'Prints the server\'s audit events (one per request) or error log lines as they happen, until Ctrl-C.',
    '',
    '"kes log verify" checks the tamper-evident audit files of log.audit_file, without a server.',
  ].join('\n'),
  flags: clientFlags(
    { name: 'audit', type: 'boolean', description: 'Follow the audit log (default)' },
    { name: 'error', type: 'boolean', description: 'Follow the error log' },
    ...OUTPUT_FLAGS,
  ),
  examples: ['kes log', 'kes log --error', 'kes log --json | jq .', 'kes log verify audit.log --cert server.crt'],
  subcommands: [logVerifyCommand],
  async run(ctx) {
    expectArgs(ctx, 0, 0, 'kes log');
    if (ctx.flags.audit && ctx.flags.error) throw new UsageError('--audit and --error cannot be used together');
    const out = outputOf(ctx);
    const signal = ctx.io.signal;
    await withClient(ctx, async (c) => {
      if (ctx.flags.error) {
        for await (const e of c.errorLog({ signal })) ctx.io.stdout.write(out.json ? JSON.stringify(e) + '\n' : e.message + '\n');
        return;
      }
      if (!out.json && out.tty) ctx.io.stdout.write(paint(out.color, row(COLUMNS), 'bold', 'underline') + '\n');
      for await (const e of c.auditLog({ signal })) {
        ctx.io.stdout.write(out.json ? JSON.stringify({ time: e.time.toISOString(), request: e.request, response: e.response }) + '\n' : auditRow(e, out.color) + '\n');
      }
    });
    if (!signal?.aborted) throw new Error('the server closed the log stream');
  },
};
