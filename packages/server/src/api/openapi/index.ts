import { openApiDocument, renderIndexHtml, renderReferenceHtml, type ApiName, type Operation } from '@cinderbox/api-schema';
import type { FastifyInstance } from 'fastify';

const APIS: { api: ApiName; title: string }[] = [
  { api: 'block-storage', title: 'Block Storage (Cinder v3)' },
  { api: 'cbr', title: 'Cloud Backup and Recovery (CBR v3)' },
  { api: 'identity', title: 'Identity (Keystone v3 subset)' },
];

/**
 * The published contract: each API's OpenAPI 3.1 document and its reference page, unauthenticated like the
 * version documents. Generated on first request, once, from the operation lists the caller passes: generating
 * them all at registration cost a noticeable part of the server's start-up (bench/scale).
 */
export function registerOpenApiRoutes(app: FastifyInstance, operations: Readonly<Record<ApiName, readonly Operation[]>>): void {
  const nav = [{ href: './', label: 'All APIs' }, ...APIS.map((a) => ({ href: `${a.api}.html`, label: a.title }))];
  const index = once(() => renderIndexHtml(APIS.map((a) => ({ title: a.title, page: `${a.api}.html`, document: `${a.api}.json` }))));
  app.get('/openapi/', { config: { public: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(index()));
  // The index links its pages relatively, which needs the trailing slash.
  app.get('/openapi', { config: { public: true } }, async (_req, reply) => reply.redirect('/openapi/', 301));
  for (const { api } of APIS) {
    const doc = once(() => openApiDocument(api, operations[api]));
    const json = once(() => JSON.stringify(doc()));
    const html = once(() => renderReferenceHtml(doc(), nav));
    app.get(`/openapi/${api}.json`, { config: { public: true } }, async (_req, reply) => reply.type('application/json').send(json()));
    app.get(`/openapi/${api}.html`, { config: { public: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(html()));
  }
}

function once<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: make() }).v;
}
