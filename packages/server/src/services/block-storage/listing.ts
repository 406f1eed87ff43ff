import { badRequest } from '../../domain/errors.js';
import type { ListOrder, ListQuery, ListWhere } from '../../domain/ports/block-storage-store.js';
import { type ListRequest, MAX_LIMIT, type SortSpec } from './types.js';
import { getOwn } from '../../domain/own.js';

/** Which API sort keys a list takes and the field each sorts by; anything else is 400 "Invalid sort key". */
export interface SortKeys {
  readonly sortColumns: Readonly<Record<string, string>>;
}

/** Cinder's sort rules: keys validated, `created_at` and `id` appended as tie-breakers in the first key's direction. */
export function resolveSort(t: SortKeys, sort: readonly SortSpec[]): ListOrder[] {
  const out: ListOrder[] = [];
  for (const s of sort) {
    const column = getOwn(t.sortColumns, s.key);
    if (column === undefined) throw badRequest('Invalid input received: Invalid sort key');
    if (!out.some((o) => o.column === column)) out.push({ column, dir: s.dir });
  }
  const dir = out[0]?.dir ?? 'desc';
  for (const column of ['created_at', 'id']) if (!out.some((o) => o.column === column)) out.push({ column, dir });
  return out;
}

/** A list request as the store takes it: sort resolved, page size capped at the server maximum. */
export function listQuery(t: SortKeys, where: ListWhere, req: ListRequest): ListQuery {
  return {
    where,
    order: resolveSort(t, req.sort),
    limit: Math.min(req.limit ?? MAX_LIMIT, MAX_LIMIT),
    marker: req.marker,
    offset: req.offset,
    withCount: req.withCount,
  };
}
