/**
 * TLS session tickets (RFC 8446 §4.6.1) let a client resume a session without a full handshake,
 * and so without the certificate checks of one. Resumption must never extend the trust a full
 * handshake granted: the ticket keys rotate at least every ticket lifetime and on every reload
 * or certificate refresh (new CAs), which invalidates every ticket issued before, and the server
 * checks the certificate of each resumed session again (connection.ts). The workers of a server
 * share their keys, which the primary rotates, so that a session resumes on any worker.
 */
import { randomBytes } from 'node:crypto';
import type { TlsConfig } from '../config/types.js';
import { DEFAULT_TICKET_LIFETIME_MS } from '../config/defaults.js';


/** The ticket lifetime of a config in milliseconds; 0 = resumption off. */
export function ticketLifetimeMs(tls: TlsConfig): number {
  return tls.ticketLifetimeMs ?? DEFAULT_TICKET_LIFETIME_MS;
}

/** Fresh ticket keys in Node's format: a 16-byte key name, a 16-byte HMAC key, a 16-byte AES key. */
export function newTicketKeys(): Buffer {
  return randomBytes(48);
}

/** Calls `apply` with fresh keys now and then every lifetime (never while resumption is off). */
export class TicketKeyRotation {
  private timer: NodeJS.Timeout | undefined;
  keys = newTicketKeys();

  constructor(private readonly apply: (keys: Buffer) => void) {}

  /** New keys now; then every lifetimeMs (0: resumption is off, no timer). */
  rotate(lifetimeMs: number): void {
    this.stop();
    this.keys = newTicketKeys();
    this.apply(this.keys);
    if (lifetimeMs > 0) {
      this.timer = setInterval(() => {
        this.keys = newTicketKeys();
        this.apply(this.keys);
      }, lifetimeMs);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
