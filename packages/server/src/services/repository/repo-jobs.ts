/**
 * Background verify and gc of a backup target's repository (the console's buttons), run in-process by the node
 * that accepted them rather than as durable tasks: both are read-mostly maintenance that is safe to run again
 * from the start, so resuming one after a crash buys nothing, and whether to run it again is the admin's call.
 * A job a stopped node left `running` is ended `failed` ("interrupted") when that node starts again (on SQLite,
 * a single node, every such job). The row's unique `lock_key` admits one running job per kind and target across
 * all nodes sharing the database; a second is refused with 409.
 */
import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { conflict, notFound } from '../../domain/errors.js';
import { gcReport, verifyReport } from '../../domain/ports/backup-store.js';
import type { BackupTargets } from '../../domain/ports/backup-targets.js';
import type { MetadataStore } from '../../domain/ports/metadata-store.js';
import type { RepoConsoleStore, RepoJob, RepoJobKind } from '../../domain/ports/repo-console-store.js';
import { type Clock, keystoneTime, storedTime } from '../../domain/time.js';
import { callerProject, requireAdmin } from '../block-storage/access.js';
import type { ChangeEvents } from '../events.js';
import type { RepoStats } from './repo-stats.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What the job list shows (newest first). */
const LIST_LIMIT = 50;
/** Progress is written at most this often (and on every whole 5 %), not per chunk. */
const PROGRESS_EVERY_MS = 1000;
export const DEFAULT_GC_GRACE_SECONDS = 3600;

export interface RepoJobInput {
  kind: RepoJobKind;
  target?: string;
  full?: boolean;
  dryRun?: boolean;
  graceSeconds?: number;
}

export interface RepoJobsOptions {
  store: MetadataStore;
  repo: RepoConsoleStore;
  /** The counted targets (RepoStats.counted), so a job's verify/gc is recorded like the synchronous routes'. */
  targets: BackupTargets;
  stats: RepoStats;
  clock: Clock;
  events: ChangeEvents;
  /** This node's name (the service host). */
  node: string;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export function repoJobView(j: RepoJob) {
  return {
    id: j.id,
    kind: j.kind,
    target: j.target,
    status: j.status,
    progress: j.progress,
    started_at: keystoneTime(j.started_at),
    finished_at: j.finished_at === null ? null : keystoneTime(j.finished_at),
    result: j.result,
    error: j.error,
  };
}

export class RepoJobs {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(private readonly o: RepoJobsOptions) {}

  private now(): string {
    return storedTime(this.o.clock.now());
  }

  /** Ends the jobs a previous run of this node (every node's, when `allNodes`) left running. */
  async recover(allNodes: boolean): Promise<number> {
    const left = await this.o.repo.runningJobs(this.o.store.root, allNodes ? null : this.o.node);
    for (const j of left) {
      await this.o.repo.finishJob(this.o.store.root, j.id, {
        status: 'failed',
        result: null,
        error: 'Interrupted: the server stopped while the job ran.',
        finished_at: this.now(),
      });
    }
    return left.length;
  }

  async create(ctx: AuthContext, input: RepoJobInput): Promise<RepoJob> {
    requireAdmin(ctx, 'cinderbox:repo_jobs');
    const target = this.o.stats.resolveTarget(input.target).name;
    const params =
      input.kind === 'verify'
        ? { full: input.full === true }
        : { dry_run: input.dryRun === true, grace_seconds: input.graceSeconds ?? DEFAULT_GC_GRACE_SECONDS };
    const job: RepoJob = {
      id: randomUUID(),
      kind: input.kind,
      target,
      status: 'running',
      progress: 0,
      params,
      result: null,
      error: null,
      project_id: callerProject(ctx),
      node: this.o.node,
      started_at: this.now(),
      finished_at: null,
    };
    if (!(await this.o.repo.insertJob(this.o.store.root, job)))
      throw conflict(`A ${input.kind} job is already running on backup target ${JSON.stringify(target)}.`);
    this.announce(job);
    const abort = new AbortController();
    const done = this.run(job, abort.signal).finally(() => this.running.delete(job.id));
    this.running.set(job.id, { abort, done });
    return job;
  }

  private announce(j: Pick<RepoJob, 'id' | 'status' | 'progress' | 'project_id'>): void {
    this.o.events.publish({ type: 'repo-job', id: j.id, status: j.status, progress: j.progress, project_id: j.project_id });
  }

  private async run(job: RepoJob, signal: AbortSignal): Promise<void> {
    const repo = this.o.targets.repo(job.target);
    let lastWrite = 0;
    let lastPct = 0;
    let writing: Promise<void> = Promise.resolve();
    const onProgress = (p: { bytesDone: number; bytesTotal: number }) => {
      const pct = p.bytesTotal > 0 ? Math.min(99, Math.floor((p.bytesDone / p.bytesTotal) * 100)) : 0;
      const now = Date.now();
      if (pct === lastPct || (now - lastWrite < PROGRESS_EVERY_MS && pct - lastPct < 5)) return;
      lastPct = pct;
      lastWrite = now;
      writing = writing
        .then(() => this.o.repo.setJobProgress(this.o.store.root, job.id, pct))
        .then(() => this.announce({ ...job, progress: pct }))
        .catch(() => {});
    };
    let end: { status: 'succeeded' | 'failed'; result: Record<string, unknown> | null; error: string | null };
    try {
      let result: Record<string, unknown>;
      if (job.kind === 'verify') {
        const full = job.params.full === true;
        result = { ...verifyReport(await repo.verify({ full, signal, onProgress })), target: job.target };
      } else {
        const dryRun = job.params.dry_run === true;
        const grace = Number(job.params.grace_seconds ?? DEFAULT_GC_GRACE_SECONDS);
        result = gcReport(await repo.gc({ graceMs: grace * 1000, dryRun }), dryRun, job.target);
      }
      end = { status: 'succeeded', result, error: null };
    } catch (err) {
      const message = signal.aborted ? 'Interrupted: the server stopped while the job ran.' : err instanceof Error ? err.message : String(err);
      if (!signal.aborted) this.o.logger.warn({ err, job: job.id, kind: job.kind, target: job.target }, 'repository job failed');
      end = { status: 'failed', result: null, error: message.slice(0, 1000) };
    }
    await writing;
    try {
      const finished = await this.o.repo.finishJob(this.o.store.root, job.id, { ...end, finished_at: this.now() });
      if (finished) this.announce(finished);
    } catch (err) {
      this.o.logger.error({ err, job: job.id }, 'repository job result not recorded');
    }
  }

  async get(ctx: AuthContext, id: string): Promise<RepoJob> {
    requireAdmin(ctx, 'cinderbox:repo_jobs');
    const j = UUID_RE.test(id) ? await this.o.repo.job(this.o.store.root, id.toLowerCase()) : undefined;
    if (!j) throw notFound(`Repository job ${id} could not be found.`);
    return j;
  }

  async list(ctx: AuthContext): Promise<RepoJob[]> {
    requireAdmin(ctx, 'cinderbox:repo_jobs');
    return this.o.repo.jobs(this.o.store.root, LIST_LIMIT);
  }

  /** Waits for the jobs of this process (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /**
   * Stops this process's jobs: a verify stops at its next chunk and is recorded failed; a gc finishes its sweep.
   * A job still busy after `graceMs` (a read hanging on the store) is left to the next start, which ends it as
   * interrupted, so shutting down never waits on the store.
   */
  async stop(graceMs = 10_000): Promise<void> {
    for (const r of this.running.values()) r.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }
}
