import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { NewTask, TaskHandler, TaskQueue, TaskRecord, TransactionHandle } from '../domain/ports/task-queue.js';
import type { StoredTask, TaskEligibility, TaskStore } from '../domain/ports/task-store.js';
import { storedTime, type Clock } from '../domain/time.js';
import type { TaskRouter } from './task-routing.js';

export interface TaskEngineOptions {
  store: TaskStore;
  clock: Clock;
  logger: Logger;
  leaseSeconds: number;
  /** How often to look for tasks no node is running (missed dispatch, another node's expired lease). */
  pollMs?: number;
  /** Most tasks one poll claims (the rest wait for the next poll or another node). */
  pollBatch?: number;
  /** This node's name (config.serviceHost): it runs tasks bound to it and tasks bound to no node. */
  node?: string;
  /** Binds a new task to the node that must run it (absent: every task may run anywhere, as on one node). */
  route?: TaskRouter;
  /** Kinds of unbound tasks this node does not take right now (its backup service is disabled). */
  declinedKinds?: () => readonly string[];
  /** True while this node must claim nothing (its hold on the node name is unconfirmed or lost). */
  paused?: () => boolean;
}

/**
 * Durable tasks: rows in the task store, claimed with a lease (an atomic claim, so two nodes cannot both
 * win), kept alive by heartbeats, and removed when done. A node that dies leaves a running row whose lease
 * expires; whoever finds it calls the handler's `fail` so the resource ends in a final state.
 */
export class TaskEngine implements TaskQueue {
  readonly nodeId = randomUUID();
  private readonly handlers = new Map<string, TaskHandler<unknown>>();
  /** Tasks this node holds the lease of, while their handler runs. */
  private readonly running = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  /** Dispatches whose claim is in flight (a second dispatch of the same id is a no-op meanwhile). */
  private readonly claiming = new Map<string, Promise<void>>();
  /**
   * Tasks inserted already claimed by this node (a kind with `claimOnEnqueue`), until their dispatch. An entry
   * whose transaction rolled back is never dispatched: the poll drops it once its lease has ended.
   */
  private readonly preclaimed = new Map<string, StoredTask>();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private stopping = false;

  constructor(private readonly opts: TaskEngineOptions) {}

  register<P>(handler: TaskHandler<P>): void {
    this.handlers.set(handler.kind, handler as TaskHandler<unknown>);
  }

  async enqueue<P>(tx: TransactionHandle, task: NewTask<P>): Promise<string> {
    const id = randomUUID();
    const node = this.opts.route ? await this.opts.route(tx, task as NewTask<unknown>) : null;
    if (this.handlers.get(task.kind)?.claimOnEnqueue && this.mayRunHere(task.kind, node)) {
      const leaseUntil = this.leaseUntil();
      await this.opts.store.insert(tx, id, task, this.now(), node, { owner: this.nodeId, leaseUntil });
      this.preclaimed.set(id, { id, ...(task as NewTask<unknown>), attempts: 1, state: 'running', owner: this.nodeId, leaseUntil, node });
      return id;
    }
    await this.opts.store.insert(tx, id, task, this.now(), node);
    return id;
  }

  isQueued(tx: TransactionHandle, kind: string, resourceType: string, resourceId: string): Promise<boolean> {
    return this.opts.store.exists(tx, kind, resourceType, resourceId);
  }

  /** What this node may claim; undefined on a single node (everything). */
  private eligibility(): TaskEligibility | undefined {
    if (!this.opts.route || this.opts.node === undefined) return undefined;
    return { node: this.opts.node, declinedKinds: this.opts.declinedKinds?.() ?? [] };
  }

  /** Whether this node would claim a task of `kind` bound to `node` right now. */
  private mayRunHere(kind: string, node: string | null): boolean {
    if (this.stopping || this.opts.paused?.()) return false;
    const may = this.eligibility();
    if (!may) return true;
    return node === null ? !may.declinedKinds.includes(kind) : node === may.node;
  }

