import type { ServerConfig } from '../../config/config.js';
import { boolFilter, type FilterPolicy, parseMetadataFilter, textFilter, timeFilters } from './filters.js';
import type { SortKeys } from './listing.js';

const VOLUME_COLUMNS = [
  'id',
  'project_id',
  'user_id',
  'name',
  'description',
  'size',
  'status',
  'previous_status',
  'attach_status',
  'migration_status',
  'availability_zone',
  'volume_type_id',
  'snapshot_id',
  'source_volid',
  'backup_id',
  'bootable',
  'multiattach',
  'host',
  'provider_location',
  'use_quota',
  'created_at',
  'updated_at',
];

/** Sort keys of the volume list: any column, and the v1 names of name and description. */
export const VOLUME_SORT: SortKeys = {
  sortColumns: {
    ...Object.fromEntries(VOLUME_COLUMNS.map((c) => [c, c])),
    display_name: 'name',
    display_description: 'description',
  },
};

const ALLOWED = [
  'name',
  'status',
  'metadata',
  'bootable',
  'migration_status',
  'availability_zone',
  'group_id',
  'size',
  'created_at',
  'updated_at',
  'consumes_quota',
];

export function volumeFilterPolicy(config: ServerConfig): FilterPolicy {
  return {
    allowed: ALLOWED,
    legacyAllowed: (mv) =>
      ALLOWED.filter((k) => {
        if (k === 'consumes_quota') return mv.atLeast('3.65');
        if (k === 'created_at' || k === 'updated_at') return mv.atLeast('3.60');
        return true;
      }),
    columns: new Set(VOLUME_COLUMNS),
    strictAllTenants: false,
    translate(key, value, like) {
      const text = textFilter(key, value, like);
      if (text) return text;
      switch (key) {
        case 'metadata': {
          const items = parseMetadataFilter(value);
          return [items ? { kind: 'metadata', items } : { kind: 'none' }];
        }
        case 'bootable':
          return [boolFilter('bootable', value)];
        case 'multiattach':
          return [boolFilter('multiattach', value)];
        case 'consumes_quota':
          return [boolFilter('use_quota', value)];
        case 'size': {
          const n = Number(value);
          return [Number.isInteger(n) ? { kind: 'eq', column: 'size', value: n } : { kind: 'none' }];
        }
        case 'group_id':
          return [{ kind: 'eq', column: 'group_id', value: value.toLowerCase() }];
        case 'availability_zone':
          return [{ kind: 'eq', column: 'availability_zone', value }];
        case 'created_at':
        case 'updated_at':
          return timeFilters(key, value);
        default:
          void config;
          return null;
      }
    },
  };
}
