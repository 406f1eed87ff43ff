/**
 * The terminal handler: sends the request with global `fetch` and parses the body.
 * @packageDocumentation
 */
import { isOneShotBody } from './request.js';
import type { Handler, HttpRequest, HttpResponse } from './types.js';

/** The subset of `fetch` the SDK needs; injectable for tests. @example `const f: FetchLike = fetch` */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Creates the terminal handler around a fetch implementation.
 *
 * @example
 * ```ts
 * const terminal = createFetchHandler(fetch, 'my-app/1.0');
 * ```
 */
export function createFetchHandler(fetchImpl: FetchLike = globalThis.fetch, userAgent = 'cinderbox-sdk'): Handler {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const headers = new Headers(req.headers);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    if (!headers.has('user-agent')) headers.set('user-agent', userAgent);
    const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers };
    if (req.rawBody !== undefined) {
      if (!headers.has('content-type')) headers.set('content-type', 'application/octet-stream');
      init.body = req.rawBody as NonNullable<RequestInit['body']>;
      // Node's fetch needs half duplex to send a streamed body.
      if (isOneShotBody(req.rawBody)) init.duplex = 'half';
    } else if (req.body !== undefined) {
      init.body = JSON.stringify(req.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    if (req.signal) init.signal = req.signal;
    const res = await fetchImpl(req.url, init);
    const streamed = req.responseType === 'stream' && res.status < 400 && req.method !== 'HEAD';
    const text = req.method === 'HEAD' || streamed ? '' : await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: parseBody(text, res.headers.get('content-type')),
      stream: streamed ? (res.body ?? new Blob([]).stream()) : undefined,
      url: req.url,
      $metadata: {
        status: res.status,
        requestId: res.headers.get('x-openstack-request-id') ?? res.headers.get('x-compute-request-id') ?? undefined,
        clientRequestId: undefined,
        attempts: 1,
        totalRetryDelayMs: 0,
        microversion: res.headers.get('openstack-api-version') ?? undefined,
      },
    };
  };
}

/** Parses a response body: JSON when it says or looks so, else the text; undefined when empty. @internal */
export function parseBody(text: string, contentType: string | null): unknown {
  if (!text) return undefined;
  const looksJson = contentType?.includes('json') || /^\s*[[{]/.test(text);
  if (!looksJson) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
