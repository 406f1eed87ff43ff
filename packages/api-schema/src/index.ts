/**
 * Wire-format facts shared by the server and the SDK. No runtime dependencies beyond constants, so both
 * sides agree on them without the SDK importing server code.
 */

export type { ApiName, HttpMethod, Operation, OperationResponse, VersionRange } from './operation.js';
export * from './microversions.js';
export * from './errors.js';
export * from './block-storage/index.js';
export * from './identity/index.js';
export * from './openapi/index.js';
/** CBR request, query and response schemas (a namespace: block storage has its own Backup, Member, …). */
export * as cbrContract from './cbr/index.js';
export { cbrOperations } from './cbr/operations.js';
