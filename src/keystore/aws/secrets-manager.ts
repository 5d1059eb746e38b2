/**
 * The AWS Secrets Manager key store (protocol.md §9.3 `keystore.aws.secretsmanager`): one secret
 * per key, named after the key, holding the stored entry.
 *
 * Compatible with KES in both directions: entries are written as `SecretString` (the entries the
 * server writes are ASCII), read from `SecretString`, else from `SecretBinary`. Bytes that are not
 * valid UTF-8 are written as `SecretBinary`, so any value round-trips.
 *
 * - create: `CreateSecret` (atomic and create-only in the service); `ResourceExistsException` →
 *   KES_ERR_KEY_EXISTS. A name whose secret is still scheduled for deletion is retried for
 *   `pendingDeletionWaitMs` (forced deletion is asynchronous), then fails with a clear error: a
 *   secret someone deleted with a recovery window is never purged or restored implicitly.
 * - get: `GetSecretValue` of the version labelled AWSCURRENT, named explicitly (see
 *   {@link CURRENT_STAGE}); a missing secret or one scheduled for deletion is KES_ERR_KEY_NOT_FOUND.
 * - replace: compare-and-swap with version stages; see {@link AwsSecretsManagerKeyStore.replace}.
 * - delete: `GetSecretValue` to learn whether the key exists (forced deletion of a missing secret
 *   succeeds silently in the service), then `DeleteSecret` without recovery window.
 * - list: every `ListSecrets` page (with the `name` filter), then sorted; see {@link list}.
 * - status: a plain GET to the endpoint; any HTTP answer means reachable.
 *
 * The AWS SDK is loaded with a dynamic import when a store connects, never otherwise. Every call
 * to the service, the SDK's retries included, is bounded by `timeoutMs`; a call without an
 * answer fails with KeyStoreUnreachableError.
 */
import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { KesError } from '../../api/errors.js';
import type { AwsSecretsManagerConfig } from './config.js';
import { checkedStore, compareNames, KeyStoreConflictError, KeyStoreUnreachableError, type KeyStore, type KeyStoreState } from '../keystore.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../config/defaults.js';
import { probeEndpoint } from './endpoint-probe.js';
import { isNetworkError, serviceErrorMessage, serviceErrorName } from './errors.js';

type Sdk = typeof import('@aws-sdk/client-secrets-manager');

/** Tuning of the store; the defaults suit production. */
export interface AwsSecretsManagerOptions {
  /** Bound of every call to the service, SDK retries included, and of the status GET (default 10 s). */
  timeoutMs?: number;
  /** Attempts per call, the first included, in the SDK's standard retry mode (default 3). */
  maxAttempts?: number;
  /** Secrets per `ListSecrets` page, 1…100 (default 100). */
  pageSize?: number;
  /** How long create retries while a secret of the same name is still being deleted (default 5 s). */
  pendingDeletionWaitMs?: number;
}

/** Secret names the service accepts: 1…512 ASCII letters, digits and `/_+=.@-`. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/**
 * The staging label a replace attaches to the version it writes, until AWSCURRENT is moved
 * there. A label of its own, so that the version does not take AWSCURRENT at once (as it would
 * without labels) and rotation functions, which use AWSPENDING, are not disturbed. One label
 * for every replace: Secrets Manager keeps each label on one version only, so leftovers (from a
 * crash) never pile up.
 */
export const PENDING_STAGE = 'OPENKES_PENDING';

/**
 * The staging label every read asks for. It is the service's documented default, but named in
 * the request: resource policies with a `secretsmanager:VersionStage` condition deny reads that
 * do not name it, and moto (the emulator the tests use, 5.2.x) answers a read without it from the
 * version it created last, not from the one AWSCURRENT was moved to.
 */
export const CURRENT_STAGE = 'AWSCURRENT';

/** Reports whether the service can hold a secret of this name. */
export function isValidSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * A key store on AWS Secrets Manager; open it with {@link AwsSecretsManagerKeyStore.connect}.
 * @example
 * const store = await AwsSecretsManagerKeyStore.connect({ type: 'aws', endpoint: 'secretsmanager.us-east-2.amazonaws.com', region: 'us-east-2' });
 */
