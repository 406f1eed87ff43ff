import type { HiddenSnapshotLookup } from '../../domain/ports/block-storage-store.js';
import { executor } from '../metadata-store.js';

/** Hidden snapshots are claimed by the backup rows that made them: Cinder backup bases and CBR backups. */
export const hiddenSnapshotLookup: HiddenSnapshotLookup = {
  async claimed(scope, ids) {
    const exec = executor(scope);
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const bases = await exec.selectFrom('backups').select('cbt_base_id as id').where('cbt_base_id', 'in', chunk).execute();
      const cbr = await exec.selectFrom('cbr_backups').select('snapshot_id as id').where('snapshot_id', 'in', chunk).execute();
      for (const r of [...bases, ...cbr]) if (r.id !== null) out.add(r.id);
    }
    return out;
  },
};
