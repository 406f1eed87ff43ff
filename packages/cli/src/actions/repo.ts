import type { OfflineRepository } from '@cinderbox/server';
import type { ActionContext } from '../runtime/context.js';
import { CliError, DamageFoundError, UsageError } from '../runtime/errors.js';
import { progressWanted, statusProgress } from '../runtime/progress.js';

/** Verify and gc read the whole repository: far longer than an ordinary API call may take. */
const ONLINE_TIMEOUT_MS = 24 * 3600 * 1000;

interface VerifyView {
  ok: boolean;
  manifests: number;
  chunks: number;
  bytes: number;
  problems: { kind: string; locator: string; chunk_id: string | null; message: string }[];
}

function targetOf(ctx: ActionContext): string | undefined {
  return typeof ctx.opts.target === 'string' ? ctx.opts.target : undefined;
}

function offlineWanted(ctx: ActionContext): boolean {
  if (ctx.opts.offline === true) return true;
  if (typeof ctx.opts.dataDir === 'string') throw new UsageError('--data-dir is used only with --offline');
  return false;
}

/** Opens the repository of a stopped server with the server's own configuration (data dir, backup key). */
async function openOffline(ctx: ActionContext): Promise<OfflineRepository> {
  let server: typeof import('@cinderbox/server');
  try {
    server = await import('@cinderbox/server');
  } catch (err) {
    throw new CliError(
      `the server package is not installed or not built (run npm run setup): ${(err as Error).message}`,
    );
  }
  const dataDir = typeof ctx.opts.dataDir === 'string' ? ctx.opts.dataDir : undefined;
  try {
    const config = server.loadConfig(dataDir === undefined ? {} : { dataDir });
    const target = targetOf(ctx);
    return await server.openOfflineRepository(config, target === undefined ? {} : { target });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** While an online call runs, a person at a terminal sees that it is still working. */
function elapsedTicker(label: string): () => void {
  if (!progressWanted()) return () => {};
  const started = Date.now();
  const draw = () => process.stderr.write(`\r${label}… ${Math.round((Date.now() - started) / 1000)} s`);
  draw();
  const timer = setInterval(draw, 1000);
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  };
}

function printVerify(ctx: ActionContext, v: VerifyView): void {
  const { format, columns } = ctx.format;
  if (format === 'json' || format === 'yaml') {
    ctx.printShow({ ...v });
  } else {
    ctx.printShow({ ok: v.ok, manifests: v.manifests, chunks: v.chunks, bytes: v.bytes, problems: v.problems.length });
    if (v.problems.length > 0 && format === 'table' && !columns?.length) {
      ctx.printList({
        headers: ['Kind', 'Backup', 'Chunk', 'Message'],
        rows: v.problems.map((p) => [p.kind, p.locator, p.chunk_id, p.message]),
      });
    }
  }
  if (!v.ok) {
    const n = v.problems.length;
    throw new DamageFoundError(`the backup repository has ${n} problem${n === 1 ? '' : 's'} (listed above)`);
  }
}

export async function verify(ctx: ActionContext): Promise<void> {
  const full = ctx.opts.full === true;
  if (offlineWanted(ctx)) {
    const offline = await openOffline(ctx);
    let view: VerifyView;
    const bar = await statusProgress(full ? 'verify --full' : 'verify');
    try {
      const r = await offline.repo.verify({
        full,
        onProgress: (p) =>
          bar.update(p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 100, {
            status: `${p.bytesDone}/${p.bytesTotal} chunks`,
          }),
      });
      // The module openOffline loaded: the same report shape the server's admin API returns.
      view = (await import('@cinderbox/server')).verifyReport(r);
    } finally {
      bar.stop();
      await offline.close();
    }
    printVerify(ctx, view);
    return;
  }
  const bs = (await ctx.conn()).blockStorage;
  const stop = elapsedTicker(`the server is verifying the repository${full ? ' (--full)' : ''}`);
  let r: Awaited<ReturnType<typeof bs.verifyRepository>>;
  try {
    const target = targetOf(ctx);
    r = await bs.verifyRepository({ full, ...(target === undefined ? {} : { target }) }, { timeoutMs: ONLINE_TIMEOUT_MS });
  } finally {
    stop();
  }
  printVerify(ctx, {
    ok: r.ok,
    manifests: r.manifests,
    chunks: r.chunks,
    bytes: r.bytes,
    problems: r.problems.map((p) => ({ kind: p.kind, locator: p.locator, chunk_id: p.chunkId, message: p.message })),
  });
}

export async function gc(ctx: ActionContext): Promise<void> {
  const grace = typeof ctx.opts.grace === 'number' ? ctx.opts.grace : undefined;
  const dryRun = ctx.opts.dryRun === true;
  if (offlineWanted(ctx)) {
    const offline = await openOffline(ctx);
    try {
      const r = await offline.repo.gc({ graceMs: (grace ?? 3600) * 1000, dryRun });
      ctx.printShow({
        manifests: r.manifests,
        chunks: r.chunks,
        deleted: r.deleted,
        deleted_bytes: r.deletedBytes,
        kept_in_grace: r.keptInGrace,
        dry_run: dryRun,
      });
    } finally {
      await offline.close();
    }
    return;
  }
  const bs = (await ctx.conn()).blockStorage;
  const stop = elapsedTicker('the server is collecting garbage');
  let r: Awaited<ReturnType<typeof bs.gcRepository>>;
  try {
    r = await bs.gcRepository(
      {
        ...(grace === undefined ? {} : { graceSeconds: grace }),
        ...(dryRun ? { dryRun } : {}),
        ...(targetOf(ctx) === undefined ? {} : { target: targetOf(ctx) as string }),
      },
      { timeoutMs: ONLINE_TIMEOUT_MS },
    );
  } finally {
    stop();
  }
  ctx.printShow({
    manifests: r.manifests,
    chunks: r.chunks,
    deleted: r.deleted,
    deleted_bytes: r.deletedBytes,
    kept_in_grace: r.keptInGrace,
    dry_run: r.dryRun,
  });
}
