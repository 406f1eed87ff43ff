import type { Tx } from '../../store/database.js';
import type { CbrBackupTable } from '../../store/schema.js';
import type { CbrContext } from './context.js';
import { refused } from './errors.js';
import type { OperationLogs } from './oplogs.js';

type Enqueue = (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>;

/** Moves a backup to `deleting` (guarded) and enqueues the task that removes its manifest and row. */
export async function startDeleteTx(
  c: CbrContext,
  oplogs: OperationLogs,
  tx: Tx,
  enqueue: Enqueue,
  b: CbrBackupTable,
  policyId: string | null = null,
): Promise<void> {
  if (b.status !== 'available' && b.status !== 'error')
    throw refused('6216', `Backup ${b.id} is ${b.status} and cannot be deleted now.`);
  const res = await tx
    .updateTable('cbr_backups')
    .set({ status: 'deleting', updated_at: c.now() })
    .where('id', '=', b.id)
    .where('status', '=', b.status)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) throw refused('6216', `Backup ${b.id} changed status; try again.`);
  const vault = await tx.selectFrom('cbr_vaults').select('name').where('id', '=', b.vault_id).executeTakeFirst();
  const logId = await oplogs.record(tx, {
    projectId: b.project_id,
    operationType: 'delete',
    status: 'waiting',
    checkpointId: b.checkpoint_id,
    policyId,
    vaultId: b.vault_id,
    vaultName: vault?.name ?? null,
    resource: { id: b.resource_id, name: b.resource_name, type: b.resource_type },
    extra: { delete: { backup_id: b.id, backup_name: b.name } },
  });
  await enqueue('cbr.delete', 'cbr_backup', b.id, { logId });
}
