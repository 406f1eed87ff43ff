/**
 * Async-iterator pagination: `*_links` / `links` / `Link` header, marker fallback, loop guard.
 * @packageDocumentation
 */
import { EndlessPaginationError, InvalidResponseError } from '../errors.js';
import type { ServiceClient } from '../service/service-client.js';
import type { QueryValue } from '../transport/request.js';
import type { CallOptions, HttpResponse, ResponseMetadata } from '../transport/types.js';
import { isRecord } from '../util/objects.js';

/** Options of a list call. */
export interface ListOptions extends CallOptions {
  /** Page size (sent as `limit`). */
  limit?: number | undefined;
  /** Stop after this many items in total (sets `limit` when no page size is given). */
  maxItems?: number | undefined;
  /** `false` = exactly one page. Default true. */
  paginated?: boolean | undefined;
  /** Start after this id. */
  marker?: string | undefined;
}

/** One page of a listing. */
export interface Page<R> {
  items: R[];
  /** `count` from the body (`with_count`, 3.45+). */
  count: number | undefined;
  /** The next link, when the server sent one. */
  nextUrl: string | undefined;
  /** Marker to resume after this page (id of its last item). */
  nextMarker: string | undefined;
  $metadata: ResponseMetadata;
}

/** @internal */
export interface PaginatorInit<R> {
  client: ServiceClient;
  path: string;
  resourcesKey: string | undefined;
  query: Record<string, QueryValue>;
  options: ListOptions & { maxMicroversion?: string | undefined; minMicroversion?: string | undefined };
  build: (item: Record<string, unknown>) => R;
  filter?: ((item: R) => boolean) | undefined;
  /** Runs before the first request; may choose the path (e.g. by negotiated microversion) or throw. */
  prepare?: (() => Promise<{ path?: string; minMicroversion?: string } | undefined>) | undefined;
}

/**
 * Finds the `next` link: `<resources>_links`, `links`, a body `next`, then the `Link` header.
 *
 * @example
 * ```ts
 * nextLink({ snapshots_links: [{ rel: 'next', href: 'http://h/v3/snapshots?marker=x' }] }, 'snapshots', new Headers());
 * ```
 */
export function nextLink(body: unknown, resourcesKey: string | undefined, headers: Headers): string | undefined {
  if (isRecord(body)) {
    for (const key of [resourcesKey ? `${resourcesKey}_links` : undefined, 'links']) {
      if (!key) continue;
      const links = body[key];
      if (Array.isArray(links)) {
        const next = links.find((l) => isRecord(l) && l.rel === 'next');
        if (isRecord(next) && typeof next.href === 'string') return next.href;
      }
    }
    // Keystone: `"links": {"next": "…", "self": "…", "previous": null}`.
    if (isRecord(body.links) && typeof body.links.next === 'string' && body.links.next) return body.links.next;
    if (typeof body.next === 'string' && body.next) return body.next;
  }
  const link = headers.get('link');
  if (link) {
    for (const part of link.split(',')) {
      const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part);
      if (m?.[1]) return m[1];
    }
  }
  return undefined;
}

/**
 * Lazily lists a collection. Iterate items with `for await`, pages with `pages()`, or collect with `toArray()`.
 * Stops on a short page without links (no extra empty request).
 *
 * @example
 * ```ts
 * const all = await conn.blockStorage.snapshots({ status: 'available' }).toArray();
 * for await (const page of conn.blockStorage.backups({}, { limit: 100 }).pages()) console.log(page.items.length, page.nextMarker);
 * ```
 */
export class Paginator<R extends { get(name: string): unknown }> implements AsyncIterable<R> {
  readonly #init: PaginatorInit<R>;

  constructor(init: PaginatorInit<R>) {
    this.#init = init;
  }

  /** Iterates pages. */
  async *pages(): AsyncGenerator<Page<R>> {
    const { client, resourcesKey, build, filter } = this.#init;
    let { path, options } = this.#init;
    const prepared = this.#init.prepare ? await this.#init.prepare() : undefined;
    if (prepared?.path) path = prepared.path;
    if (prepared?.minMicroversion) options = { ...options, minMicroversion: prepared.minMicroversion };
    const params: Record<string, QueryValue> = { ...this.#init.query };
    const limit = options.limit ?? options.maxItems;
    if (limit !== undefined) params.limit = limit;
    if (options.marker !== undefined) params.marker = options.marker;
    let url: string = path;
    let seen = 0;
    let previousMarker: string | undefined;
    for (;;) {
      const res: HttpResponse = await client.request('GET', url, {
        query: params,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
        retry: options.retry,
        headers: options.headers,
        requestId: options.requestId,
        maxMicroversion: options.maxMicroversion,
        minMicroversion: options.minMicroversion,
        operation: `list ${path}`,
      });
      const body = res.body;
      let rawItems: unknown = resourcesKey && isRecord(body) ? body[resourcesKey] : body;
      if (isRecord(rawItems)) rawItems = [rawItems];
      if (!Array.isArray(rawItems))
        throw new InvalidResponseError(`list ${path}: expected an array under ${resourcesKey ?? 'the body'}`);
      let items = rawItems.filter(isRecord).map(build);
      const lastId = items.length > 0 ? items[items.length - 1]?.get('id') : undefined;
      const marker = typeof lastId === 'string' ? lastId : undefined;
      if (filter) items = items.filter(filter);
      if (options.maxItems !== undefined && seen + items.length > options.maxItems)
        items = items.slice(0, options.maxItems - seen);
      seen += items.length;
      const next = nextLink(body, resourcesKey, res.headers);
      const count = isRecord(body) && typeof body.count === 'number' ? body.count : undefined;
      yield { items, count, nextUrl: next, nextMarker: marker, $metadata: res.$metadata };
      if (options.paginated === false || rawItems.length === 0) return;
      if (options.maxItems !== undefined && seen >= options.maxItems) return;
      let nextMarker: string | undefined;
      if (next) {
        const u = new URL(next, 'http://placeholder');
        for (const key of Object.keys(params)) delete params[key];
        for (const [k, v] of u.searchParams) {
          const prev = params[k];
          params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
        }
        nextMarker = u.searchParams.get('marker') ?? marker;
        url = path;
      } else if (limit !== undefined && rawItems.length >= limit && marker !== undefined) {
        params.marker = marker;
        nextMarker = marker;
      } else {
        return;
      }
      if (nextMarker !== undefined && nextMarker === previousMarker) throw new EndlessPaginationError();
      previousMarker = nextMarker;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<R> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** Collects every item. */
  async toArray(): Promise<R[]> {
    const out: R[] = [];
    for await (const item of this) out.push(item);
    return out;
  }
}
