/**
 * The default terminal handler for JSON calls: keep-alive connections (the HTTP/1.1 pool for http, node:https for https).
 * @packageDocumentation
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { parseBody } from './fetch-handler.js';
import { Http1Pool } from './http1.js';
import { ENFORCES_DEADLINE } from './pipeline.js';
import type { Handler, HttpRequest, HttpResponse } from './types.js';

/** Options for {@link createNodeHttpHandler}. */
export interface NodeHttpHandlerOptions {
  userAgent?: string | undefined;
  /** Idle sockets kept per host for reuse. Default 16. */
  maxFreeSockets?: number | undefined;
  /** Handles what this transport does not: raw/streamed bodies and streamed responses. */
  fallback: Handler;
}

/**
 * Sends JSON requests over keep-alive connections with Nagle off — plain http through {@link Http1Pool},
 * https through node:https agents — and hands raw or streamed bodies to `fallback` (the fetch handler). Per small
 * request, global fetch (undici) costs about twice the CPU of node:http, and node:http about three times that of
 * the pool (bench/sdk/client-cpu.ts).
 *
 * @example
 * ```ts
 * const terminal = createNodeHttpHandler({ fallback: createFetchHandler(fetch) });
 * ```
 */
export function createNodeHttpHandler(options: NodeHttpHandlerOptions): Handler {
  const userAgent = options.userAgent ?? 'cinderbox-sdk';
  const agentOptions = { keepAlive: true, maxFreeSockets: options.maxFreeSockets ?? 16, noDelay: true };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  // Agents must not keep the process alive once the caller is done.
  for (const agent of [httpAgent, httpsAgent]) {
    agent.on('free', (socket) => socket.unref());
  }
  const pool = new Http1Pool({ maxFreeSockets: options.maxFreeSockets });
  const handler = (req: HttpRequest): Promise<HttpResponse> => {
    if (req.rawBody !== undefined || req.responseType === 'stream') return viaFallback(req);
    if (req.url.startsWith('http:')) return viaPool(req);
    return new Promise<HttpResponse>((resolveOuter, rejectOuter) => {
      let done = () => {};
      const resolve = (r: HttpResponse) => {
        done();
        resolveOuter(r);
      };
      const reject = (e: unknown) => {
        done();
        rejectOuter(e);
      };
      const headers: Record<string, string> = {};
      req.headers.forEach((value, key) => {
        headers[key] = value;
      });
      headers['accept'] ??= 'application/json';
      headers['user-agent'] ??= userAgent;
      let payload: string | undefined;
      if (req.body !== undefined) {
        payload = JSON.stringify(req.body);
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = String(Buffer.byteLength(payload));
      }
      const https = req.url.startsWith('https:');
      const send = https ? httpsRequest : httpRequest;
      const outgoing = send(
        req.url,
        { method: req.method, headers, agent: https ? httpsAgent : httpAgent },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          // A connection lost mid-body ends the response without 'end' (the promise settles once; later calls are no-ops).
          res.on('close', () => {
            if (!res.complete) reject(new Error(`${req.method} ${req.url}: connection closed before the response ended`));
          });
          res.on('end', () => {
            const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
            resolve(toResponse(req, res.statusCode ?? 0, rawToHeaders(res.rawHeaders), text));
          });
        },
      );
      // Idle pooled sockets are unref'd (see above); one carrying a request must hold the process open.
      outgoing.on('socket', (socket) => socket.ref());
      outgoing.on('error', reject);
      // One abort listener, removed when the exchange ends: http.request's own `signal` option costs about as much
      // per call as the rest of this handler (it tracks the stream's end through extra listeners).
      const signal = req.signal;
      if (signal) {
        if (signal.aborted) {
          outgoing.destroy(abortError(signal));
          return;
        }
        const onAbort = () => {
          const e = abortError(signal);
          outgoing.destroy(e);
          reject(e); // also when the response is already streaming in
        };
        signal.addEventListener('abort', onAbort, { once: true });
        done = () => signal.removeEventListener('abort', onAbort);
      }
      const deadline = req.deadline;
      if (deadline) {
        const timer = setTimeout(() => {
          deadline.expired = true;
          const e = new Error(`${req.method} ${req.url}: deadline of ${deadline.ms} ms passed`);
          outgoing.destroy(e);
          reject(e);
        }, deadline.ms);
        const previous = done;
        done = () => {
          clearTimeout(timer);
          previous();
        };
      }
      outgoing.end(payload);
    });
  };

  function viaPool(req: HttpRequest): Promise<HttpResponse> {
    const signal = req.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const headers: Record<string, string> = {};
    req.headers.forEach((value, key) => {
      headers[key] = value;
    });
    headers['accept'] ??= 'application/json';
    headers['user-agent'] ??= userAgent;
    // The pool frames the body itself.
    delete headers['content-length'];
    delete headers['host'];
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const exchange = pool.request({ method: req.method, url: new URL(req.url), headers, body: payload });
    let cleanup = () => {};
    if (signal) {
      const onAbort = () => exchange.abort(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    const deadline = req.deadline;
    if (deadline) {
      const timer = setTimeout(() => {
        deadline.expired = true;
        exchange.abort(new Error(`${req.method} ${req.url}: deadline of ${deadline.ms} ms passed`));
      }, deadline.ms);
      const previous = cleanup;
      cleanup = () => {
        clearTimeout(timer);
        previous();
      };
    }
    return exchange.response.then(
      (res) => {
        cleanup();
        return toResponse(req, res.status, rawToHeaders(res.rawHeaders), res.body.toString('utf8'));
      },
      (e: unknown) => {
        cleanup();
        throw e;
      },
    );
  }

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

function rawToHeaders(raw: readonly string[]): Headers {
  const h = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!);
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
