import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type {
  RepoConsoleStore,
  RepoCounters,
  RepoJob,
  RepoJobKind,
  RepoJobStatus,
  RepoStatsRecord,
} from '../../domain/ports/repo-console-store.js';
import { executor } from '../metadata-store.js';
import type { RepoJobTable, RepoStatsTable } from '../schema.js';

// PostgreSQL returns bigint columns as strings.
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const COUNTERS = ['logical_bytes', 'stored_bytes', 'chunk_count', 'backup_count'] as const;

function toStats(r: RepoStatsTable): RepoStatsRecord {
  return {
    target: r.target,
    logical_bytes: num(r.logical_bytes),
    stored_bytes: num(r.stored_bytes),
    chunk_count: num(r.chunk_count),
    backup_count: num(r.backup_count),
    last_verify:
      r.last_verify_at === null
        ? null
        : {
            at: r.last_verify_at,
            ok: num(r.last_verify_ok) === 1,
            full: num(r.last_verify_full) === 1,
            checked: num(r.last_verify_checked ?? 0),
            errors: num(r.last_verify_errors ?? 0),
            message: r.last_verify_message,
          },
    last_gc:
      r.last_gc_at === null
        ? null
        : { at: r.last_gc_at, removed_chunks: num(r.last_gc_removed_chunks ?? 0), freed_bytes: num(r.last_gc_freed_bytes ?? 0) },
  };
}

function counters(r: RepoStatsRecord): RepoCounters {
  return { logical_bytes: r.logical_bytes, stored_bytes: r.stored_bytes, chunk_count: r.chunk_count, backup_count: r.backup_count };
}

function toJob(r: RepoJobTable): RepoJob {
  return {
    id: r.id,
    kind: r.kind as RepoJobKind,
    target: r.target,
    status: r.status as RepoJobStatus,
    progress: num(r.progress),
    params: JSON.parse(r.params) as Record<string, unknown>,
    result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
    error: r.error,
    project_id: r.project_id,
    node: r.node,
    started_at: r.started_at,
    finished_at: r.finished_at,
  };
}

