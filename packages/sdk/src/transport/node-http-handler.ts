/**
 * The default terminal handler for JSON calls: keep-alive connections through undici (http and https).
 * @packageDocumentation
 */
import { EventEmitter } from 'node:events';
import { Agent } from 'undici';
import { parseBody } from './fetch-handler.js';
import { ENFORCES_DEADLINE } from './pipeline.js';
import type { Handler, HttpRequest, HttpResponse } from './types.js';

/** Options for {@link createNodeHttpHandler}. */
export interface NodeHttpHandlerOptions {
  userAgent?: string | undefined;
  /**
   * Accepted for compatibility and ignored: undici does not cap idle sockets by count; it closes each one after
   * the server's `Keep-Alive: timeout` hint (4 s without one), which bounds them in time instead.
   */
  maxFreeSockets?: number | undefined;
  /** Handles what this transport does not: raw/streamed bodies and streamed responses. */
  fallback: Handler;
}

/**
 * Sends JSON requests through an undici `Agent` (keep-alive, Nagle off, one pool per origin; TLS with Node's
 * default CA store, as node:https does) with its `request()` API, and hands raw or streamed bodies to `fallback`
 * (the fetch handler). `request()` costs about two thirds of node:http's CPU per small call and global fetch
 * about twice node:http (bench/sdk/client-cpu.ts). Framing, 1xx, keep-alive hints, stale-socket handling and
 * the retry of an idempotent request whose reused socket the server closed are undici's.
 *
 * @example
 * ```ts
 * const terminal = createNodeHttpHandler({ fallback: createFetchHandler(fetch) });
 * ```
 */
export function createNodeHttpHandler(options: NodeHttpHandlerOptions): Handler {
  const userAgent = options.userAgent ?? 'cinderbox-sdk';
  const agent = new Agent({
    // The pipeline's deadline (timeout middleware) bounds each attempt; undici's own 300 s header/body timeouts
    // would only cut off a call that a caller deliberately gave a longer timeout.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const handler = (req: HttpRequest): Promise<HttpResponse> => {
    if (req.rawBody !== undefined || req.responseType === 'stream') return viaFallback(req);
    const signal = req.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const headers: Record<string, string> = {};
    req.headers.forEach((value, key) => {
      headers[key] = value;
    });
    headers['accept'] ??= 'application/json';
    headers['user-agent'] ??= userAgent;
    // undici frames the body and names the host itself.
    delete headers['content-length'];
    delete headers['host'];
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    return new Promise<HttpResponse>((resolveOuter, rejectOuter) => {
      // An EventEmitter, not an AbortController: undici takes either, and Node's EventTarget costs tens of
      // microseconds per call (see AttemptDeadline).
      const cancel = new Cancel();
      let cleanup = () => {};
      let settled = false;
      const settle = () => {
        if (settled) return false;
        settled = true;
        cleanup();
        return true;
      };
      // An abort or an expired deadline settles the call at once; undici then tears down the exchange.
      const stop = (e: Error) => {
        if (!settle()) return;
        cancel.fire(e);
        rejectOuter(e);
      };
      if (signal) {
        const onAbort = () => stop(abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      const deadline = req.deadline;
      if (deadline) {
        const timer = setTimeout(() => {
          deadline.expired = true;
          stop(new Error(`${req.method} ${req.url}: deadline of ${deadline.ms} ms passed`));
        }, deadline.ms);
        const previous = cleanup;
        cleanup = () => {
          clearTimeout(timer);
          previous();
        };
      }
      const url = new URL(req.url);
      agent
        .request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: req.method,
          headers,
          body: payload,
          signal: cancel,
        })
        .then(async (res) => {
          const text = await res.body.text();
          if (settle()) resolveOuter(toResponse(req, res.statusCode, toHeaders(res.headers), text));
        })
        .catch((e: unknown) => {
          if (settle()) rejectOuter(e);
        });
    });
  };

  // The fallback (fetch) takes deadlines as a signal; its timer stops once the response is in hand, so a streamed
  // download is not cut off by the per-attempt limit.
  async function viaFallback(req: HttpRequest): Promise<HttpResponse> {
    const deadline = req.deadline;
    if (!deadline) return options.fallback(req);
    const controller = new AbortController();
    const timer = setTimeout(() => {
      deadline.expired = true;
      controller.abort();
    }, deadline.ms);
    const signal = req.signal ? AbortSignal.any([req.signal, controller.signal]) : controller.signal;
    try {
      return await options.fallback({ ...req, signal, deadline: undefined });
    } finally {
      clearTimeout(timer);
    }
  }

  return Object.assign(handler, { [ENFORCES_DEADLINE]: true as const });
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new DOMException('This operation was aborted', 'AbortError'), { cause: signal.reason });
}

/** A one-shot abort source in the shape undici accepts as `signal` (an EventEmitter with `aborted`/`reason`). */
class Cancel extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const h = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value === 'string') h.append(name, value);
    else for (const v of value) h.append(name, v);
  }
  return h;
}

function toResponse(req: HttpRequest, status: number, headers: Headers, text: string): HttpResponse {
  return {
    status,
    headers,
    body: req.method === 'HEAD' ? undefined : parseBody(text, headers.get('content-type')),
    stream: undefined,
    url: req.url,
    $metadata: {
      status,
      requestId: headers.get('x-openstack-request-id') ?? headers.get('x-compute-request-id') ?? undefined,
      clientRequestId: undefined,
      attempts: 1,
      totalRetryDelayMs: 0,
      microversion: headers.get('openstack-api-version') ?? undefined,
    },
  };
}
