/**
 * Resource model: fields, dirty tracking, operations, pagination, waiters.
 * @packageDocumentation
 */
export { type FieldDef, type FieldMap, type FieldType, decodeValue, parseProgress, snakeCase } from './field.js';
export { type ListOptions, type Page, Paginator, nextLink } from './pagination.js';
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
