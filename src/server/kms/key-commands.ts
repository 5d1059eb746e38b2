/**
 * MinKMS's key commands (docs/minkms.md "Keys"): the keys of the default enclave are the KES
 * API's keys, with the same versions; other enclaves' keys live under their own entry names
 * (keystore/entry-names.ts). Versions are the key ring's: 0 means the latest.
 */
import { createHmac } from 'node:crypto';
import { isKesError, KesError, kesError } from '../../api/errors.js';
import { OPS } from '../../api/operations.js';
import { kmsIdentityOf } from '../../auth/kms-credentials.js';
import type { KeyRing } from '../../crypto/key-ring.js';
import { parseKeyType } from '../../crypto/key-type.js';
import type { KeyVersion } from '../../crypto/key-version.js';
import { encodeKeyVersion } from '../../crypto/key-version.js';
import { HmacKey } from '../../crypto/hmac-key.js';
import { randomBytes } from '../../crypto/random.js';
import { SecretKey } from '../../crypto/secret-key.js';
import { KeyVersionError } from '../../crypto/key-version.js';
import { isInternalEntry, keyEntries, keyEntry, DEFAULT_ENCLAVE } from '../../keystore/entry-names.js';
import * as M from '../../kms/messages.js';
import { CMD } from '../../kms/commands.js';
import { Timestamp } from '../../util/time.js';
import { storeCall } from '../handlers/common.js';
import { allows } from '../access.js';
import { changeRing } from '../handlers/ring-change.js';
import { command, listPrefix, listSubject, validName, type CommandSpec, type Exec } from './command.js';
import { describedPage } from './paging.js';

/** The longest data key KEY:GENERATE makes. */
const MAX_DATA_KEY = 1024;

const keySubject = (req: { name: string }) => req.name;

/** The store entry of a request's key. @throws KesError 400 for an invalid name */
const entryOf = (x: Exec, name: string) => keyEntry(x.enclave, validName('key', name));

/** A key's ring. @throws KesError 404, 502 */
function ringOf(x: Exec, name: string): Promise<KeyRing> {
  const entry = entryOf(x, name);
  const cached = x.state.cache.peek(entry);
  if (cached) return Promise.resolve(cached);
  return storeCall('read key', async () => {
    try {
      return await x.state.cache.get(entry);
    } catch (err) {
      if (err instanceof KeyVersionError) throw new Error(`key '${entry}' has an invalid entry: ${err.message}`, { cause: err });
      throw err;
    }
  });
}

/** Version n of a ring, the latest for 0. @throws KesError 404 */
function versionOf(ring: KeyRing, n: number): [number, KeyVersion] {
  const number = n === 0 ? ring.latest : n;
  const v = ring.version(number);
  if (!v) throw new KesError('KES_ERR_KEY_NOT_FOUND');
  return [number, v];
}

/** A key type of a request: '' is the server's choice. @throws KesError 400 */
function keyTypeOf(x: Exec, type: string) {
  if (type === '') return x.state.keyType;
  const t = parseKeyType(type);
  if (!t) throw kesError('KMS_ERR_BAD_REQUEST', 'keyType', { type });
  return t;
}

/** An identity as the wire shows it: `h1:`, or '' for none (or one that is not an identity). */
export function wireIdentity(hex: string): string {
  return /^[0-9a-f]{64}$/.test(hex) ? kmsIdentityOf(hex) : '';
}

function keyStatus(name: string, number: number, v: KeyVersion): Partial<M.KeyStatusResponse> {
  return { name, version: number, type: v.key.type, createdAt: v.createdAt, createdBy: wireIdentity(v.createdBy) };
}

async function storeNewKey(x: Exec, name: string, key: SecretKey): Promise<void> {
  const entry = encodeKeyVersion({ key, hmacKey: HmacKey.generate(), createdAt: Timestamp.now(), createdBy: x.identity });
  await storeCall('create key', () => x.state.cache.create(entryOf(x, name), entry));
  x.ctx.auditMessage = `secret key '${name}' created`;
}

