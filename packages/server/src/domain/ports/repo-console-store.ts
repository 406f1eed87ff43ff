/**
 * What the console's repository view keeps in the metadata store (migration 0022): per backup target, running
 * counters and the last verify/gc results, samples of the counters over time, the duration of each backup's
 * data transfer, and background verify/gc jobs. Times are stored times (domain/time.ts).
 */
import type { Scope } from './metadata-store.js';

export interface RepoCounters {
  logical_bytes: number;
  stored_bytes: number;
  chunk_count: number;
  backup_count: number;
}

export interface LastVerify {
  at: string;
  ok: boolean;
  full: boolean;
  checked: number;
  errors: number;
  message: string | null;
}

export interface LastGc {
  at: string;
  removed_chunks: number;
  freed_bytes: number;
}

export interface RepoStatsRecord extends RepoCounters {
  target: string;
  last_verify: LastVerify | null;
  last_gc: LastGc | null;
}

export interface RepoSample extends Omit<RepoCounters, 'backup_count'> {
  at: string;
}

export interface BackupRun {
  backup_id: string;
  finished_at: string;
  size_bytes: number;
  millis: number;
}

export type RepoJobKind = 'verify' | 'gc';
export type RepoJobStatus = 'running' | 'succeeded' | 'failed';

export interface RepoJob {
  id: string;
  kind: RepoJobKind;
  target: string;
  status: RepoJobStatus;
  /** 0..100 */
  progress: number;
  params: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  /** The project of the admin who started it (the event stream's `project_id`). */
  project_id: string;
  /** The node running it: only that node may tell it was interrupted. */
  node: string;
  started_at: string;
  finished_at: string | null;
}

export interface RepoConsoleStore {
  stats(scope: Scope, target: string): Promise<RepoStatsRecord | undefined>;
  /** Adds `delta` to a target's counters (never below zero), creating its row; returns the new counters. */
  addCounters(scope: Scope, target: string, delta: Partial<RepoCounters>, now: string): Promise<RepoCounters>;
  /** Sets counters a full listing measured (gc), creating the row; returns the new counters. */
  setCounters(scope: Scope, target: string, values: Partial<RepoCounters>, now: string): Promise<RepoCounters>;
  recordVerify(scope: Scope, target: string, v: LastVerify): Promise<void>;
  recordGc(scope: Scope, target: string, g: LastGc): Promise<void>;
  /** Adds a sample and drops the target's oldest beyond `keep`. */
  addSample(scope: Scope, target: string, sample: RepoSample, keep: number): Promise<void>;
  /** Samples at or after `since` (all when null), oldest first, at most `limit` (the newest ones). */
  samples(scope: Scope, target: string, since: string | null, limit: number): Promise<RepoSample[]>;
  addBackupRun(scope: Scope, target: string, run: BackupRun, keep: number): Promise<void>;
  /** Runs finished at or after `since`, newest first. */
  backupRuns(scope: Scope, target: string, since: string | null, limit: number): Promise<BackupRun[]>;
  /** False when a job of this kind already runs on this target (the running job's lock). */
  insertJob(scope: Scope, job: RepoJob): Promise<boolean>;
  setJobProgress(scope: Scope, id: string, progress: number): Promise<void>;
  /** Ends a running job (and frees its lock); undefined when it was not running. */
  finishJob(
    scope: Scope,
    id: string,
    end: { status: 'succeeded' | 'failed'; result: Record<string, unknown> | null; error: string | null; finished_at: string },
  ): Promise<RepoJob | undefined>;
  job(scope: Scope, id: string): Promise<RepoJob | undefined>;
  /** Newest first. */
  jobs(scope: Scope, limit: number): Promise<RepoJob[]>;
  runningJobs(scope: Scope, node: string | null): Promise<RepoJob[]>;
}
