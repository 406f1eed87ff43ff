/**
 * The default terminal handler for JSON calls: keep-alive connections through undici (http and https).
 * @packageDocumentation
 */
import { Agent, type Dispatcher } from 'undici';
import { DeadlineQueue } from './deadlines.js';
import { parseBody } from './fetch-handler.js';
import { HeaderMap } from './headers.js';
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
 * default CA store, as node:https does) with its `dispatch()` callback API, and hands raw or streamed bodies to
 * `fallback` (the fetch handler). `dispatch()` spares the per-call response stream, async resource and abort
 * emitter that `request()` builds: a whole `getSnapshot` then costs about what bare node:http does for the same
 * GET, and global fetch about twice that (bench/sdk/client-cpu.ts). Framing, 1xx, keep-alive hints, stale-socket
 * handling and the retry of an idempotent request whose reused socket the server closed are undici's.
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
  const deadlines = new DeadlineQueue();
  const handler = (req: HttpRequest): Promise<HttpResponse> => {
    if (req.rawBody !== undefined || req.responseType === 'stream') return viaFallback(req);
    const signal = req.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const headers = toPlainHeaders(req.headers);
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
    const { origin, path } = splitUrl(req.url);
    return new Promise<HttpResponse>((resolve, reject) => {
      const exchange = new Exchange(req, resolve, reject);
      if (signal) {
        const onAbort = () => exchange.stop(abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        exchange.cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
      const deadline = req.deadline;
      if (deadline) {
        const entry = deadlines.add(deadline.ms, () => {
          deadline.expired = true;
          exchange.stop(new Error(`${req.method} ${req.url}: deadline of ${deadline.ms} ms passed`));
        });
        exchange.cleanups.push(() => deadlines.remove(entry));
      }
      agent.dispatch({ origin, path, method: req.method, headers, body: payload }, exchange);
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

/**
 * One request's undici handler (the dispatcher's callback interface: no response stream, no async resource, no
 * abort emitter, which `request()` builds per call) and the settling of its promise. An abort or an expired
 * deadline settles at once and tells undici to tear the exchange down.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly cleanups: Array<() => void> = [];
  #settled = false;
  #abort: ((reason?: Error) => void) | undefined;
  #stopped: Error | undefined;
  #status = 0;
  #headers: Map<string, string> | undefined;
  #chunks: Buffer[] = [];

  constructor(
    readonly req: HttpRequest,
    readonly resolve: (res: HttpResponse) => void,
    readonly reject: (e: unknown) => void,
  ) {}

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    for (const f of this.cleanups) f();
    return true;
  }

  stop(e: Error): void {
    if (!this.#settle()) return;
    this.#stopped = e;
    this.#abort?.(e);
    this.reject(e);
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.#stopped) abort(this.#stopped);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null): boolean {
    this.#status = statusCode;
    this.#headers = parseRawHeaders(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (!this.#settle()) return;
    const chunks = this.#chunks;
    const text =
      chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    try {
      this.resolve(toResponse(this.req, this.#status, HeaderMap.fromTrusted(this.#headers ?? new Map()), text));
    } catch (e) {
      this.reject(e);
    }
  }

  onError(err: Error): void {
    if (this.#settle()) this.reject(err);
  }
}

/** Lower-cased response headers from undici's raw name/value list (repeated names joined with ", "). */
function parseRawHeaders(raw: Buffer[] | string[] | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!raw) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    const prev = out.get(name);
    out.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return out;
}

function toPlainHeaders(h: Headers): Record<string, string> {
  if (h instanceof HeaderMap) return h.toObject();
  const out: Record<string, string> = {};
  h.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

// Plain http(s) URLs whose path has only characters that need no normalisation: split by hand rather than parse
// (a WHATWG URL per call). Anything else (userinfo, IPv6, percent-less unicode, dot segments...) goes through URL.
const SIMPLE_URL = /^(https?:\/\/[A-Za-z0-9.-]+(?::\d+)?)(\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)/;

/** Origin and path (with query) of an absolute URL. @internal */
export function splitUrl(url: string): { origin: string; path: string } {
  const m = SIMPLE_URL.exec(url);
  if (m && !DOT_SEGMENT.test(m[2] ?? '')) return { origin: m[1]!.toLowerCase(), path: m[2] ?? '/' };
  const u = new URL(url);
  return { origin: u.origin, path: u.pathname + u.search };
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