export const KEY_COMMANDS: ReadonlyMap<number, CommandSpec<any, any>> = new Map<number, CommandSpec<any, any>>([
  [
    CMD.KEY_CREATE,
    command({
      request: M.CreateKeyRequest,
      operation: (req) => (req.addVersion ? OPS.keyRotate : OPS.keyCreate),
      subject: keySubject,
      async run(x, req) {
        const key = SecretKey.generate(keyTypeOf(x, req.type));
        if (!req.addVersion) return storeNewKey(x, req.name, key);
        const ring = await changeRing(x.state.cache, entryOf(x, req.name), (r) => r.rotated({ key, createdAt: Timestamp.now(), createdBy: x.identity }));
        x.ctx.auditMessage = `secret key '${req.name}' rotated to version ${ring.latest}`;
        return undefined;
      },
    }),
  ],
  [
    CMD.KEY_IMPORT,
    command({
      request: M.ImportKeyRequest,
      operation: () => OPS.keyImport,
      subject: keySubject,
      run(x, req) {
        const type = keyTypeOf(x, req.type);
        if (req.key.length !== 32) throw kesError('KMS_ERR_BAD_REQUEST', 'keySize');
        const key = new SecretKey(type, req.key);
        req.key.fill(0);
        return storeNewKey(x, req.name, key);
      },
    }),
  ],
  [
    CMD.KEY_DELETE,
    command({
      request: M.DeleteKeyRequest,
      operation: (req) => (req.allVersions ? OPS.keyDelete : OPS.keyDeleteVersion),
      subject: keySubject,
      async run(x, req) {
        if (req.allVersions && req.version !== 0) throw kesError('KMS_ERR_BAD_REQUEST', 'version');
        const entry = entryOf(x, req.name);
        let whole = req.allVersions;
        if (!whole) {
          // The last remaining version goes with its key.
          await changeRing(x.state.cache, entry, (r) => {
            const [number] = versionOf(r, req.version);
            if (r.list().length > 1) return r.retired(number);
            whole = true;
            return undefined;
          });
        }
        if (whole) {
          // Deleting the only version deletes the key: that needs the right to delete keys.
          if (!req.allVersions && !allows(x.rights, OPS.keyDelete, req.name)) throw new KesError('KMS_ERR_PERMISSION');
          await storeCall('delete key', () => x.state.cache.delete(entry));
        }
        x.ctx.auditMessage = whole ? `secret key '${req.name}' deleted` : `version ${req.version || 'latest'} of secret key '${req.name}' deleted`;
        return undefined;
      },
    }),
  ],
  [
    CMD.KEY_STATUS,
    command({
      request: M.KeyStatusRequest,
      response: M.KeyStatusResponse,
      operation: () => OPS.keyStatus,
      subject: keySubject,
      async run(x, req) {
        const [number, v] = versionOf(await ringOf(x, req.name), req.version);
        return keyStatus(req.name, number, v);
      },
    }),
  ],
  [
    CMD.KEY_LIST,
    command({
      request: M.ListRequest,
      response: M.ListKeysResponse,
      operation: () => OPS.keyList,
      subject: listSubject,
      async run(x, req) {
        const prefix = listPrefix(req.prefix);
        const names = keyNames(x, prefix, keyEntries(x.enclave).length, req.continueAt);
        const { items, continueAt } = await storeCall('list keys', () =>
          describedPage(names, req, prefix, async (name) => {
            try {
              const ring = await ringOf(x, name);
              const status = keyStatus(name, ring.latest, ring.current);
              // When and by whom a key was made is its status's: shown where the caller may read that.
              if (!allows(x.rights, OPS.keyStatus, name)) Object.assign(status, { createdAt: undefined, createdBy: '' });
              return M.KeyStatusResponse.create(status);
            } catch (err) {
              if (isKesError(err, 'KES_ERR_KEY_NOT_FOUND')) return undefined; // deleted since listed
              throw err;
            }
          }),
        );
        return { keys: items, continueAt };
      },
    }),
  ],
  [
    CMD.KEY_ENCRYPT,
    command({
      request: M.EncryptRequest,
      response: M.EncryptResponse,
      operation: () => OPS.keyEncrypt,
      subject: keySubject,
      async run(x, req) {
        const ring = await ringOf(x, req.name);
        const [number] = versionOf(ring, req.version);
        return ring.encryptWith(number, req.plaintext, req.associatedData);
      },
    }),
  ],
  [
    CMD.KEY_DECRYPT,
    command({
      request: M.DecryptRequest,
      response: M.DecryptResponse,
      operation: () => OPS.keyDecrypt,
      subject: keySubject,
      async run(x, req) {
        const ring = await ringOf(x, req.name);
        // The ciphertext names its version (MinIO sends 0); a named version must exist.
        if (req.version !== 0) versionOf(ring, req.version);
        return { plaintext: ring.decrypt(req.ciphertext, req.associatedData).plaintext };
      },
    }),
  ],
  [
    CMD.KEY_GENERATE,
    command({
      request: M.GenerateKeyRequest,
      response: M.GenerateKeyResponse,
      operation: () => OPS.keyGenerate,
      subject: keySubject,
      async run(x, req) {
        const length = req.length === 0 ? 32 : req.length;
        if (length > MAX_DATA_KEY) throw kesError('KMS_ERR_BAD_REQUEST', 'length');
        const ring = await ringOf(x, req.name);
        const [number] = versionOf(ring, req.version);
        const plaintext = randomBytes(length);
        return { version: number, plaintext, ciphertext: ring.encryptWith(number, plaintext, req.associatedData).ciphertext };
      },
    }),
  ],
  [
    CMD.KEY_MAC,
    command({
      request: M.MACRequest,
      response: M.MACResponse,
      operation: () => OPS.keyMac,
      subject: keySubject,
      async run(x, req) {
        const ring = await ringOf(x, req.name);
        const [number, v] = versionOf(ring, req.version);
        return { version: number, mac: macKeyOf(ring, number, v).sum(req.message) };
      },
    }),
  ],
]);

/**
 * The MAC key of a version: version 1's is the key's HMAC key, whose MACs KES's
 * `/v1/key/hmac/<name>` answers (and MinIO derives credentials from); a later version's (or a
 * legacy key's, which has none) is derived from its secret key, so that each version MACs
 * differently, as MinKMS's versions do.
 */
function macKeyOf(ring: KeyRing, number: number, v: KeyVersion): HmacKey {
  if (number === 1 && ring.hmacKey) return ring.hmacKey;
  return new HmacKey(createHmac('sha256', v.key.bytes()).update(MAC_KEY_LABEL).digest());
}

const MAC_KEY_LABEL = 'openkes MinKMS KEY:MAC key';

/**
 * The key names of an enclave starting with prefix (in the default enclave: KES's keys), from
 * the name a listing page continues at: the store may start there.
 */
async function* keyNames(x: Exec, prefix: string, offset: number, from = ''): AsyncIterable<string> {
  const start = from.startsWith(prefix) ? keyEntries(x.enclave, from) : '';
  for await (const entry of x.state.cache.list(keyEntries(x.enclave, prefix), start)) {
    if (x.enclave === DEFAULT_ENCLAVE && isInternalEntry(entry)) continue;
    yield entry.slice(offset);
  }
}
