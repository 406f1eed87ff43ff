/**
 * Wire-format facts shared by the server and the SDK. No runtime dependencies beyond constants, so both
 * sides agree on them without the SDK importing server code.
 */

/** Block Storage v3 microversion range served (Cinder Zed, as in Debian bookworm). */
export const BLOCK_STORAGE_MIN_MICROVERSION = '3.0';
export const BLOCK_STORAGE_MAX_MICROVERSION = '3.70';

/** Cinder's fault envelope: `{"itemNotFound": {"code": 404, "message": "…"}}`. */
export type CinderFaultName =
  | 'badRequest'
  | 'unauthorized'
  | 'forbidden'
  | 'itemNotFound'
  | 'badMethod'
  | 'conflictingRequest'
  | 'overLimit'
  | 'badMediaType'
  | 'notImplemented'
  | 'serviceUnavailable'
  | 'computeFault';

export type CinderFault = Partial<Record<CinderFaultName, { code: number; message: string; retryAfter?: string }>>;

/** Keystone's error body. */
export interface KeystoneError {
  error: { code: number; title: string; message: string };
}

/** CBR's error body. */
export interface CbrError {
  error_code: string;
  error_msg: string;
}

/** Request header carrying the microversion, and its service name for block storage. */
export const MICROVERSION_HEADER = 'OpenStack-API-Version';
export const BLOCK_STORAGE_SERVICE_TYPE = 'volume';
export type { ApiName, HttpMethod, Operation, OperationResponse, VersionRange } from './operation.js';
/** CBR request, query and response schemas (a namespace: block storage has its own Backup, Member, …). */
export * as cbrContract from './cbr/index.js';
export { cbrOperations } from './cbr/operations.js';
