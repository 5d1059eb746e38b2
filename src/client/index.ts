/**
 * openkes/client: a TypeScript SDK for KES servers (openkes and MinIO KES).
 */
export { KesClient, type ClientOptions, type CallOptions, type RotateKeyOptions, type DeleteKeyOptions } from './client.js';
export { ConnectionError, errorFromResponse } from './errors.js';
export type { TlsProblem } from './tls-problems.js';
export { normalizeEndpoint } from './endpoints.js';
export { KesError, isKesError, type KesErrorCode } from '../api/errors.js';
export { ApiKey } from '../auth/api-key.js';
export type * from './types.js';
export * from './kms-client.js';
