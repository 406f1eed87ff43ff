/**
 * `@cinderbox/sdk`: an openstacksdk-style TypeScript SDK for OpenStack Block Storage (v2, v3).
 *
 * @example
 * ```ts
 * import { Connection } from '@cinderbox/sdk';
 * const conn = await Connection.fromCloud('cinderbox');
 * for await (const s of conn.blockStorage.snapshots()) console.log(s.id, s.status);
 * ```
 * @packageDocumentation
 */
export * from './auth/index.js';
export * from './block-storage/index.js';
export * from './cbr/index.js';
export * from './config/index.js';
export {
  BLOCK_STORAGE_MAX_MICROVERSION,
  Connection,
  type ConnectionOptions,
  connectionOptionsFromCloud,
} from './connection.js';
export * from './errors.js';
export * from './identity/index.js';
export * from './resource/index.js';
export * from './service/index.js';
export * from './transport/index.js';
export { type Sleep, sleep } from './util/abort.js';
export { compareMicroversions, maxMicroversion, minMicroversion, parseMicroversion } from './util/microversion.js';
