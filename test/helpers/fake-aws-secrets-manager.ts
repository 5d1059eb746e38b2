/**
 * A fake AWS Secrets Manager for tests: an HTTP server on 127.0.0.1 that speaks the service's
 * JSON protocol as the API reference documents it (POST /, `Content-Type:
 * application/x-amz-json-1.1`, `X-Amz-Target: secretsmanager.<Operation>`, JSON bodies, errors
 * as `{"__type", "message"}` with the documented HTTP status).
 *
 * Operations: CreateSecret, GetSecretValue (by VersionId or VersionStage, default AWSCURRENT),
 * PutSecretValue, UpdateSecretVersionStage, DeleteSecret (with a recovery window or forced) and
 * ListSecrets (MaxResults, NextToken, the `name` filter with `!` negation, IncludePlannedDeletion).
 *
 * Versions and staging labels follow the API reference: a secret holds versions, each with its
 * labels; a label is on at most one version. PutSecretValue adds a version and moves the labels
 * it names onto it (AWSCURRENT when it names none; the first version always gets AWSCURRENT).
 * UpdateSecretVersionStage moves or removes one label and fails when the label is on a version
 * other than `RemoveFromVersionId`. Moving AWSCURRENT moves AWSPREVIOUS to the version it left.
 * Both run to completion one at a time, so concurrent moves of one label from one version have
 * exactly one winner. Versions without labels ("deprecated") are kept.
 * Requests must carry a SigV4 `Authorization` header naming the configured access key id (the
 * signature itself is not verified); the session token is checked when one is configured.
 *
 * Switches for failure tests: {@link FakeSecretsManager.inject} answers with an error, delays
 * or drops requests; `forceDeleteDelayMs` makes forced deletion asynchronous, as the service
 * documents it ("there might be a short delay before the secret is permanently deleted");
 * {@link FakeSecretsManager.beforeServe} and {@link FakeSecretsManager.call} let a test act as
 * another client at the moment a request arrives.
 */
import * as http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface FakeSecretsManagerOptions {
  /** The only access key id accepted (default `AKIAFAKEEXAMPLE00001`). */
  accessKeyId?: string;
  /** When set, requests must carry it in `X-Amz-Security-Token`. */
  sessionToken?: string;
  /** The region in ARNs (default `us-east-1`). */
  region?: string;
  /** A forced delete removes the secret only after this delay (default 0: at once). */
  forceDeleteDelayMs?: number;
}

/** What the fake saw of one request. */
export interface RecordedRequest {
  /** The operation of `X-Amz-Target`, or `GET` for a plain GET. */
  operation: string;
  body: Record<string, unknown>;
  /** From the SigV4 credential scope `<key id>/<date>/<region>/<service>/aws4_request`. */
  accessKeyId?: string;
  region?: string;
  service?: string;
  sessionToken?: string;
}

/** A fault applied to matching requests. */
export interface FakeFault {
  /** The operation it applies to (`GET` for plain GETs); every request when absent. */
  operation?: string;
  /** Answer with this error instead of executing the request. */
  error?: { type: string; status: number; message?: string };
  /** Wait this long before answering; `Infinity` never answers. */
  delayMs?: number;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** How many matching requests it applies to (default: all until cleared). */
  times?: number;
}

interface Version {
  id: string;
  secretString?: string;
  secretBinary?: Buffer;
  stages: Set<string>;
  createdDate: number;
}

