/**
 * Transport: the named middleware pipeline on global fetch.
 * @packageDocumentation
 */

export { createPipeline, type PipelineOptions } from './create-pipeline.js';
export { createFetchHandler, type FetchLike } from './fetch-handler.js';
export { createNodeHttpHandler, type NodeHttpHandlerOptions } from './node-http-handler.js';
export { authMiddleware, type TokenProvider } from './middleware/auth.js';
export { errorsMiddleware } from './middleware/errors.js';
export { loggingMiddleware } from './middleware/logging.js';
export { microversionMiddleware } from './middleware/microversion.js';
export { requestIdMiddleware } from './middleware/request-id.js';
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  type RetryDeps,
  retryMiddleware,
} from './middleware/retry.js';
export { timeoutMiddleware } from './middleware/timeout.js';
export { cloneRequest, ENFORCES_DEADLINE, Pipeline, type StepPosition } from './pipeline.js';
export { REDACTED, redactBody, redactHeaders } from './redact.js';
export { type BuildRequestInit, buildRequest, isOneShotBody, type QueryValue, withQuery } from './request.js';
export type {
  AttemptDeadline,
  CallOptions,
  Handler,
  HttpMethod,
  HttpRequest,
  HttpResponse,
  Logger,
  Middleware,
  RawBody,
  ResponseMetadata,
  ResponseType,
  RetryPolicy,
} from './types.js';
