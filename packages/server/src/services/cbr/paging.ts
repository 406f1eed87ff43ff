import { invalid } from './errors.js';

export const MAX_LIMIT = 1000;

export interface PageRequest {
  limit: number | null;
  offset: number;
  marker: string | null;
}

export interface Page<T> {
  items: T[];
  /** All matching items, before paging. */
  count: number;
  limit: number;
  offset: number;
}

/** `limit` and `offset` as the contract's page parameters allow them: digits within their range, or empty. */
function intParam(v: string | undefined): number | null {
  return v === undefined || v === '' ? null : Number(v);
}

export function parsePage(q: Record<string, string | string[] | undefined>): PageRequest {
  const one = (k: string) => {
    const v = q[k];
    return Array.isArray(v) ? v[v.length - 1] : v;
  };
  return {
    limit: intParam(one('limit')),
    offset: intParam(one('offset')) ?? 0,
    marker: one('marker') || null,
  };
}

/**
 * Pages already filtered and sorted rows: `marker` (exclusive, the id of the last item seen) then `offset`, then
 * `limit`. CBR lists are per project and small, so they are paged after the query rather than by keyset.
 */
export function pageOf<T extends { id: string }>(rows: T[], page: PageRequest): Page<T> {
  let start = 0;
  if (page.marker !== null) {
    const i = rows.findIndex((r) => r.id === page.marker);
    if (i < 0) throw invalid(`Marker ${page.marker} does not match any item of this list.`);
    start = i + 1;
  }
  start += page.offset;
  const limit = page.limit ?? MAX_LIMIT;
  return { items: rows.slice(start, start + limit), count: rows.length, limit, offset: page.offset };
}
