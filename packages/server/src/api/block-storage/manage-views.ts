import type { ManageableSnapshotBody, ManageableVolumeBody } from '@cinderbox/api-schema';
import type { ManageableEntry } from '../../services/block-storage/index.js';

/**
 * One entry of `manageable-volumes` / `manageable-snapshots` (Cinder's `views/manageable_*.py`), typed by the
 * contract's entry schemas.
 */
export function manageableView(e: ManageableEntry, kind: 'volume', detail: boolean): ManageableVolumeBody;
export function manageableView(e: ManageableEntry, kind: 'snapshot', detail: boolean): ManageableSnapshotBody;
export function manageableView(e: ManageableEntry, kind: 'volume' | 'snapshot', detail: boolean): ManageableVolumeBody | ManageableSnapshotBody;
export function manageableView(e: ManageableEntry, kind: 'volume' | 'snapshot', detail: boolean): ManageableVolumeBody | ManageableSnapshotBody {
  const v: ManageableVolumeBody = { reference: e.reference, size: e.size, safe_to_manage: e.safeToManage };
  if (detail) {
    v.reason_not_safe = e.reasonNotSafe;
    v.cinder_id = e.cinderId;
    v.extra_info = e.extraInfo;
  }
  return kind === 'snapshot' ? ({ ...v, source_reference: e.sourceReference } satisfies ManageableSnapshotBody) : v;
}
