/**
 * Backups copied: a manifest under a new name in the same repository (import), or a backup into another repository
 * (replication), as raw chunk objects where the two repositories' formats allow it.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BackupResult,
  type BackupStore,
  type CopyToOptions,
  type CopyToResult,
  RepoError,
} from '../domain/ports/backup-store.js';
import { Bounded } from './bounded.js';
import { chunkKey, parseChunkObject } from './format.js';
import { type BackupStats, encodeManifest, Manifest, type ManifestHeader, makeLocator, manifestKey } from './manifest.js';
import { type ActiveBackup, type RepoContext, throwIfAborted } from './repo-context.js';
import { readManifest } from './repo-manifests.js';
import { getChunk } from './restore-reader.js';

/**
 * Copies a validated manifest under a new container/id (import of an exported backup record). The copy is a
 * complete backup on its own; chunks are shared. Throws EXISTS if the target exists.
 */
export async function copyManifest(
  ctx: RepoContext,
  fromLocator: string,
  to: { id: string; container?: string },
): Promise<Omit<BackupResult, 'directIo'>> {
  const source = await readManifest(ctx, fromLocator);
  const container = to.container ?? source.header.container;
  const locator = makeLocator(container, to.id);
  const header: ManifestHeader = { ...source.header, id: to.id, container };
  const { existed } = await ctx.store.put(
    manifestKey(locator),
    encodeManifest(new Manifest(header, source.entries), ctx.keys),
  );
  if (existed) throw new RepoError('EXISTS', `backup ${locator} already exists`);
  await ctx.store.flush();
  return { locator, header, stats: header.stats };
}

/**
 * Replication to another repository. Chunk objects of an unencrypted repository carry nothing of it but the
 * chunk id, so between two unencrypted repositories of one chunk size and id algorithm they are copied as they
 * are; otherwise (a key, which binds every object to its repository, or another chunking) the backup is
 * restored into a sparse temporary and backed up into `dest`, whose own dedup then stores only what it lacks.
 */
export async function copyBackup(
  ctx: RepoContext,
  /** The repository of `ctx` itself: the restore of a non-raw copy goes through it (and counts in its profile). */
  self: BackupStore,
  dest: BackupStore,
  /** `dest`'s context when it is a BackupRepository of this process (raw copies need its internals). */
  destCtx: RepoContext | undefined,
  fromLocator: string,
  to: CopyToOptions,
): Promise<CopyToResult> {
  if (dest === self) throw new RepoError('INVALID_ARGUMENT', 'a backup is copied to another repository, not its own');
  const source = await readManifest(ctx, fromLocator);
  const sameFormat =
    destCtx !== undefined &&
    !ctx.encrypted &&
    !destCtx.encrypted &&
    destCtx.config.chunkSize === ctx.config.chunkSize &&
    destCtx.config.idAlgorithm === ctx.config.idAlgorithm;
  if (sameFormat) return { ...(await receiveRaw(destCtx, ctx, source, fromLocator, to)), raw: true };
  const scratch = join(to.scratchDir, `replica-${randomUUID()}.raw`);
  try {
    await self.restore({
      locator: fromLocator,
      targetPath: scratch,
      targetIsFresh: true,
      directIo: false,
      ...(to.signal ? { signal: to.signal } : {}),
      ...(to.onProgress ? { onProgress: (p) => to.onProgress!({ bytesDone: p.bytesDone / 2, bytesTotal: p.bytesTotal }) } : {}),
    });
    const r = await dest.backup({
      id: to.id,
      container: to.container,
      sourcePath: scratch,
      size: source.header.size,
      directIo: false,
      ...(to.parent !== undefined ? { parent: to.parent } : {}),
      meta: to.meta ?? source.header.meta,
      ...(to.signal ? { signal: to.signal } : {}),
      ...(to.onProgress
        ? { onProgress: (p) => to.onProgress!({ bytesDone: (p.bytesTotal + p.bytesDone) / 2, bytesTotal: p.bytesTotal }) }
        : {}),
    });
    return { locator: r.locator, header: r.header, stats: r.stats, raw: false };
  } finally {
    await rm(scratch, { force: true });
  }
}

/**
 * The receiving side of a raw copy: registered as a running backup with a lease, like `backup`, so a gc here
 * neither deletes a chunk it put nor one it took from the chunk index before the manifest names them.
 */
async function receiveRaw(
  ctx: RepoContext,
  from: RepoContext,
  source: Manifest,
  fromLocator: string,
  to: CopyToOptions,
): Promise<Omit<CopyToResult, 'raw'>> {
  const locator = makeLocator(to.container, to.id);
  const mKey = manifestKey(locator);
  if (await ctx.store.head(mKey)) throw new RepoError('EXISTS', `backup ${locator} already exists`);
  const parent = to.parent === undefined ? undefined : await readManifest(ctx, to.parent);
  const active: ActiveBackup = {
    locator,
    startedAt: Date.now(),
    entries: source.entries,
    parent,
    ids: new Set(),
    useIndex: false,
    pendingIndex: [],
  };
  const stats: BackupStats = {
    ...source.header.stats,
    newChunks: 0,
    reusedChunks: 0,
    storedBytes: 0,
    codecs: { raw: 0, zstd: 0, lz4: 0 },
  };
  return ctx.runBackup(active, async () => {
    const inflight = new Bounded(8);
    try {
      const ids = [...source.ids()];
      let done = 0;
      for (const id of ids) {
        throwIfAborted(to.signal);
        if (inflight.failed) break;
        await inflight.add(async () => {
          const idBytes = Buffer.from(id, 'hex');
          if (await ctx.indexHas(active, id, idBytes)) {
            stats.reusedChunks++;
          } else {
            const object = await getChunk(from, id, fromLocator, -1);
            try {
              parseChunkObject(object, id);
            } catch (e) {
              throw new RepoError('CHUNK_CORRUPT', `chunk ${id} of backup ${fromLocator} is corrupt: ${(e as Error).message}`, {
                chunkId: id,
              });
            }
            const { existed } = await ctx.store.put(chunkKey(id), object, { touchExisting: true });
            if (existed) stats.reusedChunks++;
            else {
              stats.newChunks++;
              stats.storedBytes += object.length;
              stats.codecs!.raw++;
            }
            await ctx.chunkPut(active, idBytes);
          }
          done++;
          to.onProgress?.({ bytesDone: done, bytesTotal: ids.length });
        });
      }
      await inflight.drain();
      throwIfAborted(to.signal);
      await ctx.store.flush();
      await ctx.indexPending(active);
      // Stored codecs are the source's; the count says only how many objects came over.
      const header: ManifestHeader = {
        ...source.header,
        id: to.id,
        container: to.container,
        repoId: ctx.config.repoId,
        encrypted: false,
        parent: to.parent ?? null,
        createdAt: new Date().toISOString(),
        stats,
        meta: to.meta ?? source.header.meta,
      };
      const { existed } = await ctx.store.put(mKey, encodeManifest(new Manifest(header, source.entries), ctx.keys));
      if (existed) throw new RepoError('EXISTS', `backup ${locator} already exists`);
      await ctx.store.flush();
      return { locator, header, stats };
    } finally {
      await inflight.drain().catch(() => {});
    }
  });
}