  dispatch(taskId: string): void {
    const pre = this.preclaimed.get(taskId);
    if (pre) {
      this.preclaimed.delete(taskId);
      if (!this.stopping && !this.opts.paused?.()) return this.execute(pre);
      // Paused or stopping since the insert: handed back to pending, for whichever node (or start) runs it next.
      const release = this.opts.store
        .release(taskId, this.nodeId, this.now())
        .catch((err: unknown) => this.opts.logger.error({ err, task: taskId }, 'releasing a task claimed at enqueue failed; its lease expiry recovers it'))
        .finally(() => this.claiming.delete(taskId));
      this.claiming.set(taskId, release);
      return;
    }
    // A paused node leaves it pending: another node's poll (or this one's, once unpaused) claims it.
    if (this.stopping || this.opts.paused?.() || this.running.has(taskId) || this.claiming.has(taskId)) return;
    const claim = (async () => {
      try {
        // A task bound to another node (or declined here) is left pending: its node's poll claims it.
        const task = await this.opts.store.claim(taskId, this.nodeId, this.leaseUntil(), this.now(), this.eligibility());
        if (task) this.execute(task);
      } catch (err) {
        // Left pending: the next poll (here or on another node) claims it.
        this.opts.logger.error({ err, task: taskId }, 'claiming a task failed; the next poll retries it');
      } finally {
        this.claiming.delete(taskId);
      }
    })();
    this.claiming.set(taskId, claim);
  }

  /**
   * Recovers tasks left by dead nodes, then starts polling. With `orphanAllRunning` (a single node that holds the
   * data directory's lock) every running task is an orphan; otherwise only those whose lease expired, plus every
   * running task bound to this node: a node name is held by one live process at a time (the service registry
   * refuses a second), so what ran under it before this start belonged to a process that is gone.
   *
   * Tasks bound to a node that is down are not taken over by another node: their volume's files are in that
   * node's data directory. Pending ones wait, running ones keep their expired lease, until the node starts again
   * and recovers them here (resumed or failed per kind). That is Cinder's rule too: a volume service cleans up the
   * work it left on its own start (init_host), and the scheduler sends nothing to a service that is down. The
   * other nodes still answer the API for such volumes (their metadata lives in the shared database).
   */
  async start(orphanAllRunning: boolean): Promise<void> {
    const may = this.eligibility();
    const orphans = await this.opts.store.listRunning(orphanAllRunning ? null : this.now(), 10_000, may);
    if (!orphanAllRunning && may) orphans.push(...(await this.opts.store.listRunning(null, 10_000, { ...may, onlyNode: true })));
    const seen = new Set<string>();
    for (const task of orphans) {
      if (seen.has(task.id)) continue;
      seen.add(task.id);
      await this.recoverOrphan(task);
    }
    await this.pollOnce();
    const pollMs = this.opts.pollMs ?? 5000;
    this.pollTimer = setInterval(() => void this.pollOnce(), pollMs);
    this.pollTimer.unref();
  }