export class AwsSecretsManagerKeyStore implements KeyStore {
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly pendingDeletionWaitMs: number;

  private constructor(
    private readonly sdk: Sdk,
    private readonly client: SecretsManagerClient,
    /** The service endpoint, with scheme. */
    readonly endpoint: URL,
    private readonly kmsKey: string | undefined,
    options: AwsSecretsManagerOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.pageSize = Math.min(100, Math.max(1, options.pageSize ?? 100));
    this.pendingDeletionWaitMs = options.pendingDeletionWaitMs ?? 5_000;
  }

  /**
   * Loads the AWS SDK, creates a client and checks that the endpoint answers.
   *
   * Credentials: static ones when any of access key, secret key or session token is set, else
   * the SDK's default provider chain (environment, shared files, SSO, container and instance
   * roles). An endpoint without scheme means `https://`.
   * @throws KeyStoreUnreachableError when the endpoint does not answer
   * @throws Error when the endpoint is not a URL
   */
  static async connect(config: AwsSecretsManagerConfig, options: AwsSecretsManagerOptions = {}): Promise<AwsSecretsManagerKeyStore> {
    const endpoint = endpointUrl(config.endpoint);
    const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    const sdk = await import('@aws-sdk/client-secrets-manager');
    const clientConfig: SecretsManagerClientConfig = {
      region: config.region,
      endpoint: endpoint.href,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
    };
    const c = config.credentials;
    if (c && (c.accessKey || c.secretKey || c.sessionToken)) {
      clientConfig.credentials = { accessKeyId: c.accessKey ?? '', secretAccessKey: c.secretKey ?? '', ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
    }
    const store = new AwsSecretsManagerKeyStore(sdk, new sdk.SecretsManagerClient(clientConfig), endpoint, config.kmsKey || undefined, options);
    return checkedStore(store);
  }

  async status(): Promise<KeyStoreState> {
    return { latencyMs: await probeEndpoint(this.endpoint, this.timeoutMs, 'aws') };
  }

  async create(name: string, value: Uint8Array): Promise<void> {
    const what = `failed to create '${name}'`;
    if (!isValidSecretName(name)) throw new Error(`aws: ${what}: not a valid secret name`);
    const input = { Name: name, ...secretValue(value), ...(this.kmsKey ? { KmsKeyId: this.kmsKey } : {}) };
    const deadline = Date.now() + this.pendingDeletionWaitMs;
    for (let delay = 100; ; delay = Math.min(2 * delay, 1_000)) {
      try {
        await this.send(what, (signal) => this.client.send(new this.sdk.CreateSecretCommand(input), { abortSignal: signal }));
        return;
      } catch (err) {
        const type = serviceErrorName(err);
        if (type === 'ResourceExistsException') throw new KesError('KES_ERR_KEY_EXISTS');
        if (type !== 'InvalidRequestException') throw this.failure(what, err);
        // The name belongs to a secret scheduled for deletion: wait for a forced deletion to end.
        if (Date.now() + delay > deadline) {
          throw new Error(
            `aws: ${what}: a secret with this name is scheduled for deletion; restore it or delete it without recovery window to reuse the name (${serviceErrorMessage(err)})`,
          );
        }
        await sleep(delay);
      }
    }
  }

  async get(name: string): Promise<Uint8Array> {
    if (!isValidSecretName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    return (await this.readCurrent(`failed to get '${name}'`, name)).value;
  }

  /**
   * Compare-and-swap with version stages (KeyStore.replace):
   * 1. `GetSecretValue`: the value of the version labelled AWSCURRENT, and its VersionId;
   * 2. that value must be expected, byte for byte, else KeyStoreConflictError (nothing written);
   * 3. `PutSecretValue` with a new ClientRequestToken (the new VersionId) and `VersionStages:
   *    [OPENKES_PENDING]`: a new version that is not current yet;
   * 4. `UpdateSecretVersionStage` moves AWSCURRENT to it with `RemoveFromVersionId` = the
   *    version read in 1. Secrets Manager refuses the move when AWSCURRENT is no longer on that
   *    version, so of concurrent replaces from one version exactly one moves it.
   * When the move is refused, the current version is read again: the new version (an SDK retry
   * of a move that had been made) → success; no secret → KES_ERR_KEY_NOT_FOUND; another version
   * with another value → conflict; another version with the expected value (written back by
   * another writer) → the move is tried again from that version. The pending label is then
   * removed from the new version (best effort): a version without labels is deprecated, and
   * Secrets Manager deletes such versions itself.
   */
  async replace(name: string, expected: Uint8Array, value: Uint8Array): Promise<void> {
    const what = `failed to replace '${name}'`;
    if (!isValidSecretName(name)) throw new KesError('KES_ERR_KEY_NOT_FOUND');
    const read = await this.readCurrent(what, name);
    if (read.versionId === '') throw new Error(`aws: ${what}: GetSecretValue answered without a VersionId`);
    if (!Buffer.from(expected).equals(read.value)) throw new KeyStoreConflictError(`aws: '${name}' was changed by another writer`);
    // Sent as ClientRequestToken, so the SDK's retries of the put are idempotent.
    const versionId = randomUUID();
    const put = { SecretId: name, ClientRequestToken: versionId, VersionStages: [PENDING_STAGE], ...secretValue(value) };
    try {
      await this.send(what, (signal) => this.client.send(new this.sdk.PutSecretValueCommand(put), { abortSignal: signal }));
    } catch (err) {
      if (serviceErrorName(err) === undefined) throw this.failure(what, err);
      await this.readCurrent(what, name); // KES_ERR_KEY_NOT_FOUND when the secret is gone (or scheduled for deletion)
      throw this.failure(what, err);
    }
    for (let from = read.versionId; ; ) {
      const move = { SecretId: name, VersionStage: CURRENT_STAGE, MoveToVersionId: versionId, RemoveFromVersionId: from };
      try {
        await this.send(what, (signal) => this.client.send(new this.sdk.UpdateSecretVersionStageCommand(move), { abortSignal: signal }));
        break;
      } catch (err) {
        // Without an answer the move may or may not have been made: the caller reads again.
        if (serviceErrorName(err) === undefined) throw this.failure(what, err);
        const now = await this.currentOrNone(what, name);
        if (now?.versionId === versionId) break; // moved by an attempt whose answer was lost
        if (now !== undefined && now.versionId !== from && Buffer.from(expected).equals(now.value)) {
          from = now.versionId; // another writer put the expected value back: still due
          continue;
        }
        await this.unlabel(name, versionId);
        if (now === undefined) throw new KesError('KES_ERR_KEY_NOT_FOUND');
        if (now.versionId !== from) throw new KeyStoreConflictError(`aws: '${name}' was changed by another writer`);
        throw this.failure(what, err); // refused for another reason (e.g. AccessDeniedException)
      }
    }
    await this.unlabel(name, versionId);
  }

  async delete(name: string): Promise<void> {
    await this.get(name); // KES_ERR_KEY_NOT_FOUND when there is nothing to delete
    const what = `failed to delete '${name}'`;
    try {
      await this.send(what, (signal) => this.client.send(new this.sdk.DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }), { abortSignal: signal }));
    } catch (err) {
      if (serviceErrorName(err) === 'ResourceNotFoundException') throw new KesError('KES_ERR_KEY_NOT_FOUND');
      throw this.failure(what, err);
    }
  }

