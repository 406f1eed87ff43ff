import type { Scope } from './metadata-store.js';
import type { NewTask, TaskRecord } from './task-queue.js';

export type TaskState = 'pending' | 'running' | 'failed';

/** A task as stored: the record handlers see, plus who runs it and until when. */
export interface StoredTask extends TaskRecord<unknown> {
  state: TaskState;
  /** The node holding the lease (null while pending, or once failed). */
  owner: string | null;
  leaseUntil: string | null;
}

/**
 * The task engine's persistence. Times are stored times (`storedTime`), compared as text on both stores.
 * Every claim is one atomic statement: of two nodes claiming the same task, one gets it and the other null.
 */
export interface TaskStore {
  /** Inserts a pending task in `scope` (normally the caller's transaction) and returns its id. */
  insert(scope: Scope, id: string, task: NewTask<unknown>, now: string): Promise<void>;
  /** Pending → running for this owner; null if someone else claimed it or it is gone. */
  claim(id: string, owner: string, leaseUntil: string, now: string): Promise<StoredTask | null>;
  /** Up to `limit` pending tasks, oldest first, claimed for this owner (rows another node is claiming are skipped). */
  claimPending(limit: number, owner: string, leaseUntil: string, now: string): Promise<StoredTask[]>;
  /** Running tasks: all of them, or those whose lease ended before `leaseEndedBefore`. */
  listRunning(leaseEndedBefore: string | null, limit?: number): Promise<StoredTask[]>;
  /**
   * Takes over a running task from `previousOwner` (a dead node): succeeds only if it still runs under that
   * owner, so two nodes recovering the same orphan cannot both win.
   */
  claimOrphan(id: string, previousOwner: string | null, owner: string, leaseUntil: string, now: string): Promise<StoredTask | null>;
  /** Extends this owner's lease; false when the task is no longer ours. */
  renewLease(id: string, owner: string, leaseUntil: string): Promise<boolean>;
  remove(id: string): Promise<void>;
  markFailed(id: string, error: string, now: string): Promise<void>;
  get(id: string): Promise<StoredTask | null>;
}
