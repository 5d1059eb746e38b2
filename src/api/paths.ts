/**
 * KES API paths (protocol.md §6, §7). Paths ending in `/` are subtree routes whose remainder is
 * the resource (a key, policy or identity name, or a listing pattern).
 */
export const PATH_VERSION = '/version';
export const PATH_READY = '/v1/ready';
export const PATH_STATUS = '/v1/status';
export const PATH_METRICS = '/v1/metrics';
export const PATH_API = '/v1/api';

export const PATH_KEY_CREATE = '/v1/key/create/';
export const PATH_KEY_IMPORT = '/v1/key/import/';
export const PATH_KEY_DESCRIBE = '/v1/key/describe/';
export const PATH_KEY_LIST = '/v1/key/list/';
export const PATH_KEY_DELETE = '/v1/key/delete/';
export const PATH_KEY_GENERATE = '/v1/key/generate/';
export const PATH_KEY_ENCRYPT = '/v1/key/encrypt/';
export const PATH_KEY_DECRYPT = '/v1/key/decrypt/';
export const PATH_KEY_HMAC = '/v1/key/hmac/';
/** Key rings (openkes, docs/key-rings.md): not in KES's /v1/api listing. */
export const PATH_KEY_ROTATE = '/v1/key/rotate/';
export const PATH_KEY_DELETE_VERSION = '/v1/key/delete-version/';
export const PATH_KEY_REWRAP = '/v1/key/rewrap/';
/** Legacy (v0.19 … 2023-10), still used by MinIO releases of 2022–2023. */
export const PATH_KEY_BULK_DECRYPT = '/v1/key/bulk/decrypt/';

export const PATH_POLICY_DESCRIBE = '/v1/policy/describe/';
export const PATH_POLICY_READ = '/v1/policy/read/';
export const PATH_POLICY_LIST = '/v1/policy/list/';

export const PATH_IDENTITY_DESCRIBE = '/v1/identity/describe/';
export const PATH_IDENTITY_LIST = '/v1/identity/list/';
export const PATH_IDENTITY_SELF_DESCRIBE = '/v1/identity/self/describe';

export const PATH_LOG_ERROR = '/v1/log/error';
export const PATH_LOG_AUDIT = '/v1/log/audit';

/**
 * MinKMS protocol (docs/minkms.md): commands in frames to `/v1/kms` (the default enclave) and
 * `/v1/kms/<enclave>`, health, backup, and the debug endpoints.
 */
export const PATH_KMS = '/v1/kms';
export const PATH_KMS_ENCLAVE = '/v1/kms/';
export const PATH_HEALTH_LIVE = '/v1/health/live';
export const PATH_HEALTH_READY = '/v1/health/ready';
export const PATH_DB = '/v1/db';
export const PATH_DEBUG_LOG = '/v1/debug/log';
export const PATH_DEBUG_PPROF = '/v1/debug/pprof';
export const PATH_DEBUG_RESTART = '/v1/debug/restart';
/** MinKMS's inter-node traffic: no client sends it; openkes servers form no cluster. */
export const PATH_RPC = '/v1/rpc/';
