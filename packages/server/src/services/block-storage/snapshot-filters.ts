import type { ServerConfig } from '../../config/config.js';
import { boolFilter, type FilterPolicy, parseMetadataFilter, textFilter } from './filters.js';
import type { SortKeys } from './listing.js';

const SNAPSHOT_COLUMNS = [
  'id',
  'project_id',
  'user_id',
  'volume_id',
  'name',
  'description',
  'size',
  'status',
  'progress',
  'volume_type_id',
  'use_quota',
  'provider_location',
  'created_at',
  'updated_at',
];

function buildSnapshotSort(nameSortable: boolean): SortKeys {
  const sortColumns: Record<string, string> = {
    ...Object.fromEntries(SNAPSHOT_COLUMNS.map((c) => [c, c])),
    display_name: 'name',
    display_description: 'description',
    volume_size: 'size',
  };
  if (!nameSortable) delete sortColumns.name;
  return { sortColumns };
}

// Built once: every list request asks for one of the two.
const SORTS = [buildSnapshotSort(false), buildSnapshotSort(true)] as const;

/** Sort keys of the snapshot list; `name` sorts only from 3.30. */
export function snapshotSort(nameSortable: boolean): SortKeys {
  return SORTS[nameSortable ? 1 : 0];
}

const ALLOWED = ['name', 'status', 'volume_id', 'metadata', 'availability_zone', 'consumes_quota'];

export function snapshotFilterPolicy(config: ServerConfig): FilterPolicy {
  return {
    allowed: ALLOWED,
    legacyAllowed: (mv) => [
      'status',
      'volume_id',
      'name',
      ...(mv.atLeast('3.22') ? ['metadata'] : []),
      ...(mv.atLeast('3.65') ? ['consumes_quota'] : []),
    ],
    columns: new Set(SNAPSHOT_COLUMNS),
    strictAllTenants: false,
    translate(key, value, like) {
      const text = textFilter(key, value, like);
      if (text) return text;
      switch (key) {
        case 'metadata': {
          const items = parseMetadataFilter(value);
          return [items ? { kind: 'metadata', items } : { kind: 'none' }];
        }
        case 'consumes_quota':
          return [boolFilter('use_quota', value)];
        case 'volume_size':
        case 'size': {
          const n = Number(value);
          return [Number.isInteger(n) ? { kind: 'eq', column: 'size', value: n } : { kind: 'none' }];
        }
        case 'availability_zone':
          // Every snapshot lives in the one zone of this server.
          return value === config.availabilityZone ? [] : [{ kind: 'none' }];
        default:
          return null;
      }
    },
  };
}
