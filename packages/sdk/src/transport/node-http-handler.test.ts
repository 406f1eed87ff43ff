import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { RequestTimeoutError } from '../errors.js';
import { createPipeline } from './create-pipeline.js';
import { buildRequest } from './request.js';

let server: Server;
let base: string;
let connections = 0;
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/hang') return; // never answers
      if (req.url === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words');
        return;
      }
      res
        .writeHead(req.url === '/missing' ? 404 : 200, {
          'content-type': 'application/json',
          'x-openstack-request-id': 'req-server-1',
          'openstack-api-version': 'volume 3.65',
        })
        .end(JSON.stringify(req.url === '/missing' ? { itemNotFound: { message: 'gone', code: 404 } } : { echo: body || null }));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('the default transport reuses one keep-alive connection for sequential calls and reads ids, microversion, JSON and text', async () => {
  const p = createPipeline();
  const before = connections;
  const first = await p.handle(buildRequest('POST', `${base}/a`, { body: { snapshot: { name: 'é' } }, retry: false }));
  const second = await p.handle(buildRequest('GET', `${base}/b`, { query: { limit: 2 } }));
  const text = await p.handle(buildRequest('GET', `${base}/text`));
  assert.equal(connections - before, 1, 'one TCP connection for three calls');
  assert.deepEqual(first.body, { echo: '{"snapshot":{"name":"é"}}' });
  const sent = seen.find((s) => s.url === '/a')!;
  assert.equal(sent.headers['content-type'], 'application/json');
  assert.equal(sent.headers['content-length'], String(Buffer.byteLength('{"snapshot":{"name":"é"}}')));
  assert.equal(sent.headers['user-agent'], 'cinderbox-sdk');
  assert.match(String(sent.headers['x-openstack-request-id']), /^req-/);
  assert.equal(second.$metadata.requestId, 'req-server-1');
  assert.equal(second.$metadata.microversion, 'volume 3.65');
  assert.equal(second.headers.get('content-type'), 'application/json');
  assert.equal(seen.find((s) => s.url === '/b?limit=2')?.method, 'GET');
  assert.equal(text.body, 'plain words');
});

test('errors and per-attempt timeouts behave as with fetch: typed 404, RequestTimeoutError after the deadline', async () => {
  const p = createPipeline({ retry: { maxAttempts: 1 } });
  await assert.rejects(p.handle(buildRequest('GET', `${base}/missing`)), (e: any) => e.status === 404 && e.requestId === 'req-server-1');
  await assert.rejects(p.handle(buildRequest('GET', `${base}/hang`, { timeoutMs: 100 })), RequestTimeoutError);
  // The same deadline on the fetch path (a raw body), and a call that beats its deadline is not cut off by it.
  await assert.rejects(
    p.handle(buildRequest('PUT', `${base}/hang`, { timeoutMs: 100, rawBody: new Uint8Array([1]) })),
    RequestTimeoutError,
  );
  const quick = await p.handle(buildRequest('GET', `${base}/quick`, { timeoutMs: 100 }));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(quick.status, 200);
});

test('raw bodies go through fetch (the fallback), JSON calls do not touch fetch', async () => {
  const calls: string[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: string, init: RequestInit) => {
    calls.push(String(input));
    return original(input, init);
  }) as typeof fetch;
  try {
    const p = createPipeline();
    await p.handle(buildRequest('GET', `${base}/json`));
    const raw = await p.handle(buildRequest('PUT', `${base}/raw`, { rawBody: new Uint8Array([1, 2, 3]) }));
    assert.deepEqual(raw.body, { echo: '\u0001\u0002\u0003' });
  } finally {
    globalThis.fetch = original;
  }
  assert.deepEqual(calls, [`${base}/raw`]);
});

test('a caller abort ends the call at once with AbortError, and a call with an already aborted signal is not sent', async () => {
  const p = createPipeline({ retry: { maxAttempts: 1 } });
  const ac = new AbortController();
  const pending = p.handle(buildRequest('GET', `${base}/hang`, { signal: ac.signal }));
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(pending, (e: any) => e.name === 'AbortError');
  const sentBefore = seen.length;
  await assert.rejects(p.handle(buildRequest('GET', `${base}/x`, { signal: AbortSignal.abort() })), (e: any) => e.name === 'AbortError');
  assert.equal(seen.length, sentBefore);
});
