/**
 * Automatic rotation (`rotation:` in the config, docs/key-rings.md): keys matching a rule's
 * pattern get a new version once their latest version is older than the rule's period.
 *
 * Every server (every worker) sharing a key store checks, and the rotation itself is the
 * compare-and-swap of handlers/ring-change.ts, deciding on the ring as stored at that moment: of
 * servers that find the same key due at once, one rotates and the others then see a fresh latest
 * version and leave it. So a due rotation happens exactly once, however many servers check.
 * The server that rotates writes the audit event (its own identity, the rotate path, no client
 * IP), counts it in the metrics, and logs a failure to the error log.
 */
import { isInternalEntry } from '../keystore/entry-names.js';
import type { RotationRule } from '../config/types.js';
import { SecretKey } from '../crypto/secret-key.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { patternPrefix } from '../policy/names.js';
import { PATH_KEY_ROTATE } from '../api/paths.js';
import { Timestamp } from '../util/time.js';
import { changeRing } from './handlers/ring-change.js';
import { describeFailure } from './error-response.js';
import type { ServerState } from './state.js';

/** How often keys are checked: a quarter of the shortest period, between these bounds. */
const MIN_CHECK_MS = 250;
const MAX_CHECK_MS = 60_000;

export class AutoRotation {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  /**
   * @param identity the server's own identity (of its TLS certificate), for the audit events
   */
  constructor(
    private readonly state: ServerState,
    private readonly identity: string,
  ) {}

  /** Starts checking, if the config has rules. */
  start(): void {
    const rules = this.state.config.rotation;
    if (rules.length === 0) return;
    if (!this.state.cache.store.replace) {
      this.state.errorLog.error('automatic rotation is configured, but the key store cannot change keys (no compare-and-swap): no key is rotated');
      return;
    }
    const shortest = Math.min(...rules.map((r) => r.everyMs));
    const interval = Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, shortest / 4));
    this.timer = setInterval(() => void this.check(), interval);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** One pass over the rules; a pass still running when the next is due is not overlapped. */
  private async check(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const rule of this.state.config.rotation) await this.checkRule(rule);
    } catch (err) {
      this.state.errorLog.error(`automatic rotation: cannot list keys: ${describeFailure(err)}`);
    } finally {
      this.running = false;
    }
  }

  private async checkRule(rule: RotationRule): Promise<void> {
    const prefix = patternPrefix(rule.pattern);
    const exact = !rule.pattern.endsWith('*');
    for await (const name of this.state.cache.list(prefix)) {
      if (this.stopped) return;
      if ((exact && name !== rule.pattern) || isInternalEntry(name)) continue;
      await this.rotateIfDue(name, rule.everyMs);
    }
  }

  private async rotateIfDue(name: string, everyMs: number): Promise<void> {
    const start = process.hrtime.bigint();
    let rotated = false;
    try {
      const ring = await changeRing(this.state.cache, name, (current: KeyRing) => {
        rotated = Date.now() - current.current.createdAt.toMillis() >= everyMs;
        if (!rotated) return undefined;
        return current.rotated({ key: SecretKey.generate(this.state.keyType), createdAt: Timestamp.now(), createdBy: this.identity });
      });
      if (!rotated) return;
      this.state.runtime.metrics.keyRotated();
      this.state.auditLog.log({
        time: Timestamp.now(),
        message: `secret key '${name}' rotated to version ${ring.latest} (automatic)`,
        method: 'PUT',
        path: PATH_KEY_ROTATE + name,
        ip: '',
        identity: this.identity,
        status: 200,
        durationNs: Number(process.hrtime.bigint() - start),
      });
    } catch (err) {
      this.state.runtime.metrics.keyRotationFailed();
      this.state.errorLog.error(`automatic rotation of key '${name}' failed: ${describeFailure(err)}`);
    }
  }
}
