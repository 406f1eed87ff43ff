import { type FilterPolicy, textFilter } from './filters.js';
import type { SortKeys } from './listing.js';

const BACKUP_COLUMNS = [
  'id',
  'project_id',
  'user_id',
  'volume_id',
  'snapshot_id',
  'name',
  'description',
  'container',
  'availability_zone',
  'status',
  'fail_reason',
  'size',
  'object_count',
  'parent_id',
  'data_timestamp',
  'host',
  'created_at',
  'updated_at',
];

function buildBackupSort(nameSortable: boolean): SortKeys {
  const sortColumns: Record<string, string> = {
    ...Object.fromEntries(BACKUP_COLUMNS.map((c) => [c, c])),
    display_name: 'name',
    display_description: 'description',
  };
  if (!nameSortable) delete sortColumns.name;
  return { sortColumns };
}

// Built once: every list request asks for one of the two.
const SORTS = [buildBackupSort(false), buildBackupSort(true)] as const;

/** Backups sort by any column; `name` only from 3.37 (before it, `display_name`). */
export function backupSort(nameSortable: boolean): SortKeys {
  return SORTS[nameSortable ? 1 : 0];
}

const ALLOWED = ['name', 'status', 'volume_id'];

export function backupFilterPolicy(): FilterPolicy {
  return {
    allowed: ALLOWED,
    legacyAllowed: () => ALLOWED,
    columns: new Set(BACKUP_COLUMNS),
    strictAllTenants: true,
    translate(key, value, like) {
      const text = textFilter(key, value, like);
      if (text) return text;
      switch (key) {
        case 'size':
        case 'object_count': {
          const n = Number(value);
          return [Number.isInteger(n) ? { kind: 'eq', column: key, value: n } : { kind: 'none' }];
        }
        default:
          return null;
      }
    },
  };
}
