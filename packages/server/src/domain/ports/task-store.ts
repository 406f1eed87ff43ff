import type { Scope } from './metadata-store.js';
import type { NewTask, TaskRecord } from './task-queue.js';

export type TaskState = 'pending' | 'running' | 'failed';

/** A task as stored: the record handlers see, plus who runs it and until when. */
export interface StoredTask extends TaskRecord<unknown> {
  state: TaskState;
  /** The node holding the lease (null while pending, or once failed). */
  owner: string | null;
  leaseUntil: string | null;
  /** The node that must run it (a volume on that node's local backend); null = any node. */
  node: string | null;
}

/**
 * Which tasks a node may take: those of no node or of this one, minus the kinds it declines when they could run
 * anywhere (a node whose backup service is disabled takes no backups another node can run).
 */
export interface TaskEligibility {
  node: string;
  declinedKinds: readonly string[];
}

/**
 * The task engine's persistence. Times are stored times (`storedTime`), compared as text on both stores.
 * Every claim is one atomic statement: of two nodes claiming the same task, one gets it and the other null.
 */
export interface TaskStore {
  /**
   * Inserts a task in `scope` (normally the caller's transaction): pending, or with `claim` already running under
   * that owner and lease (its first attempt).
   */
  insert(
    scope: Scope,
    id: string,
    task: NewTask<unknown>,
    now: string,
    node?: string | null,
    claim?: { owner: string; leaseUntil: string },
  ): Promise<void>;
  /** Running → pending, if it still runs under `owner` (a claim made at insert that this node cannot run now). */
  release(id: string, owner: string, now: string): Promise<void>;
  /** Whether a task of `kind` for this resource is pending or running (a failed one does not count), read in `scope`. */
  exists(scope: Scope, kind: string, resourceType: string, resourceId: string): Promise<boolean>;
  /** Pending → running for this owner; null if someone else claimed it, it is gone, or `may` excludes it. */
  claim(id: string, owner: string, leaseUntil: string, now: string, may?: TaskEligibility): Promise<StoredTask | null>;
  /** Up to `limit` pending tasks `may` allows, oldest first, claimed for this owner (rows another node is claiming are skipped). */
  claimPending(limit: number, owner: string, leaseUntil: string, now: string, may?: TaskEligibility): Promise<StoredTask[]>;
  /**
   * Running tasks `may` allows: all of them, or those whose lease ended before `leaseEndedBefore`; with
   * `onlyNode`, only those bound to `may.node`.
   */
  listRunning(leaseEndedBefore: string | null, limit?: number, may?: TaskEligibility & { onlyNode?: boolean }): Promise<StoredTask[]>;
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

/** What routing a new task reads, in the enqueuing transaction (so it sees the rows that transaction wrote). */
export interface TaskRoutingLookup {
  volume(scope: Scope, id: string): Promise<{ host: string | null; driver: string } | null>;
  snapshotVolumeId(scope: Scope, id: string): Promise<string | null>;
  backup(scope: Scope, id: string): Promise<{ volumeId: string; target: string; host: string | null } | null>;
}