  /**
   * The names starting with prefix, in byte order.
   *
   * `ListSecrets` returns secrets by creation date, not by name, so no page can be produced
   * before the last one is read: the names matching prefix are collected (the service's `name`
   * filter narrows the pages, and each name is checked here again), then sorted and produced.
   * Memory is therefore bounded by the number of matching names, not by a page. Secrets scheduled
   * for deletion are not listed.
   */
  async *list(prefix: string): AsyncIterable<string> {
    // A prefix with a character no secret name may hold matches nothing.
    if (prefix !== '' && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(prefix)) return;
    const what = `failed to list '${prefix}'`;
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const input = { MaxResults: this.pageSize, ...(token ? { NextToken: token } : {}), ...(prefix ? { Filters: [{ Key: 'name' as const, Values: [prefix] }] } : {}) };
      let page: { SecretList?: { Name?: string; DeletedDate?: Date }[]; NextToken?: string };
      try {
        page = await this.send(what, (signal) => this.client.send(new this.sdk.ListSecretsCommand(input), { abortSignal: signal }));
      } catch (err) {
        throw this.failure(what, err);
      }
      for (const s of page.SecretList ?? []) {
        if (s.Name !== undefined && s.DeletedDate === undefined && s.Name.startsWith(prefix)) names.add(s.Name);
      }
      token = page.NextToken;
    } while (token);
    yield* [...names].sort(compareNames);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /**
   * The value and VersionId of the version labelled AWSCURRENT.
   * @throws KesError KES_ERR_KEY_NOT_FOUND when the secret does not exist or is scheduled for deletion
   */
  private async readCurrent(what: string, name: string): Promise<{ value: Uint8Array; versionId: string }> {
    let out: { SecretString?: string; SecretBinary?: Uint8Array; VersionId?: string };
    try {
      out = await this.send(what, (signal) => this.client.send(new this.sdk.GetSecretValueCommand({ SecretId: name, VersionStage: CURRENT_STAGE }), { abortSignal: signal }));
    } catch (err) {
      // InvalidRequestException: the secret is scheduled for deletion, i.e. gone for KES.
      const type = serviceErrorName(err);
      if (type === 'ResourceNotFoundException' || type === 'InvalidRequestException') throw new KesError('KES_ERR_KEY_NOT_FOUND');
      throw this.failure(what, err);
    }
    const versionId = out.VersionId ?? '';
    if (out.SecretString !== undefined) return { value: Buffer.from(out.SecretString, 'utf8'), versionId };
    if (out.SecretBinary !== undefined) return { value: Buffer.from(out.SecretBinary), versionId };
    throw new Error(`aws: ${what}: the secret has neither SecretString nor SecretBinary`);
  }

