/**
 * List parameters Cinder's list calls share, spread into each resource's `queryParameters`.
 * @packageDocumentation
 */

import type { QueryMap } from '../../resource/query.js';

/** Paging and sorting: every Cinder list takes them. */
export const PAGING_QUERY = {
  limit: 'limit',
  marker: 'marker',
  offset: 'offset',
  sort: 'sort',
  sortKey: 'sort_key',
  sortDir: 'sort_dir',
} as const satisfies QueryMap;

/** Paging plus the filters of project-owned resources (volumes, snapshots, backups). */
export const OWNED_QUERY = {
  ...PAGING_QUERY,
  name: 'name',
  status: 'status',
  projectId: 'project_id',
  allProjects: 'all_tenants',
  withCount: 'with_count',
} as const satisfies QueryMap;

/** Paging plus the host or cluster whose backend the manageable listings read. */
export const MANAGEABLE_QUERY = { ...PAGING_QUERY, host: 'host', cluster: 'cluster' } as const satisfies QueryMap;
