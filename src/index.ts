/**
 * openkes: a KES-compatible key encryption server.
 *
 * The public server API: identities, policies, crypto formats, key stores and the key cache.
 */
export { KesError, isKesError, ERRORS, type KesErrorCode } from './api/errors.js';
export { identityOfCertificate, identityOfPublicKey, rawSubjectPublicKeyInfo, CertificateError, type Identity } from './auth/identity.js';
export { ApiKey, ApiKeyError } from './auth/api-key.js';
export { isValidName, isValidPattern, patternPrefix } from './policy/names.js';
export { Policy, type PolicyRules } from './policy/policy.js';
export { PolicySet, PolicyConfigError, type PolicyConfig } from './policy/policy-set.js';
export { SecretKey, KEY_SIZE, type RandomSource } from './crypto/secret-key.js';
export { HmacKey } from './crypto/hmac-key.js';
export { parseKeyType, type KeyType } from './crypto/key-type.js';
export { encodeKeyVersion, parseKeyVersion, KeyVersionError, type KeyVersion } from './crypto/key-version.js';
export { parseCiphertext, encodeCiphertext, type SealedMessage } from './crypto/ciphertext.js';
export { Timestamp } from './util/time.js';
export { type KeyStore, type KeyStoreState, KeyStoreUnreachableError, listAll } from './keystore/keystore.js';
export { MemKeyStore } from './keystore/memory/memory.js';
export { FsKeyStore, type FsKeyStoreOptions } from './keystore/fs/fs.js';
export { KeyCache, DEFAULT_CACHE_EXPIRY, type CacheExpiry, type KeyCacheOptions } from './keystore/cache.js';
export { EtcdKeyStore } from './keystore/etcd/etcd.js';
export { PostgresKeyStore } from './keystore/postgres/postgres.js';
export { VaultKeyStore } from './keystore/vault/vault.js';
export { AwsSecretsManagerKeyStore } from './keystore/aws/secrets-manager.js';
export { GcpSecretManagerKeyStore } from './keystore/gcp/secret-manager.js';
export { AzureKeyVaultKeyStore } from './keystore/azure/key-vault.js';
export { FortanixKeyStore } from './keystore/fortanix/sdkms.js';
export { KeySecureKeyStore } from './keystore/gemalto/keysecure.js';
export { KeyControlKeyStore } from './keystore/entrust/keycontrol.js';
export { connectKeyStore, UnsupportedKeyStoreError } from './keystore/registry.js';
export { KesServer, type StartOptions } from './server/server.js';
export { parseConfig, loadConfigFile } from './config/parse-config.js';
export { serverConfig } from './config/defaults.js';
export type { ServerConfig, KeyStoreConfig } from './config/types.js';
