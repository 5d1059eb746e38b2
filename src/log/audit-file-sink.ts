/**
 * `log.audit_file` in the process that owns it (the server, or the primary of a cluster): keeps
 * the {@link AuditFile} in line with the config and TLS key across reloads, and receives the
 * audit events, from an event hub while a file is configured or through {@link write}.
 */
import { resolve } from 'node:path';
import type { AuditFileConfig } from '../config/types.js';
import { auditEventJson, type AuditEvent } from './audit-log.js';
import { checkpointSigner } from './audit-chain.js';
import { AuditFile } from './audit-file.js';
import type { EventHub } from './event-hub.js';

/** The server's TLS key and certificate chain (PEM) that sign the checkpoints. */
export interface SigningMaterial {
  key: string;
  cert: string;
}

/** Where the file reports failures: the error log. */
export interface AuditErrorLog {
  error(message: string): void;
}

export class AuditFileSink {
  private file: AuditFile | undefined;
  private errorLog: AuditErrorLog | undefined;
  private unsubscribe: (() => void) | undefined;

  /** @param hub the audit events to record, subscribed only while a file is configured */
  constructor(private readonly hub?: EventHub<AuditEvent>) {}

  /**
   * Applies `log.audit_file`: opens the file, writes a `reload` checkpoint, switches to another
   * path (closing the previous file) or closes the file when the setting is gone. Atomic: when
   * the new file cannot be opened, this throws and the previous file stays in use.
   * @throws Error naming the file when it cannot be opened, or the TLS key cannot sign
   */
  configure(config: AuditFileConfig | undefined, tls: SigningMaterial, errorLog: AuditErrorLog): void {
    this.errorLog = errorLog;
    if (config === undefined) return this.close();
    let signer;
    try {
      signer = checkpointSigner(tls.key, tls.cert);
    } catch (err) {
      throw new Error(`log.audit_file: cannot sign checkpoints with the TLS key: ${(err as Error).message}`);
    }
    if (this.file?.path === resolve(config.path)) return this.file.reconfigure(config, signer);
    const next = AuditFile.open(config, signer, (message) => this.errorLog?.error(message));
    this.file?.close();
    this.file = next;
    this.unsubscribe ??= this.hub?.subscribe((event) => this.write(event));
  }

  /** The TLS key may have changed (certificate rotation): sign with the current one. Never throws. */
  updateKey(tls: SigningMaterial): void {
    if (!this.file) return;
    try {
      this.file.setSigner(checkpointSigner(tls.key, tls.cert));
    } catch (err) {
      this.errorLog?.error(`audit file: cannot sign checkpoints with the new TLS key: ${(err as Error).message}`);
    }
  }

  /** Records an event when a file is configured. Never throws. */
  write(event: AuditEvent): void {
    this.file?.write(auditEventJson(event));
  }

  /** Writes the closing checkpoint and closes the file. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.file?.close();
    this.file = undefined;
  }
}
