import { type CbrBackup, cbrBackupLifecycle } from '../../domain/cbr.js';
import { ensureAllowed } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { CbrContext, Enqueue } from './context.js';
import { backupNotFound, refused, transit } from './errors.js';
import { isLocked } from '../../domain/immutability.js';
import { keystoneTime } from '../../domain/time.js';
import type { OperationLogs } from './oplogs.js';

/** BackupService.6201 ("backup cannot be deleted"), naming when it can. */
export function immutableRefusal(b: Pick<CbrBackup, 'id' | 'locked_until'>) {
  return refused('6201', `Backup ${b.id} is immutable until ${keystoneTime(b.locked_until!)}; it cannot be deleted before its retention ends.`);
}

/** Moves a backup to `deleting` (guarded) and enqueues the task that removes its manifest and row. */
export async function startDeleteTx(
  c: CbrContext,
  oplogs: OperationLogs,
  tx: Scope,
  enqueue: Enqueue,
  b: CbrBackup,
  policyId: string | null = null,
): Promise<void> {
  // Immutable (cinderbox extension): every delete path comes here (API, retention), none goes before the lock ends.
  if (isLocked(b, c.now())) throw immutableRefusal(b);
  ensureAllowed(cbrBackupLifecycle, 'delete', b);
  await transit(cbrBackupLifecycle, 'delete', b.id, backupNotFound(b.id), (from, to) =>
    c.stores.backups.transition(tx, b.id, from, to, { updated_at: c.now() }),
  );
  // Checked after the guarded move, which orders this with replication's touch of the same row: a source being
  // copied stays until its replicas are made (the copy reads its manifest and chunks), then it can go.
  const copying = (await c.stores.backups.replicasOf(tx, [b.id])).find((r) => r.status === 'protecting');
  if (copying)
    throw refused('6216', `Backup ${b.id} is being replicated (replication record ${copying.replication_record_id ?? copying.id}); delete it once the copy ends.`);
  const vault = await c.stores.vaults.byId(tx, b.vault_id);
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
