import type { JsonField } from './ports/block-storage-store.js';

/**
 * The snapshot detail body's keys that no microversion gates, as fields the store renders to JSON: the nine that
 * open the body (before the gated keys, in Cinder's order) and the two extended attributes that close it. The API's
 * detail field lists and the store's trigger-kept rendering (`snapshots.detail_head`, migration 0033) are built
 * from these same lists, so the two cannot drift apart. Changing either list changes what the triggers render:
 * it needs a migration that re-creates them and re-renders the rows (snapshot-detail-head.test.ts pins it).
 */
export const SNAPSHOT_BASE_JSON_FIELDS: readonly JsonField[] = [
  { key: 'id', column: 'id', as: 'text' },
  { key: 'created_at', column: 'created_at', as: 'text' },
  { key: 'updated_at', column: 'updated_at', as: 'text' },
  { key: 'name', column: 'name', as: 'text' },
  { key: 'description', column: 'description', as: 'text' },
  { key: 'volume_id', column: 'volume_id', as: 'text' },
  { key: 'status', column: 'status', as: 'text' },
  { key: 'size', column: 'size', as: 'int' },
  { key: 'metadata', as: 'metadata' },
];

/** The os-extended-snapshot-attributes keys, last in the body. */
export const SNAPSHOT_EXTENDED_JSON_FIELDS: readonly JsonField[] = [
  { key: 'os-extended-snapshot-attributes:progress', column: 'progress', as: 'text' },
  { key: 'os-extended-snapshot-attributes:project_id', column: 'project_id', as: 'text' },
];
