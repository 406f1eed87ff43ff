/**
 * The default terminal handler for JSON calls: node:http/https on keep-alive agents.
 * @packageDocumentation
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { parseBody } from './fetch-handler.js';
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
 * Sends JSON requests with node:http (or https) through keep-alive agents with Nagle off, and hands raw or
 * streamed bodies to `fallback` (the fetch handler). Node's global fetch (undici) costs about twice as much
 * per small request as node:http on the same persistent connection, which dominates a sequential
 * get-by-id loop; see bench/sdk.
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
  return (req: HttpRequest): Promise<HttpResponse> => {
    if (req.rawBody !== undefined || req.responseType === 'stream') return options.fallback(req);
    return new Promise<HttpResponse>((resolve, reject) => {
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
        { method: req.method, headers, agent: https ? httpsAgent : httpAgent, signal: req.signal },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
            const responseHeaders = toHeaders(res);
            const status = res.statusCode ?? 0;
            resolve({
              status,
              headers: responseHeaders,
              body: req.method === 'HEAD' ? undefined : parseBody(text, responseHeaders.get('content-type')),
              stream: undefined,
              url: req.url,
              $metadata: {
                status,
                requestId:
                  responseHeaders.get('x-openstack-request-id') ?? responseHeaders.get('x-compute-request-id') ?? undefined,
                clientRequestId: undefined,
                attempts: 1,
                totalRetryDelayMs: 0,
                microversion: responseHeaders.get('openstack-api-version') ?? undefined,
              },
            });
          });
        },
      );
      // Idle pooled sockets are unref'd (see above); one carrying a request must hold the process open.
      outgoing.on('socket', (socket) => socket.ref());
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  };
}

function toHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!);
  return h;
}
