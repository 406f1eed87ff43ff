/**
 * Resource model: fields, dirty tracking, operations, pagination, waiters.
 * @packageDocumentation
 */
export { Crud, type CrudClass, deleteResource, type IgnoreMissingOptions, pathId, refTo } from './crud.js';
export {
  BASE_FIELDS,
  type ContractFields,
  decodeValue,
  type FieldDef,
  type FieldMap,
  type FieldType,
  parseProgress,
  snakeCase,
  type WireKey,
  type WireRecord,
  wireRecord,
} from './field.js';
export { type ListOptions, nextLink, type Page, Paginator } from './pagination.js';
export { type QueryMap, splitQuery } from './query.js';
export {
  type AttributesOf,
  type BaseAttributes,
  type Capabilities,
  type FindOptions,
  type OperationOptions,
  Resource,
  type ResourceClass,
  type ResourceInit,
  type ResourceInput,
} from './resource.js';
export {
  type WaitForStatusOptions,
  type WaitOptions,
  type WaitResult,
  type WaitState,
  waitForDelete,
  waitForStatus,
} from './waiter.js';
