import type { Policy } from '../../domain/cbr.js';
import { isDomainError } from '../../domain/errors.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { parseStoredTime, storedTime } from '../../domain/time.js';
import type { CheckpointService, ScheduleInfo } from './checkpoints.js';
import type { CbrContext } from './context.js';
import type { OperationLogs } from './oplogs.js';
import { rulesOf } from './policies.js';
import type { ReplicationService } from './replication.js';
import { dueSlots } from './rrule.js';

/**
 * Runs the backup policies bound to vaults. The durable cursor is each binding's `next_run_at`: a run is claimed
 * by moving it forward with a guarded UPDATE (… WHERE next_run_at = <the value read>) in the same transaction that
 * records the checkpoint, so a run happens once however many processes share the store, and a restart neither
 * loses nor repeats it. Runs missed while no server was up collapse into one late run that says so.
 */
export class CbrScheduler {
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<number> | null = null;

  constructor(
    private readonly c: CbrContext,
    private readonly checkpoints: CheckpointService,
    private readonly oplogs: OperationLogs,
    private readonly replication?: ReplicationService,
  ) {}

  async start(): Promise<void> {
    await this.tick();
    // A tick that cannot read the store (database outage) is retried on the next one; unhandled, its rejection
    // would end the process.
    const tickLogged = () =>
      void this.tick().catch((err: unknown) => this.c.core.deps.logger.error({ err }, 'CBR scheduler tick failed; retried on the next'));
    this.timer = setInterval(tickLogged, this.c.options.schedulerIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => 0);
  }

  /** Runs whatever is due now; returns how many runs this process claimed. One tick at a time per process. */
  tick(): Promise<number> {
    if (!this.ticking) {
      this.ticking = this.runDue().finally(() => {
        this.ticking = null;
      });
    }
    return this.ticking;
  }

  private async runDue(): Promise<number> {
    const now = this.c.nowDate();
    const due = await this.c.stores.policies.due(this.c.root, storedTime(now));
    let claimed = 0;
    for (const { policy, vault_id: vaultId, next_run_at: nextRunAt, destination_vault_id: destVaultId } of due) {
      try {
        if (await this.runOne(policy, vaultId, nextRunAt, now, destVaultId)) claimed++;
      } catch (err) {
        this.c.logger.error({ err, vault: vaultId, policy: policy.id }, 'scheduled backup failed');
      }
    }
    return claimed;
  }

  private async runOne(policy: Policy, vaultId: string, nextRunAt: string, now: Date, destVaultId: string | null): Promise<boolean> {
    const slots = dueSlots(rulesOf(policy), parseStoredTime(policy.start_time), parseStoredTime(nextRunAt), now);
    if (!slots) return false;
    const schedule: ScheduleInfo = {
      policy,
      scheduledAt: storedTime(slots.slot),
      late: now.getTime() - slots.slot.getTime() > this.c.options.lateAfterMs,
      missedRuns: slots.missed,
    };
    const claim = (tx: Scope) =>
      this.c.stores.policies.claimRun(tx, vaultId, policy.id, nextRunAt, slots.next === null ? null : storedTime(slots.next));
    try {
      return await this.c.inTx(async (tx, enqueue) => {
        if (!(await claim(tx))) return false;
        if (policy.operation_type === 'replication') {
          // A replication run copies the vault's backups not yet in the destination vault (replication.ts).
          if (!this.replication) throw new Error('replication policy without replication configured');
          await this.replication.replicateVaultTx(tx, enqueue, policy.project_id, {
            vault_id: vaultId,
            // A binding without a destination fails the run as a vault that does not exist.
            destination_vault_id: destVaultId ?? '',
            // Stored as checked when the policy was made (policies.ts, replication.ts policyDestination).
            destination_region: String(policy.operation_definition.destination_region),
            destination_project_id: String(policy.operation_definition.destination_project_id),
            auto_trigger: true,
          }, policy.id);
          return true;
        }
        await this.checkpoints.createTx(tx, enqueue, policy.project_id, vaultId, { auto_trigger: true }, schedule);
        return true;
      });
    } catch (err) {
      if (!isDomainError(err)) throw err;
      // The run is due but cannot start (empty or full vault…): it is spent, and its log says why.
      return this.c.metadata.transaction(async (tx) => {
        if (!(await claim(tx))) return false;
        const vault = await this.c.stores.vaults.byId(tx, vaultId);
        await this.oplogs.record(tx, {
          projectId: policy.project_id,
          operationType: policy.operation_type === 'replication' ? 'replication' : 'backup',
          status: 'failed',
          policyId: policy.id,
          vaultId,
          vaultName: vault?.name ?? null,
          extra: { schedule: { scheduled_at: schedule.scheduledAt, late: schedule.late, missed_runs: schedule.missedRuns } },
          error: { code: err.code ?? 'BackupService.9910', message: err.message },
        });
        return true;
      });
    }
  }
}