  /** Stops taking work and aborts what runs; running tasks keep their rows and are recovered on next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.polling;
    await Promise.allSettled([...this.claiming.values()]);
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  /** Resolves when nothing runs in this process (tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.claiming.size > 0) {
      await Promise.allSettled([...this.claiming.values(), ...[...this.running.values()].map((r) => r.promise)]);
    }
  }

  private pollOnce(): Promise<void> {
    if (this.stopping || this.polling) return this.polling ?? Promise.resolve();
    if (this.opts.paused?.()) return Promise.resolve();
    this.polling = (async () => {
      try {
        const now = this.now();
        for (const [id, t] of this.preclaimed) if (t.leaseUntil !== null && t.leaseUntil < now) this.preclaimed.delete(id);
        const may = this.eligibility();
        for (const task of await this.opts.store.listRunning(this.now(), 100, may)) {
          if (!this.running.has(task.id)) await this.recoverOrphan(task);
        }
        if (this.stopping) return;
        const claimed = await this.opts.store.claimPending(this.opts.pollBatch ?? 100, this.nodeId, this.leaseUntil(), this.now(), may);
        for (const task of claimed) this.execute(task);
      } catch (err) {
        this.opts.logger.error({ err }, 'task poll failed');
      } finally {
        this.polling = null;
      }
    })();
    return this.polling;
  }

  private now(): string {
    return storedTime(this.opts.clock.now());
  }

  private leaseUntil(): string {
    return storedTime(new Date(this.opts.clock.now().getTime() + this.opts.leaseSeconds * 1000));
  }

  private async recoverOrphan(task: StoredTask): Promise<void> {
    try {
      // Claim the orphan first so two nodes do not both recover it.
      const claimed = await this.opts.store.claimOrphan(task.id, task.owner, this.nodeId, this.leaseUntil(), this.now());
      if (!claimed) return;
      const handler = this.handlers.get(task.kind);
      // A resumable task is run again, unless it keeps dying with its node (a run that kills the process).
      if (handler?.resumeAfterCrash && claimed.attempts < MAX_CRASH_RESUMES) {
        this.opts.logger.warn({ task: task.id, kind: task.kind, resource: task.resourceId, attempt: claimed.attempts }, 'resuming an interrupted task');
        this.execute(claimed);
        return;
      }
      const cause = new Error('interrupted: the node running this task stopped before it finished');
      if (handler) await handler.fail(record(claimed), cause);
      await this.opts.store.remove(task.id);
      this.opts.logger.warn({ task: task.id, kind: task.kind, resource: task.resourceId }, 'recovered an interrupted task');
    } catch (err) {
      this.opts.logger.error({ err, task: task.id }, 'recovering an interrupted task failed');
    }
  }

  /** Runs a task this node has just claimed. */
  private execute(task: StoredTask): void {
    if (this.running.has(task.id)) return;
    const abort = new AbortController();
    const promise = this.runClaimed(task, abort).finally(() => this.running.delete(task.id));
    this.running.set(task.id, { promise, abort });
  }

  private async runClaimed(task: StoredTask, abort: AbortController): Promise<void> {
    const taskId = task.id;
    try {
      const handler = this.handlers.get(task.kind);
      if (!handler) {
        await this.finish(taskId, new Error(`no handler for task kind ${task.kind}`));
        return;
      }
      const heartbeat = setInterval(
        () => {
          this.opts.store.renewLease(taskId, this.nodeId, this.leaseUntil()).then(
            (ours) => {
              if (!ours) this.opts.logger.warn({ task: taskId }, 'task lease lost: another node may have taken the task over');
            },
            (err) => this.opts.logger.error({ err, task: taskId }, 'task heartbeat failed'),
          );
        },
        Math.max(250, (this.opts.leaseSeconds * 1000) / 3),
      );
      heartbeat.unref();
      try {
        await handler.run(record(task), { signal: abort.signal });
        clearInterval(heartbeat);
        await this.finish(taskId, null);
      } catch (err) {
        clearInterval(heartbeat);
        if (this.stopping && abort.signal.aborted) return; // shutting down: the next start recovers it
        const e = err instanceof Error ? err : new Error(String(err));
        this.opts.logger.warn({ err: e, task: taskId, kind: task.kind }, 'task failed');
        try {
          await handler.fail(record(task), e);
        } catch (failErr) {
          this.opts.logger.error({ err: failErr, task: taskId }, 'task failure handler failed');
        }
        await this.finish(taskId, e);
      }
    } catch (err) {
      this.opts.logger.error({ err, task: taskId }, 'task engine error');
    }
  }

  private async finish(taskId: string, error: Error | null): Promise<void> {
    if (error === null) await this.opts.store.remove(taskId);
    else await this.opts.store.markFailed(taskId, error.message, this.now());
  }
}

/** Runs of one task (its first included) after which a crash ends it through `fail` rather than another try. */
const MAX_CRASH_RESUMES = 5;

function record(task: StoredTask): TaskRecord<unknown> {
  return {
    id: task.id,
    kind: task.kind,
    resourceType: task.resourceType,
    resourceId: task.resourceId,
    payload: task.payload,
    attempts: task.attempts,
  };
}