async function ensureRow(scope: Scope, target: string, now: string): Promise<void> {
  await executor(scope)
    .insertInto('repo_stats')
    .values({
      target,
      logical_bytes: 0,
      stored_bytes: 0,
      chunk_count: 0,
      backup_count: 0,
      last_verify_at: null,
      last_verify_ok: null,
      last_verify_full: null,
      last_verify_checked: null,
      last_verify_errors: null,
      last_verify_message: null,
      last_gc_at: null,
      last_gc_removed_chunks: null,
      last_gc_freed_bytes: null,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('target').doNothing())
    .execute();
}

export const repoConsoleRepository: RepoConsoleStore = {
  async stats(scope, target) {
    const r = await executor(scope).selectFrom('repo_stats').selectAll().where('target', '=', target).executeTakeFirst();
    return r && toStats(r);
  },

  async addCounters(scope, target, delta, now) {
    await ensureRow(scope, target, now);
    const set: Record<string, unknown> = { updated_at: now };
    for (const k of COUNTERS) {
      const d = delta[k];
      // Relative updates, so two nodes (or two backups) adding at once both count; a drift never goes negative.
      if (d !== undefined && d !== 0) set[k] = sql`CASE WHEN ${sql.ref(k)} + ${d} < 0 THEN 0 ELSE ${sql.ref(k)} + ${d} END`;
    }
    await executor(scope).updateTable('repo_stats').set(set).where('target', '=', target).execute();
    return counters((await this.stats(scope, target))!);
  },

  async setCounters(scope, target, values, now) {
    await ensureRow(scope, target, now);
    const set: Record<string, unknown> = { updated_at: now };
    for (const k of COUNTERS) if (values[k] !== undefined) set[k] = Math.max(0, values[k]!);
    await executor(scope).updateTable('repo_stats').set(set).where('target', '=', target).execute();
    return counters((await this.stats(scope, target))!);
  },

  async recordVerify(scope, target, v) {
    await ensureRow(scope, target, v.at);
    await executor(scope)
      .updateTable('repo_stats')
      .set({
        last_verify_at: v.at,
        last_verify_ok: v.ok ? 1 : 0,
        last_verify_full: v.full ? 1 : 0,
        last_verify_checked: v.checked,
        last_verify_errors: v.errors,
        last_verify_message: v.message,
      })
      .where('target', '=', target)
      .execute();
  },

  async recordGc(scope, target, g) {
    await ensureRow(scope, target, g.at);
    await executor(scope)
      .updateTable('repo_stats')
      .set({ last_gc_at: g.at, last_gc_removed_chunks: g.removed_chunks, last_gc_freed_bytes: g.freed_bytes })
      .where('target', '=', target)
      .execute();
  },

  async addSample(scope, target, s, keep) {
    const db = executor(scope);
    await db
      .insertInto('repo_stats_samples')
      .values({ id: randomUUID(), target, at: s.at, logical_bytes: s.logical_bytes, stored_bytes: s.stored_bytes, chunk_count: s.chunk_count })
      .execute();
    const cutoff = await db
      .selectFrom('repo_stats_samples')
      .select('at')
      .where('target', '=', target)
      .orderBy('at', 'desc')
      .limit(1)
      .offset(keep)
      .executeTakeFirst();
    if (cutoff) await db.deleteFrom('repo_stats_samples').where('target', '=', target).where('at', '<=', cutoff.at).execute();
  },

  async samples(scope, target, since, limit) {
    let q = executor(scope).selectFrom('repo_stats_samples').selectAll().where('target', '=', target);
    if (since !== null) q = q.where('at', '>=', since);
    const rows = await q.orderBy('at', 'desc').limit(limit).execute();
    return rows.reverse().map((r) => ({
      at: r.at,
      logical_bytes: num(r.logical_bytes),
      stored_bytes: num(r.stored_bytes),
      chunk_count: num(r.chunk_count),
    }));
  },

  async addBackupRun(scope, target, run, keep) {
    const db = executor(scope);
    await db
      .insertInto('repo_backup_runs')
      .values({ id: randomUUID(), target, backup_id: run.backup_id, finished_at: run.finished_at, size_bytes: run.size_bytes, millis: run.millis })
      .execute();
    const cutoff = await db
      .selectFrom('repo_backup_runs')
      .select('finished_at')
      .where('target', '=', target)
      .orderBy('finished_at', 'desc')
      .limit(1)
      .offset(keep)
      .executeTakeFirst();
    if (cutoff) await db.deleteFrom('repo_backup_runs').where('target', '=', target).where('finished_at', '<=', cutoff.finished_at).execute();
  },

  async backupRuns(scope, target, since, limit) {
    let q = executor(scope).selectFrom('repo_backup_runs').selectAll().where('target', '=', target);
    if (since !== null) q = q.where('finished_at', '>=', since);
    const rows = await q.orderBy('finished_at', 'desc').limit(limit).execute();
    return rows.map((r) => ({ backup_id: r.backup_id, finished_at: r.finished_at, size_bytes: num(r.size_bytes), millis: num(r.millis) }));
  },

  async insertJob(scope, job) {
    const res = await executor(scope)
      .insertInto('repo_jobs')
      .values({
        id: job.id,
        kind: job.kind,
        target: job.target,
        status: job.status,
        progress: job.progress,
        params: JSON.stringify(job.params),
        result: job.result === null ? null : JSON.stringify(job.result),
        error: job.error,
        project_id: job.project_id,
        node: job.node,
        lock_key: job.status === 'running' ? `${job.target}/${job.kind}` : null,
        started_at: job.started_at,
        finished_at: job.finished_at,
      })
      .onConflict((oc) => oc.column('lock_key').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  },

  async setJobProgress(scope, id, progress) {
    await executor(scope).updateTable('repo_jobs').set({ progress }).where('id', '=', id).where('status', '=', 'running').execute();
  },

  async finishJob(scope, id, end) {
    const res = await executor(scope)
      .updateTable('repo_jobs')
      .set({
        status: end.status,
        result: end.result === null ? null : JSON.stringify(end.result),
        error: end.error,
        finished_at: end.finished_at,
        lock_key: null,
        ...(end.status === 'succeeded' ? { progress: 100 } : {}),
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return undefined;
    return this.job(scope, id);
  },

  async job(scope, id) {
    const r = await executor(scope).selectFrom('repo_jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toJob(r);
  },

  async jobs(scope, limit) {
    const rows = await executor(scope).selectFrom('repo_jobs').selectAll().orderBy('started_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map(toJob);
  },

  async runningJobs(scope, node) {
    let q = executor(scope).selectFrom('repo_jobs').selectAll().where('status', '=', 'running');
    if (node !== null) q = q.where('node', '=', node);
    return (await q.execute()).map(toJob);
  },
};
