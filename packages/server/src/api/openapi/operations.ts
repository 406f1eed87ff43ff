import { blockStorageOperations, identityOperations, type ApiName, type Operation } from '@cinderbox/api-schema';

/**
 * The operation lists the documents are generated from and the route-coverage test compares with the routes.
 * CBR's list is written on its own branch (`packages/api-schema/src/cbr/`): until it merges, its document is
 * built from an empty list; the merge replaces `[]` with `cbrOperations`.
 */
export const SERVED_OPERATIONS: Readonly<Record<ApiName, readonly Operation[]>> = {
  'block-storage': blockStorageOperations,
  cbr: [],
  identity: identityOperations,
};
