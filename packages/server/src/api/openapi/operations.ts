import { blockStorageOperations, cbrOperations, identityOperations, type ApiName, type Operation } from '@cinderbox/api-schema';

/** The operation lists the documents are generated from and the route-coverage test compares with the routes. */
export const SERVED_OPERATIONS: Readonly<Record<ApiName, readonly Operation[]>> = {
  'block-storage': blockStorageOperations,
  cbr: cbrOperations,
  identity: identityOperations,
};