interface Secret {
  name: string;
  arn: string;
  seq: number;
  /** By version id, oldest first. */
  versions: Map<string, Version>;
  kmsKeyId?: string;
  createdDate: number;
  /** Set while the secret is scheduled for deletion. */
  deletedDate?: number;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const invalidParameter = (message: string) => new ApiError('InvalidParameterException', 400, message);
const notFound = () => new ApiError('ResourceNotFoundException', 400, "Secrets Manager can't find the specified secret.");

/** Secret names: 1…512 of ASCII letters, digits and `/_+=.@-` (CreateSecret `Name`). */
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** Filter values (API_Filter `Values`). */
const FILTER_VALUE = /^!?[a-zA-Z0-9 :_@/+=.\-!]*$/;
const MAX_VALUE = 65536;
const ACCOUNT = '123456789012';
/** ClientRequestToken, VersionId: 32…64 characters. */
const VERSION_ID = /^.{32,64}$/s;
/** Staging labels: 1…256 characters. */
const STAGE = /^.{1,256}$/s;
const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';

/** The fake service; start it with {@link FakeSecretsManager.start}, stop it with close(). */
export class FakeSecretsManager {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  private readonly secrets = new Map<string, Secret>();
  private readonly faults: FakeFault[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private seq = 0;
  /**
   * Called with each request when it arrives, before faults are taken and before it is served:
   * e.g. to change a secret between a client's read and its write, or to inject a fault for
   * this very request.
   */
  beforeServe: ((req: RecordedRequest) => void) | undefined;
  /** The access key id requests must be signed with. */
  readonly accessKeyId: string;
  /** The region in the ARNs of the secrets. */
  readonly region: string;

  private constructor(
    private readonly server: http.Server,
    private readonly options: FakeSecretsManagerOptions,
  ) {
    this.accessKeyId = options.accessKeyId ?? 'AKIAFAKEEXAMPLE00001';
    this.region = options.region ?? 'us-east-1';
  }

  /** Starts a fake on 127.0.0.1 with a free port. */
  static async start(options: FakeSecretsManagerOptions = {}): Promise<FakeSecretsManager> {
    const server = http.createServer();
    const fake = new FakeSecretsManager(server, options);
    server.on('request', (req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** `http://127.0.0.1:<port>`, for the store's `endpoint`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds a fault; faults apply in the order added. */
  inject(fault: FakeFault): void {
    this.faults.push({ ...fault });
  }

  /** Removes every fault. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /**
   * Runs an operation at once, without HTTP, signature or faults, as another client would.
   * @throws Error named after the service's error type (e.g. `InvalidParameterException`)
   */
  call(operation: string, body: Record<string, unknown>): Record<string, unknown> {
    try {
      return this.execute(operation, body);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      throw Object.assign(new Error(err.message), { name: err.type });
    }
  }

  /** The requests of one operation. */
  requestsOf(operation: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  /** The current value (AWSCURRENT) of a secret that is not scheduled for deletion. */
  value(name: string): { secretString?: string; secretBinary?: Buffer; kmsKeyId?: string } | undefined {
    const s = this.secrets.get(name);
    if (!s || s.deletedDate !== undefined) return undefined;
    const v = labelled(s, CURRENT);
    return { secretString: v?.secretString, secretBinary: v?.secretBinary, kmsKeyId: s.kmsKeyId };
  }

  /** The versions of a secret, oldest first, with their labels (sorted). */
  versions(name: string): { id: string; stages: string[] }[] {
    return [...(this.secrets.get(name)?.versions.values() ?? [])].map((v) => ({ id: v.id, stages: [...v.stages].sort() }));
  }

  /** Names of the secrets held, including those scheduled for deletion. */
  names(): string[] {
    return [...this.secrets.keys()];
  }

  /** Stops the server, dropping open connections and pending answers. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 1 << 20) return void req.destroy();
      chunks.push(chunk);
    }
    const target = header(req, 'x-amz-target');
    const operation = req.method === 'POST' && target?.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : req.method === 'GET' ? 'GET' : `${req.method} ${target ?? ''}`;
    const scope = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(header(req, 'authorization') ?? '');
    let body: Record<string, unknown> = {};
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text !== '') body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.send(res, 400, { __type: 'SerializationException', message: 'The request body is not valid JSON.' });
    }
    const recorded: RecordedRequest = { operation, body, accessKeyId: scope?.[1], region: scope?.[3], service: scope?.[4], sessionToken: header(req, 'x-amz-security-token') };
    this.requests.push(recorded);
    this.beforeServe?.(recorded);

    const fault = this.takeFault(operation);
    if (fault?.delayMs !== undefined) {
      if (fault.delayMs === Infinity) return; // never answered; the connection is closed by close()
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => (this.timers.delete(t), resolve()), fault.delayMs);
        this.timers.add(t);
      });
    }
    if (fault?.reset) return void req.socket.destroy();
    if (fault?.error) return this.sendError(res, new ApiError(fault.error.type, fault.error.status, fault.error.message ?? fault.error.type));

    try {
      this.authenticate(req, scope);
      if (req.method !== 'POST' || !target?.startsWith('secretsmanager.')) throw new ApiError('InvalidAction', 400, 'The action or operation requested is invalid.');
      if (!(header(req, 'content-type') ?? '').startsWith('application/x-amz-json-1.1')) throw new ApiError('InvalidAction', 400, 'Content-Type must be application/x-amz-json-1.1.');
      this.send(res, 200, this.execute(operation, body));
    } catch (err) {
      if (err instanceof ApiError) return this.sendError(res, err);
      this.sendError(res, new ApiError('InternalServiceError', 500, 'An error occurred on the server side.'));
    }
  }

  private takeFault(operation: string): FakeFault | undefined {
    const i = this.faults.findIndex((f) => f.operation === undefined || f.operation === operation);
    const fault = this.faults[i];
    if (!fault) return undefined;
    if (fault.times !== undefined && --fault.times <= 0) this.faults.splice(i, 1);
    return fault;
  }

  private authenticate(req: http.IncomingMessage, scope: RegExpExecArray | null): void {
    const auth = header(req, 'authorization');
    if (!auth) throw new ApiError('MissingAuthenticationToken', 403, 'Request is missing Authentication Token');
    if (!auth.startsWith('AWS4-HMAC-SHA256 ') || !scope || !/SignedHeaders=/.test(auth) || !/Signature=[0-9a-f]{64}/.test(auth) || !header(req, 'x-amz-date')) {
      throw new ApiError('IncompleteSignature', 400, 'The request signature does not conform to AWS standards.');
    }
    if (scope[1] !== this.accessKeyId) throw new ApiError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.');
    if (this.options.sessionToken !== undefined && header(req, 'x-amz-security-token') !== this.options.sessionToken) {
      throw new ApiError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.');
    }
  }

  private execute(operation: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (operation) {
      case 'CreateSecret':
        return this.createSecret(body);
      case 'GetSecretValue':
        return this.getSecretValue(body);
      case 'PutSecretValue':
        return this.putSecretValue(body);
      case 'UpdateSecretVersionStage':
        return this.updateSecretVersionStage(body);
      case 'DeleteSecret':
        return this.deleteSecret(body);
      case 'ListSecrets':
        return this.listSecrets(body);
      default:
        throw new ApiError('InvalidAction', 400, `The action ${operation} is not valid for this web service.`);
    }
  }

  private createSecret(body: Record<string, unknown>): Record<string, unknown> {
    const name = body.Name;
    if (typeof name !== 'string' || !NAME.test(name)) throw invalidParameter('Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    const { KmsKeyId: kmsKeyId, ClientRequestToken: token } = body;
    const value = secretValueOf(body);
    if (token !== undefined && (typeof token !== 'string' || !VERSION_ID.test(token))) throw invalidParameter('ClientRequestToken is not valid.');
    const existing = this.secrets.get(name);
    if (existing) {
      if (existing.deletedDate !== undefined) throw new ApiError('InvalidRequestException', 400, "You can't create this secret because a secret with this name is already scheduled for deletion.");
      // A retried request (same ClientRequestToken, same value) is ignored, as documented.
      const retried = typeof token === 'string' ? existing.versions.get(token) : undefined;
      if (!retried || !sameValue(retried, value)) throw new ApiError('ResourceExistsException', 400, `The operation failed because the secret ${name} already exists.`);
      return { ARN: existing.arn, Name: name, VersionId: retried.id };
    }
    const now = Date.now() / 1000;
    const secret: Secret = {
      name,
      arn: `arn:aws:secretsmanager:${this.region}:${ACCOUNT}:secret:${name}-${randomBytes(3).toString('hex')}`,
      seq: ++this.seq,
      versions: new Map(),
      kmsKeyId: typeof kmsKeyId === 'string' ? kmsKeyId : undefined,
      createdDate: now,
    };
    // A secret created without a value has no version until PutSecretValue gives it one.
    const id = typeof token === 'string' ? token : randomUUID();
    if (value) secret.versions.set(id, { id, ...value, stages: new Set([CURRENT]), createdDate: now });
    this.secrets.set(name, secret);
    return { ARN: secret.arn, Name: name, ...(value ? { VersionId: id } : {}) };
  }

  private getSecretValue(body: Record<string, unknown>): Record<string, unknown> {
    const s = this.live(body.SecretId);
    const { VersionId: id, VersionStage: stage } = body;
    if (id !== undefined && (typeof id !== 'string' || !VERSION_ID.test(id))) throw invalidParameter('VersionId is not valid.');
    if (stage !== undefined && (typeof stage !== 'string' || !STAGE.test(stage))) throw invalidParameter('VersionStage is not valid.');
    const byId = typeof id === 'string' ? s.versions.get(id) : undefined;
    const byStage = labelled(s, typeof stage === 'string' ? stage : id === undefined ? CURRENT : undefined);
    // "If you include both this parameter and VersionId, the two parameters must refer to the same secret version."
    const v = id !== undefined && stage !== undefined ? (byId === byStage ? byId : undefined) : (byId ?? byStage);
    if (!v) {
      const what = id !== undefined ? `VersionId: ${String(id)}` : `staging label: ${String(stage ?? CURRENT)}`;
      throw new ApiError('ResourceNotFoundException', 400, `Secrets Manager can't find the specified secret value for ${what}`);
    }
    return {
      ARN: s.arn,
      Name: s.name,
      VersionId: v.id,
      VersionStages: [...v.stages],
      CreatedDate: v.createdDate,
      ...(v.secretString !== undefined ? { SecretString: v.secretString } : { SecretBinary: v.secretBinary!.toString('base64') }),
    };
  }

  /**
   * A new version with the given value. Idempotent for a ClientRequestToken that names a version
   * with the same value; one with another value is refused (versions never change).
   */
  private putSecretValue(body: Record<string, unknown>): Record<string, unknown> {
    const s = this.live(body.SecretId);
    const value = secretValueOf(body);
    if (!value) throw invalidParameter('You must provide either SecretString or SecretBinary.');
    const token = body.ClientRequestToken ?? randomUUID();
    if (typeof token !== 'string' || !VERSION_ID.test(token)) throw invalidParameter('ClientRequestToken is not valid.');
    const stages = body.VersionStages;
    if (stages !== undefined && (!Array.isArray(stages) || stages.length < 1 || stages.length > 20 || !stages.every((x) => typeof x === 'string' && STAGE.test(x)))) {
      throw invalidParameter('VersionStages is not valid.');
    }
    const existing = s.versions.get(token);
    if (existing) {
      if (!sameValue(existing, value)) throw new ApiError('ResourceExistsException', 400, `A version with VersionId ${token} already exists with a different value.`);
      return { ARN: s.arn, Name: s.name, VersionId: existing.id, VersionStages: [...existing.stages] };
    }
    const first = s.versions.size === 0;
    const version: Version = { id: token, ...value, stages: new Set(), createdDate: Date.now() / 1000 };
    s.versions.set(token, version);
    // Without VersionStages AWSCURRENT moves to the new version; the first version always gets it.
    const labels = new Set<string>((stages as string[] | undefined) ?? [CURRENT]);
    if (first) labels.add(CURRENT);
    for (const label of labels) attach(s, label, version);
    return { ARN: s.arn, Name: s.name, VersionId: version.id, VersionStages: [...version.stages] };
  }

  /**
   * Moves a label to MoveToVersionId, or removes it from RemoveFromVersionId. "If the label is
   * attached and you either do not specify this parameter [RemoveFromVersionId], or the version
   * ID does not match, then the operation fails": InvalidParameterException here.
   */
  private updateSecretVersionStage(body: Record<string, unknown>): Record<string, unknown> {
    const s = this.live(body.SecretId);
    const { VersionStage: label, MoveToVersionId: moveTo, RemoveFromVersionId: removeFrom } = body;
    if (typeof label !== 'string' || !STAGE.test(label)) throw invalidParameter('VersionStage is not valid.');
    for (const [field, id] of [['MoveToVersionId', moveTo], ['RemoveFromVersionId', removeFrom]] as const) {
      if (id === undefined) continue;
      if (typeof id !== 'string' || !VERSION_ID.test(id)) throw invalidParameter(`${field} is not valid.`);
      if (!s.versions.has(id)) throw new ApiError('ResourceNotFoundException', 400, `Secrets Manager can't find the specified secret version: ${id}`);
    }
    const holder = labelled(s, label);
    if (moveTo === undefined) {
      if (removeFrom === undefined) throw invalidParameter('Specify MoveToVersionId, RemoveFromVersionId or both.');
      if (holder?.id !== removeFrom) throw invalidParameter(`The staging label ${label} is not attached to version ${String(removeFrom)}.`);
      holder.stages.delete(label);
      return { ARN: s.arn, Name: s.name };
    }
    const target = s.versions.get(moveTo as string)!;
    if (holder && holder !== target && holder.id !== removeFrom) {
      throw invalidParameter(`The staging label ${label} is attached to another version than RemoveFromVersionId; specify the version it is attached to.`);
    }
    attach(s, label, target);
    return { ARN: s.arn, Name: s.name };
  }

  private deleteSecret(body: Record<string, unknown>): Record<string, unknown> {
    const force = body.ForceDeleteWithoutRecovery === true;
    const window = body.RecoveryWindowInDays;
    if (force && window !== undefined) throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    if (window !== undefined && (typeof window !== 'number' || window < 7 || window > 30)) throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    const s = this.lookup(body.SecretId);
    const now = Date.now() / 1000;
    if (!s) {
      // "If you forcibly delete an already deleted or nonexistent secret, the operation does not
      // return ResourceNotFoundException."
      if (force && typeof body.SecretId === 'string') return { Name: body.SecretId, DeletionDate: now };
      throw notFound();
    }
    if (!force) {
      if (s.deletedDate !== undefined) throw new ApiError('InvalidRequestException', 400, "You can't perform this operation on the secret because it was already scheduled for deletion.");
      s.deletedDate = now;
      return { ARN: s.arn, Name: s.name, DeletionDate: now + 86400 * ((window as number | undefined) ?? 30) };
    }
    s.deletedDate ??= now;
    const remove = () => this.secrets.get(s.name) === s && this.secrets.delete(s.name);
    const delay = this.options.forceDeleteDelayMs ?? 0;
    if (delay <= 0) remove();
    else {
      const t = setTimeout(() => (this.timers.delete(t), remove()), delay);
      this.timers.add(t);
    }
    return { ARN: s.arn, Name: s.name, DeletionDate: now };
  }

  private listSecrets(body: Record<string, unknown>): Record<string, unknown> {
    const max = body.MaxResults ?? 100;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) throw invalidParameter('MaxResults must be between 1 and 100.');
    const filters = body.Filters ?? [];
    if (!Array.isArray(filters)) throw invalidParameter('Filters is not valid.');
    const nameFilters: string[] = [];
    for (const f of filters as { Key?: unknown; Values?: unknown }[]) {
      if (f.Key !== 'name') throw invalidParameter(`The fake supports only the name filter, not ${String(f.Key)}.`);
      if (!Array.isArray(f.Values) || f.Values.length < 1 || f.Values.length > 10) throw invalidParameter('Filter values must have 1 to 10 items.');
      for (const v of f.Values) {
        if (typeof v !== 'string' || v.length > 512 || !FILTER_VALUE.test(v)) throw invalidParameter('Invalid filter values.');
        nameFilters.push(v);
      }
    }
    let after = 0;
    if (body.NextToken !== undefined) {
      const parsed = typeof body.NextToken === 'string' ? /^seq:(\d+)$/.exec(Buffer.from(body.NextToken, 'base64').toString()) : null;
      if (!parsed) throw new ApiError('InvalidNextTokenException', 400, 'The NextToken value is invalid.');
      after = Number(parsed[1]);
    }
    const include = body.IncludePlannedDeletion === true;
    // Listed by creation (the documented default order), never by name.
    const matching = [...this.secrets.values()]
      .filter((s) => s.seq > after && (include || s.deletedDate === undefined) && matchesNames(s.name, nameFilters))
      .sort((a, b) => a.seq - b.seq);
    const page = matching.slice(0, max);
    const last = page[page.length - 1];
    return {
      SecretList: page.map((s) => ({
        ARN: s.arn,
        Name: s.name,
        CreatedDate: s.createdDate,
        LastChangedDate: s.createdDate,
        ...(s.deletedDate !== undefined ? { DeletedDate: s.deletedDate } : {}),
        // Versions without labels are deprecated and not listed.
        SecretVersionsToStages: Object.fromEntries([...s.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.id, [...v.stages]])),
      })),
      ...(matching.length > max && last ? { NextToken: Buffer.from(`seq:${last.seq}`).toString('base64') } : {}),
    };
  }

  /** The secret of a SecretId, which must exist and not be scheduled for deletion. */
  private live(id: unknown): Secret {
    const s = this.lookup(id);
    if (!s) throw notFound();
    if (s.deletedDate !== undefined) throw new ApiError('InvalidRequestException', 400, "You can't perform this operation on the secret because it was marked for deletion.");
    return s;
  }

  private lookup(id: unknown): Secret | undefined {
    if (typeof id !== 'string' || id.length === 0) throw invalidParameter('SecretId is not valid.');
    return this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.arn === id);
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(payload), 'x-amzn-requestid': randomUUID() });
    res.end(payload);
  }

