import type { ManageableEntry } from '../../services/block-storage/index.js';

/** One entry of `manageable-volumes` / `manageable-snapshots` (Cinder's `views/manageable_*.py`). */
export function manageableView(e: ManageableEntry, kind: 'volume' | 'snapshot', detail: boolean): Record<string, unknown> {
  const v: Record<string, unknown> = { reference: e.reference, size: e.size, safe_to_manage: e.safeToManage };
  if (kind === 'snapshot') v.source_reference = e.sourceReference;
  if (detail) {
    v.reason_not_safe = e.reasonNotSafe;
    v.cinder_id = e.cinderId;
    v.extra_info = e.extraInfo;
  }
  return v;
}
