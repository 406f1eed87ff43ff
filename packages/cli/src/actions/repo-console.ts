/** `cinderbox repo stats|history|jobs|job|start`: the console's repository routes at a terminal. */
import type { RepositoryJob } from '@cinderbox/sdk';
import type { ActionContext } from '../runtime/context.js';
import { CliError, UsageError } from '../runtime/errors.js';
import { statusProgress } from '../runtime/progress.js';

function targetOf(ctx: ActionContext): { target?: string } {
  return typeof ctx.opts.target === 'string' ? { target: ctx.opts.target } : {};
}

function jobRecord(j: RepositoryJob): Record<string, unknown> {
  return {
    id: j.id,
    kind: j.kind,
    target: j.target,
    status: j.status,
    progress: j.progress,
    started_at: j.startedAt,
    finished_at: j.finishedAt,
    error: j.error,
    result: j.result,
  };
}

export async function stats(ctx: ActionContext): Promise<void> {
  const s = await (await ctx.conn()).blockStorage.repository.stats(targetOf(ctx));
  const saved = s.logicalBytes > 0 ? `${Math.round((1 - s.storedBytes / s.logicalBytes) * 1000) / 10} %` : null;
  ctx.printShow({
    target: s.target,
    driver: s.driver,
    logical_bytes: s.logicalBytes,
    stored_bytes: s.storedBytes,
    saved,
    chunk_count: s.chunkCount,
    backup_count: s.backupCount,
    last_verify: s.lastVerify && { ...s.lastVerify },
    last_gc: s.lastGc && { at: s.lastGc.at, removed_chunks: s.lastGc.removedChunks, freed_bytes: s.lastGc.freedBytes },
  });
}

export async function history(ctx: ActionContext): Promise<void> {
  const since = typeof ctx.opts.since === 'string' ? ctx.opts.since : undefined;
  const h = await (await ctx.conn()).blockStorage.repository.history({ ...targetOf(ctx), ...(since ? { since } : {}) });
  if (ctx.opts.backups === true) {
    ctx.printList({
      headers: ['ID', 'Finished At', 'Size Bytes', 'Seconds', 'Bytes Per Second'],
      rows: h.backups.map((b) => [b.id, b.finishedAt, b.sizeBytes, b.seconds, b.bytesPerSecond]),
    });
    return;
  }
  ctx.printList({
    headers: ['At', 'Logical Bytes', 'Stored Bytes', 'Chunk Count'],
    rows: h.samples.map((s) => [s.at, s.logicalBytes, s.storedBytes, s.chunkCount]),
  });
}

export async function jobs(ctx: ActionContext): Promise<void> {
  const list = await (await ctx.conn()).blockStorage.repository.jobs();
  ctx.printList({
    headers: ['ID', 'Kind', 'Target', 'Status', 'Progress', 'Started At', 'Finished At', 'Error'],
    rows: list.map((j) => [j.id, j.kind, j.target, j.status, j.progress, j.startedAt, j.finishedAt, j.error]),
  });
}

export async function job(ctx: ActionContext): Promise<void> {
  const id = ctx.args[0];
  if (typeof id !== 'string') throw new UsageError('a job id is required');
  ctx.printShow(jobRecord(await (await ctx.conn()).blockStorage.repository.job(id)));
}

export async function start(ctx: ActionContext): Promise<void> {
  const kind = ctx.args[0];
  if (kind !== 'verify' && kind !== 'gc') throw new UsageError('the job kind is verify or gc');
  if (kind === 'verify' && (ctx.opts.dryRun === true || ctx.opts.grace !== undefined))
    throw new UsageError('--dry-run and --grace apply to gc jobs');
  if (kind === 'gc' && ctx.opts.full === true) throw new UsageError('--full applies to verify jobs');
  const repo = (await ctx.conn()).blockStorage.repository;
  let j = await repo.startJob({
    kind,
    ...targetOf(ctx),
    ...(ctx.opts.full === true ? { full: true } : {}),
    ...(ctx.opts.dryRun === true ? { dryRun: true } : {}),
    ...(typeof ctx.opts.grace === 'number' ? { graceSeconds: ctx.opts.grace } : {}),
  });
  if (ctx.opts.wait === true) {
    const bar = await statusProgress(`${kind} job`);
    try {
      j = await repo.waitForJob(j.id, { onProgress: (p) => bar.update(p.progress, { status: p.status }) });
    } finally {
      bar.stop();
    }
  }
  ctx.printShow(jobRecord(j));
  if (j.status === 'failed') throw new CliError(`the ${kind} job failed: ${j.error ?? 'no reason given'}`);
}
