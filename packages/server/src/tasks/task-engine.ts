import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { NewTask, TaskHandler, TaskQueue, TaskRecord, TransactionHandle } from '../domain/ports/task-queue.js';
import { storedTime, type Clock } from '../domain/time.js';
import type { Db, Executor } from '../store/database.js';
import type { TaskTable } from '../store/schema.js';

export interface TaskEngineOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  leaseSeconds: number;
  /** How often to look for tasks no node is running (missed dispatch, another node's expired lease). */
  pollMs?: number;
}

/**
 * Durable tasks: rows in `tasks`, claimed with a lease (a guarded UPDATE … RETURNING, so two nodes cannot
 * both win), kept alive by heartbeats, and removed when done. A node that dies leaves a running row whose
 * lease expires; whoever finds it calls the handler's `fail` so the resource ends in a final state.
 */
export class TaskEngine implements TaskQueue {
  readonly nodeId = randomUUID();
  private readonly handlers = new Map<string, TaskHandler<unknown>>();
  private readonly running = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private pollTimer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly opts: TaskEngineOptions) {}

  register<P>(handler: TaskHandler<P>): void {
    this.handlers.set(handler.kind, handler as TaskHandler<unknown>);
  }

  async enqueue<P>(tx: TransactionHandle, task: NewTask<P>): Promise<string> {
    // Handles come from the metadata store this engine shares with the services.
    const exec = tx as Executor;
    const id = randomUUID();
    const now = storedTime(this.opts.clock.now());
    await exec
      .insertInto('tasks')
      .values({
        id,
        kind: task.kind,
        resource_type: task.resourceType,
        resource_id: task.resourceId,
        payload: JSON.stringify(task.payload ?? {}),
        state: 'pending',
        owner: null,
        lease_until: null,
        attempts: 0,
        last_error: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return id;
  }

  dispatch(taskId: string): void {
    if (this.stopping) return;
    void this.claimAndRun(taskId);
  }

  /**
   * Recovers tasks left by dead nodes, then starts polling. With `orphanAllRunning` (a single node that holds the
   * data directory's lock) every running task is an orphan; otherwise only those whose lease expired.
   */
  async start(orphanAllRunning: boolean): Promise<void> {
    const now = storedTime(this.opts.clock.now());
    let q = this.opts.db.selectFrom('tasks').selectAll().where('state', '=', 'running');
    if (!orphanAllRunning) q = q.where('lease_until', '<', now);
    for (const row of await q.execute()) await this.recoverOrphan(row);
    await this.pollOnce();
    const pollMs = this.opts.pollMs ?? 5000;
    this.pollTimer = setInterval(() => void this.pollOnce(), pollMs);
    this.pollTimer.unref();
  }

  /** Stops taking work and aborts what runs; running tasks keep their rows and are recovered on next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  /** Resolves when nothing runs in this process (tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  private async pollOnce(): Promise<void> {
    if (this.stopping) return;
    try {
      const now = storedTime(this.opts.clock.now());
      const rows = await this.opts.db
        .selectFrom('tasks')
        .select(['id', 'state', 'lease_until'])
        .where((eb) => eb.or([eb('state', '=', 'pending'), eb.and([eb('state', '=', 'running'), eb('lease_until', '<', now)])]))
        .orderBy('created_at')
        .limit(100)
        .execute();
      for (const r of rows) {
        if (this.running.has(r.id)) continue;
        if (r.state === 'running') {
          const full = await this.opts.db.selectFrom('tasks').selectAll().where('id', '=', r.id).executeTakeFirst();
          if (full) await this.recoverOrphan(full);
        } else {
          void this.claimAndRun(r.id);
        }
      }
    } catch (err) {
      this.opts.logger.error({ err }, 'task poll failed');
    }
  }

  private leaseUntil(): string {
    return storedTime(new Date(this.opts.clock.now().getTime() + this.opts.leaseSeconds * 1000));
  }

  private async recoverOrphan(row: TaskTable): Promise<void> {
    // Claim the orphan first so two nodes do not both recover it.
    const now = storedTime(this.opts.clock.now());
    const claimed = await this.opts.db
      .updateTable('tasks')
      .set({ owner: this.nodeId, lease_until: this.leaseUntil(), updated_at: now })
      .where('id', '=', row.id)
      .where('state', '=', 'running')
      .where((eb) => (row.owner === null ? eb('owner', 'is', null) : eb('owner', '=', row.owner)))
      .returningAll()
      .executeTakeFirst();
    if (!claimed) return;
    const handler = this.handlers.get(row.kind);
    const task = toRecord(claimed);
    const cause = new Error('interrupted: the node running this task stopped before it finished');
    try {
      if (handler) await handler.fail(task, cause);
      await this.opts.db.deleteFrom('tasks').where('id', '=', row.id).execute();
      this.opts.logger.warn({ task: row.id, kind: row.kind, resource: row.resource_id }, 'recovered an interrupted task');
    } catch (err) {
      this.opts.logger.error({ err, task: row.id }, 'recovering an interrupted task failed');
    }
  }

  private async claimAndRun(taskId: string): Promise<void> {
    if (this.running.has(taskId) || this.stopping) return;
    const abort = new AbortController();
    let resolveDone!: () => void;
    const promise = new Promise<void>((r) => {
      resolveDone = r;
    });
    this.running.set(taskId, { promise, abort });
    try {
      const now = storedTime(this.opts.clock.now());
      const row = await this.opts.db
        .updateTable('tasks')
        .set((eb) => ({ state: 'running', owner: this.nodeId, lease_until: this.leaseUntil(), attempts: eb('attempts', '+', 1), updated_at: now }))
        .where('id', '=', taskId)
        .where('state', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      if (!row) return;
      const handler = this.handlers.get(row.kind);
      const task = toRecord(row);
      if (!handler) {
        await this.finish(taskId, new Error(`no handler for task kind ${row.kind}`));
        return;
      }
      const heartbeat = setInterval(
        () => {
          void this.opts.db
            .updateTable('tasks')
            .set({ lease_until: this.leaseUntil() })
            .where('id', '=', taskId)
            .where('owner', '=', this.nodeId)
            .execute()
            .catch((err) => this.opts.logger.error({ err }, 'task heartbeat failed'));
        },
        Math.max(250, (this.opts.leaseSeconds * 1000) / 3),
      );
      heartbeat.unref();
      try {
        await handler.run(task, { signal: abort.signal });
        clearInterval(heartbeat);
        await this.finish(taskId, null);
      } catch (err) {
        clearInterval(heartbeat);
        if (this.stopping && abort.signal.aborted) return; // shutting down: the next start recovers it
        const e = err instanceof Error ? err : new Error(String(err));
        this.opts.logger.warn({ err: e, task: taskId, kind: row.kind }, 'task failed');
        try {
          await handler.fail(task, e);
        } catch (failErr) {
          this.opts.logger.error({ err: failErr, task: taskId }, 'task failure handler failed');
        }
        await this.finish(taskId, e);
      }
    } catch (err) {
      this.opts.logger.error({ err, task: taskId }, 'task engine error');
    } finally {
      this.running.delete(taskId);
      resolveDone();
    }
  }

  private async finish(taskId: string, error: Error | null): Promise<void> {
    if (error === null) {
      await this.opts.db.deleteFrom('tasks').where('id', '=', taskId).execute();
    } else {
      await this.opts.db
        .updateTable('tasks')
        .set({ state: 'failed', last_error: error.message.slice(0, 2000), owner: null, lease_until: null, updated_at: storedTime(this.opts.clock.now()) })
        .where('id', '=', taskId)
        .execute();
    }
  }
}

function toRecord(row: TaskTable): TaskRecord<unknown> {
  return {
    id: row.id,
    kind: row.kind,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    payload: JSON.parse(row.payload) as unknown,
    attempts: row.attempts,
  };
}
