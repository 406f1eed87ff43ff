import type { BackupBody, ResourceSummary } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import type { BackupRecord } from '../../services/block-storage/index.js';
import type { ApiVersion } from '../common/api-version.js';
import { keystoneTime } from '../../domain/time.js';

type Links = { rel: string; href: string }[];

/** List, create, update and import answer with this. */
export function backupSummaryView(rec: BackupRecord, links: Links): Static<typeof ResourceSummary> {
  return { id: rec.backup.id, name: rec.backup.name, links };
}

/**
 * Show and detail list (spec §8.3). Tempest validates these with additionalProperties:false, so every key is
 * gated exactly as Cinder gates it; encryption_key_id (3.64) is never set here, hence never shown.
 */
export function backupDetailView(
  rec: BackupRecord,
  o: { mv: ApiVersion; isAdmin: boolean; links: Links },
): BackupBody {
  const r = rec.backup;
  const v: BackupBody = {
    id: r.id,
    status: r.status,
    size: r.size,
    object_count: r.object_count,
    availability_zone: r.availability_zone,
    container: r.container,
    created_at: r.created_at,
    updated_at: r.updated_at,
    name: r.name,
    description: r.description,
    fail_reason: r.fail_reason,
    volume_id: r.volume_id,
    links: o.links,
    is_incremental: r.parent_id !== null,
    has_dependent_backups: rec.hasDependents,
    snapshot_id: r.snapshot_id,
    data_timestamp: r.data_timestamp,
  };
  if (o.mv.atLeast('3.43')) v.metadata = rec.metadata;
  // cinderbox extension, only on immutable backups (Tempest's strict schemas never meet it): the retention end.
  if (r.locked_until !== null) v.locked_until = keystoneTime(r.locked_until);
  if (o.isAdmin && o.mv.atLeast('3.18')) v['os-backup-project-attr:project_id'] = r.project_id;
  if (o.isAdmin && o.mv.atLeast('3.56')) v.user_id = r.user_id;
  return v;
}
