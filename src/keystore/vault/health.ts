/**
 * Vault's health as the key store sees it (protocol.md §9.3 "Health"): `GET /v1/sys/health`, in
 * the root namespace and without a token, checked in the background every `status.ping`.
 *
 * A sealed or uninitialised Vault serves nothing, so while the last check (or the last
 * operation) saw it sealed every operation fails at once with KeyStoreUnreachableError
 * `vault: key store is sealed`, without a request. A later check that finds Vault unsealed
 * lifts the block.
 */
import { KeyStoreUnreachableError, type KeyStoreState } from '../keystore.js';
import type { VaultHttpClient } from './http-client.js';

/** What blocks operations: nothing, a sealed Vault, or an uninitialised one. */
export type SealState = 'unsealed' | 'sealed' | 'uninitialized';

/** The message of operations refused while Vault is sealed. */
export const SEALED_MESSAGE = 'vault: key store is sealed';
/** The message of operations refused while Vault is not initialised. */
export const UNINITIALIZED_MESSAGE = 'vault: key store is not initialized';

interface HealthBody {
  initialized?: unknown;
  sealed?: unknown;
}

/** Tracks whether Vault is sealed. */
export class VaultHealth {
  private state: SealState = 'unsealed';
  private timer: ReturnType<typeof setInterval> | undefined;
  private checking = false;

  constructor(private readonly http: VaultHttpClient) {}

  /** The state seen by the last check or operation. */
  get sealState(): SealState {
    return this.state;
  }

  /**
   * Throws when operations are blocked.
   * @throws KeyStoreUnreachableError `vault: key store is sealed` (or `… is not initialized`)
   */
  assertUnsealed(): void {
    if (this.state === 'sealed') throw new KeyStoreUnreachableError(SEALED_MESSAGE);
    if (this.state === 'uninitialized') throw new KeyStoreUnreachableError(UNINITIALIZED_MESSAGE);
  }

  /** Records that an operation was refused because Vault is sealed. */
  markSealed(): void {
    this.state = 'sealed';
  }

  /**
   * Asks Vault for its health and records the seal state. Active nodes, standbys (which
   * forward requests to the active node), performance standbys and DR secondaries count as
   * reachable, as in KES.
   * @throws KeyStoreUnreachableError when Vault cannot be reached, is sealed or not initialised,
   *   or is a standby without an active node; Error for an answer that is not Vault's
   */
  async check(): Promise<KeyStoreState> {
    const start = performance.now();
    let res;
    try {
      res = await this.http.send({ method: 'GET', path: '/v1/sys/health' });
    } catch (err) {
      if (err instanceof KeyStoreUnreachableError) throw new KeyStoreUnreachableError(`vault: health check failed: ${err.message}`, { cause: err });
      throw new Error(`vault: health check failed: ${(err as Error).message}`, { cause: err });
    }
    const latencyMs = performance.now() - start;
    const body = (res.body ?? {}) as HealthBody;
    if (res.status === 501 || body.initialized === false) {
      this.state = 'uninitialized';
      throw new KeyStoreUnreachableError(UNINITIALIZED_MESSAGE);
    }
    if (res.status === 503 || body.sealed === true) {
      this.state = 'sealed';
      throw new KeyStoreUnreachableError(SEALED_MESSAGE);
    }
    this.state = 'unsealed';
    switch (res.status) {
      case 200: // active
      case 429: // standby
      case 472: // disaster recovery secondary
      case 473: // performance standby
        return { latencyMs };
      case 474:
        throw new KeyStoreUnreachableError('vault: the standby node cannot reach the active node');
      case 530:
        throw new KeyStoreUnreachableError('vault: the node was removed from its cluster');
      default:
        throw new Error(`vault: health check failed: unexpected status ${res.status}`);
    }
  }

  /** Checks every intervalMs in the background until close(). */
  start(intervalMs: number): void {
    if (this.timer || intervalMs <= 0) return;
    this.timer = setInterval(() => void this.background(), intervalMs);
    this.timer.unref?.();
  }

  /** Stops the background checks. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async background(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.check();
    } catch {
      // Recorded in the state when it says something about the seal; network failures surface
      // in the operations themselves.
    } finally {
      this.checking = false;
    }
  }
}
