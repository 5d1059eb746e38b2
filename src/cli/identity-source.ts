/**
 * The argument of `kes identity` and `kes identity of`: an API key (KES `kes:v1:` or MinKMS
 * `k1:`/`k2:`), an identity (hex or MinKMS `h1:`), or a file whose first PEM block is a
 * certificate, a public key or a (possibly encrypted) PKCS #8 private key.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ApiKey, ApiKeyError } from '../auth/api-key.js';
import { CertificateError, identityOfCertificate, identityOfPublicKey, type Identity } from '../auth/identity.js';
import { KmsApiKey, KmsApiKeyError, identityFromEither, isKmsApiKeyText, parseKmsIdentity } from '../auth/kms-credentials.js';
import { decodePem, PemError } from '../pki/pem.js';
import { UsageError } from './flags.js';

/** What an argument turned out to be. */
export type IdentitySource =
  | { kind: 'api-key'; key: ApiKey }
  | { kind: 'kms-api-key'; key: KmsApiKey }
  | { kind: 'identity'; identity: Identity }
  | { kind: 'certificate'; file: string; identity: Identity }
  | { kind: 'public-key'; file: string; identity: Identity }
  | { kind: 'private-key'; file: string; key: KeyObject }
  | { kind: 'encrypted-private-key'; file: string; pem: string };

/** Base64 long enough to be an API key without its `kes:v1:` prefix: never echoed. */
const KEY_LIKE = /^[A-Za-z0-9+/=]{40,}$/;

/**
 * Reads an argument: text starting with `kes:`, `k1:` or `k2:` is an API key and text starting
 * with `h1:` an identity; anything else is a file or, when no such file exists, a hex identity or
 * an API key without prefix. Error messages never repeat key material.
 * @throws UsageError for text that starts like an API key or `h1:` identity but is not one
 * @throws Error with a one-line message when the file cannot be read or holds nothing usable
 */
export async function readIdentitySource(arg: string): Promise<IdentitySource> {
  if (arg.startsWith('kes:')) return { kind: 'api-key', key: parseKey(arg) };
  if (isKmsApiKeyText(arg)) return { kind: 'kms-api-key', key: parseKmsKey(arg) };
  if (arg.startsWith('h1:')) return { kind: 'identity', identity: parseH1(arg) };
  let text: string;
  try {
    text = await readFile(arg, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ENAMETOOLONG') throw new Error(`cannot read '${arg}': ${(err as Error).message}`);
    const identity = identityFromEither(arg);
    if (identity !== undefined) return { kind: 'identity', identity };
    try {
      return { kind: 'api-key', key: ApiKey.parse(arg) };
    } catch {
      const what = KEY_LIKE.test(arg) ? 'the argument' : `'${arg}'`;
      throw new Error(`${what} is neither an API key (kes:v1:...) nor an existing file`);
    }
  }
  return readPemFile(arg, text);
}

function parseKey(text: string): ApiKey {
  try {
    return ApiKey.parse(text);
  } catch (err) {
    if (err instanceof ApiKeyError) throw new UsageError(err.message);
    throw err;
  }
}

function parseKmsKey(text: string): KmsApiKey {
  try {
    return KmsApiKey.parse(text);
  } catch (err) {
    if (err instanceof KmsApiKeyError) throw new UsageError(err.message);
    throw err;
  }
}

function parseH1(text: string): Identity {
  const identity = parseKmsIdentity(text);
  if (identity === undefined) throw new UsageError('invalid MinKMS identity: expected h1: and 43 base64url characters');
  return identity;
}

function readPemFile(file: string, text: string): IdentitySource {
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (err) {
    if (err instanceof PemError) throw new Error(`'${file}': ${err.message}`);
    throw err;
  }
  const block = blocks[0];
  if (block === undefined) throw new Error(`'${file}' contains no PEM data: expected a PEM certificate or private key`);
  switch (block.type) {
    case 'CERTIFICATE':
      try {
        return { kind: 'certificate', file, identity: identityOfCertificate(block.der) };
      } catch (err) {
        if (err instanceof CertificateError) throw new Error(`'${file}' does not hold a valid certificate: ${err.message}`);
        throw err;
      }
    case 'PUBLIC KEY':
      try {
        createPublicKey({ key: block.der, format: 'der', type: 'spki' });
      } catch {
        throw new Error(`'${file}' does not hold a valid public key`);
      }
      return { kind: 'public-key', file, identity: identityOfPublicKey(block.der) };
    case 'PRIVATE KEY':
      try {
        return { kind: 'private-key', file, key: createPrivateKey({ key: block.der, format: 'der', type: 'pkcs8' }) };
      } catch {
        throw new Error(`'${file}' does not hold a valid PKCS #8 private key`);
      }
    case 'ENCRYPTED PRIVATE KEY':
      return { kind: 'encrypted-private-key', file, pem: block.text };
    case 'EC PRIVATE KEY':
    case 'RSA PRIVATE KEY':
      throw new Error(`'${file}' holds a legacy ${block.type}: convert it to PKCS #8 with 'openssl pkey -in ${file} -out key.pem' and use that file`);
    default:
      throw new Error(`'${file}' starts with a PEM block of type '${block.type}': expected a CERTIFICATE or a PKCS #8 PRIVATE KEY`);
  }
}

/**
 * The API key of an Ed25519 private key.
 * @throws Error naming the file and the key's type when it is not Ed25519
 */
export function apiKeyOfPrivateKey(file: string, key: KeyObject): ApiKey {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the private key in '${file}' is an ${key.asymmetricKeyType?.toUpperCase() ?? 'unknown'} key: only Ed25519 keys can be API keys`);
  }
  return ApiKey.fromPrivateKey(key);
}

/**
 * The MinKMS API key of a private key: `k1` for Ed25519, `k2` for ECDSA P-256, P-384 or P-521.
 * @throws Error naming the file and the key's type for other keys
 */
export function kmsApiKeyOfPrivateKey(file: string, key: KeyObject): KmsApiKey {
  try {
    return KmsApiKey.fromPrivateKey(key);
  } catch (err) {
    if (!(err instanceof KmsApiKeyError)) throw err;
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const type = `${key.asymmetricKeyType?.toUpperCase() ?? 'unknown'}${curve === undefined ? '' : ` (${curve})`}`;
    throw new Error(`the private key in '${file}' is an ${type} key: only Ed25519 and ECDSA P-256, P-384 or P-521 keys can be MinKMS API keys`);
  }
}

/**
 * Decrypts an encrypted PKCS #8 private key.
 * @throws Error `wrong password ...` when the password does not decrypt it
 */
export function decryptPrivateKey(file: string, pem: string, password: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase: password });
  } catch {
    throw new Error(`cannot decrypt the private key in '${file}': wrong password, or the file is damaged`);
  }
}
