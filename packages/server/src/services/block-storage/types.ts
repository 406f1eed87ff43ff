import type { Snapshot } from '../../domain/snapshot.js';
import type { Volume, VolumeAttachment } from '../../domain/volume.js';

/** The negotiated microversion as services see it (v2 requests pass 3.0). */
export interface Microversion {
  atLeast(v: string): boolean;
}

/** A volume with what its views show besides the record itself. */
export interface VolumeRecord {
  volume: Volume;
  metadata: Record<string, string>;
  adminMetadata: Record<string, string>;
  /** Attachments whose attach_status is `attached`. */
  attachments: VolumeAttachment[];
  volumeTypeName: string;
  /** The volume's generic group (3.13 `group_id`). */
  groupId?: string | null;
}

export interface SnapshotRecord {
  snapshot: Snapshot;
  metadata: Record<string, string>;
  /** The group snapshot it was taken for (3.14 `group_snapshot_id`). */
  groupSnapshotId?: string | null;
}

export interface SortSpec {
  key: string;
  dir: 'asc' | 'desc';
}

/** A list request after the API parsed its pagination parameters; `filters` holds every other query key. */
export interface ListRequest {
  limit: number | null;
  marker: string | null;
  offset: number | null;
  sort: SortSpec[];
  withCount: boolean;
  filters: Record<string, string>;
}

export interface ListResult<T> {
  items: T[];
  count: number | null;
  /** The effective page size limit (request limit or the server maximum), for next links. */
  limit: number;
}

export const MAX_LIMIT = 1000;
