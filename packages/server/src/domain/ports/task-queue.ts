import type { Scope } from './metadata-store.js';

/** A durable unit of asynchronous work (create a snapshot, delete a volume, …). */
export interface TaskRecord<P = unknown> {
  id: string;
  kind: string;
  resourceType: string;
  resourceId: string;
  payload: P;
  attempts: number;
}

export interface TaskRunContext {
  signal: AbortSignal;
}

export interface TaskHandler<P = unknown> {
  kind: string;
  /** Does the work; must be idempotent per step, because a crash may replay it. */
  run(task: TaskRecord<P>, ctx: TaskRunContext): Promise<void>;
  /**
   * Leaves the resource in a final state after `run` threw, or after the node running it died (`cause` then
   * says so): typically status `error` with a reason, and partial data removed.
   */
  fail(task: TaskRecord<P>, cause: Error): Promise<void>;
  /**
   * Whether a run interrupted by the death of its node is run again (from the start) instead of failed: for work
   * whose every step may be replayed and that the user already asked to be gone (deletes), so a crash does not
   * leave the resource in `error_deleting`. `fail` still runs if the run itself throws.
   */
  resumeAfterCrash?: boolean;
  /**
   * Whether a task this node may run is inserted already claimed by it (running, under its lease), so its
   * dispatch after commit starts it at once instead of claiming it in a statement (and commit) of its own: for
   * short work a client waits on (snapshot create). A claimed task whose dispatch never comes is recovered as an
   * orphan once its lease ends (`fail`, or a rerun when resumable), not run late from `pending`.
   */
  claimOnEnqueue?: boolean;
}

export interface NewTask<P = unknown> {
  kind: string;
  resourceType: string;
  resourceId: string;
  payload: P;
}

/**
 * Where a task is recorded: the caller's metadata-store scope (its open transaction, so the task commits or
 * rolls back with the change that asked for it).
 */
export type TransactionHandle = Scope;

/** What services depend on: the engine behind it (tasks/) is wired in main.ts. */
export interface TaskQueue {
  /** Declares how tasks of `handler.kind` run and fail; done once at composition, before `dispatch`. */
  register<P>(handler: TaskHandler<P>): void;
  /** Records the task inside the caller's transaction; nothing runs until `dispatch` after commit. */
  enqueue<P>(tx: TransactionHandle, task: NewTask<P>): Promise<string>;
  /** Whether a task of `kind` for the resource is still recorded (not yet finished), read inside `tx`. */
  isQueued(tx: TransactionHandle, kind: string, resourceType: string, resourceId: string): Promise<boolean>;
  /** Starts a committed task in this process (claimed with a lease so no other node runs it too). */
  dispatch(taskId: string): void;
}
