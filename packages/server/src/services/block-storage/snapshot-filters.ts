import type { ServerConfig } from '../../config/config.js';
import { boolFilter, type FilterPolicy, parseMetadataFilter, textFilter } from './filters.js';
import type { ListTable } from './listing.js';

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

function buildSnapshotTable(nameSortable: boolean): ListTable {
  const sortColumns: Record<string, string> = {
    ...Object.fromEntries(SNAPSHOT_COLUMNS.map((c) => [c, c])),
    display_name: 'name',
    display_description: 'description',
    volume_size: 'size',
  };
  if (!nameSortable) delete sortColumns.name;
  return {
    table: 'snapshots',
    metadataTable: 'snapshot_metadata',
    metadataFk: 'snapshot_id',
    nullable: new Set(['name', 'description', 'volume_type_id', 'provider_location', 'updated_at']),
    sortColumns,
    base: [{ kind: 'eq', column: 'hidden', value: 0 }],
  };
}

// Built once: every list request asks for one of the two.
const TABLES = [buildSnapshotTable(false), buildSnapshotTable(true)] as const;

/** The snapshots table as the listing code sees it; `name` sorts only from 3.30. */
export function snapshotTable(nameSortable: boolean): ListTable {
  return TABLES[nameSortable ? 1 : 0];
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