  /** Like readCurrent, but undefined when the secret is gone. */
  private async currentOrNone(what: string, name: string): Promise<{ value: Uint8Array; versionId: string } | undefined> {
    try {
      return await this.readCurrent(what, name);
    } catch (err) {
      if (err instanceof KesError) return undefined;
      throw err;
    }
  }

  /**
   * Removes the pending label from a version a replace wrote. Best effort: it fails harmlessly
   * when a later replace has moved the label, and a label left behind moves with the next one.
   */
  private async unlabel(name: string, versionId: string): Promise<void> {
    const input = { SecretId: name, VersionStage: PENDING_STAGE, RemoveFromVersionId: versionId };
    await this.send(`failed to unlabel a version of '${name}'`, (signal) => this.client.send(new this.sdk.UpdateSecretVersionStageCommand(input), { abortSignal: signal })).catch(() => undefined);
  }

  /** Runs one SDK call, aborted and failed with KeyStoreUnreachableError after timeoutMs. */
  private async send<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new KeyStoreUnreachableError(`aws: ${what}: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([call(controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The error of a failed call: unreachable without an HTTP answer, a plain Error otherwise. */
  private failure(what: string, err: unknown): Error {
    if (err instanceof KeyStoreUnreachableError) return err;
    if (isNetworkError(err)) return new KeyStoreUnreachableError(`aws: ${what}: service not reachable: ${(err as Error).message}`);
    return new Error(`aws: ${what}: ${serviceErrorMessage(err)}`);
  }
}

/**
 * The endpoint as a URL; `https://` is assumed when it has no scheme, as in KES configs
 * (`endpoint: secretsmanager.us-east-2.amazonaws.com`).
 * @throws Error when it is not a valid URL
 */
export function endpointUrl(endpoint: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  try {
    return new URL(withScheme);
  } catch {
    throw new Error(`aws: endpoint '${endpoint}' is not a valid URL`);
  }
}

/** SecretString for valid UTF-8 (every entry the server writes), else SecretBinary. */
function secretValue(value: Uint8Array): { SecretString: string } | { SecretBinary: Uint8Array } {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const text = bytes.toString('utf8');
  return Buffer.byteLength(text) === bytes.length && Buffer.from(text, 'utf8').equals(bytes) ? { SecretString: text } : { SecretBinary: Uint8Array.from(bytes) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