  private sendError(res: http.ServerResponse, err: ApiError): void {
    this.send(res, err.status, { __type: err.type, message: err.message });
  }
}

/** The version holding label, if any. */
function labelled(s: Secret, label: string | undefined): Version | undefined {
  if (label === undefined) return undefined;
  for (const v of s.versions.values()) if (v.stages.has(label)) return v;
  return undefined;
}

/** Attaches label to version, removing it from the version that held it; AWSPREVIOUS follows AWSCURRENT. */
function attach(s: Secret, label: string, version: Version): void {
  const holder = labelled(s, label);
  if (holder === version) return;
  holder?.stages.delete(label);
  version.stages.add(label);
  if (label === CURRENT && holder) {
    labelled(s, PREVIOUS)?.stages.delete(PREVIOUS);
    holder.stages.add(PREVIOUS);
  }
}

/**
 * The SecretString or SecretBinary of a request (undefined for neither).
 * @throws ApiError for both, or a value that is not valid
 */
function secretValueOf(body: Record<string, unknown>): { secretString?: string; secretBinary?: Buffer } | undefined {
  const { SecretString: str, SecretBinary: bin } = body;
  if (str !== undefined && bin !== undefined) throw invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
  if (str !== undefined) {
    if (typeof str !== 'string' || Buffer.byteLength(str) > MAX_VALUE) throw invalidParameter('SecretString is not valid.');
    return { secretString: str };
  }
  if (bin !== undefined) {
    const binary = typeof bin === 'string' ? Buffer.from(bin, 'base64') : undefined;
    if (!binary || binary.length > MAX_VALUE) throw invalidParameter('SecretBinary is not valid.');
    return { secretBinary: binary };
  }
  return undefined;
}

function sameValue(v: Version, value: { secretString?: string; secretBinary?: Buffer } | undefined): boolean {
  if (!value) return false;
  if (v.secretString !== undefined || value.secretString !== undefined) return v.secretString === value.secretString;
  return v.secretBinary !== undefined && value.secretBinary !== undefined && v.secretBinary.equals(value.secretBinary);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The `name` filter: case-sensitive prefix match; `!` negates; values are alternatives. */
function matchesNames(name: string, values: string[]): boolean {
  if (values.length === 0) return true;
  const positive = values.filter((v) => !v.startsWith('!'));
  const negative = values.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
  if (negative.some((v) => name.startsWith(v))) return false;
  return positive.length === 0 || positive.some((v) => name.startsWith(v));
}
