/**
 * Transport: the named middleware pipeline on global fetch.
 * @packageDocumentation
 */
export { createFetchHandler, type FetchLike } from './fetch-handler.js';
export { authMiddleware, type TokenProvider } from './middleware/auth.js';
export { errorsMiddleware } from './middleware/errors.js';
export { loggingMiddleware } from './middleware/logging.js';
export { microversionMiddleware } from './middleware/microversion.js';
export { requestIdMiddleware } from './middleware/request-id.js';
export {
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  parseRetryAfter,
  type RetryDeps,
  retryMiddleware,
} from './middleware/retry.js';
export { timeoutMiddleware } from './middleware/timeout.js';
export { Pipeline, type StepPosition, cloneRequest } from './pipeline.js';
export { REDACTED, redactBody, redactHeaders } from './redact.js';
export type {
  CallOptions,
  Handler,
  HttpMethod,
  HttpRequest,
  HttpResponse,
  Logger,
  Middleware,
  ResponseMetadata,
  RetryPolicy,
} from './types.js';
export { createPipeline, type PipelineOptions } from './create-pipeline.js';
export { type BuildRequestInit, type QueryValue, buildRequest, withQuery } from './request.js';
