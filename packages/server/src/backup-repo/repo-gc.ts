/**
 * Garbage collection of chunk objects no manifest, running backup or pin references, coordinated with backups in
 * this process (RepoContext's bookkeeping), with other processes (leases, gc epochs) and with the chunk index.
 */
import { type GcOptions, type GcResult, RepoError } from '../domain/ports/backup-store.js';
import { CHUNK_KEY_RE, ID_BYTES } from './format.js';
import { foreignGcRunning, type GcEpoch, readGcEpoch, refreshGcEpoch, writeGcEpoch } from './gc-epoch.js';
import { decodeManifest, leaseKey as leaseKeyOf, MANIFEST_KEY_RE } from './manifest.js';
import { MarkSet } from './mark-set.js';
import { INDEX_BATCH, LEASE_REFRESH_MS, LEASE_TTL_MS, type RepoContext } from './repo-context.js';

/**
 * Mark and sweep: deletes chunks that no manifest, no running backup and no pin references, and whose mtime
 * is older than (start of the oldest running backup, or now) minus `graceMs`. Refuses to run (throws) when a
 * manifest cannot be read, since its chunks would otherwise be lost.
 *
 * While a backup of another process holds a live lease, nothing is deleted (such chunks count as kept in grace):
 * that backup may be taking chunks from its node's index without touching them. The store's gc epoch is
 * renewed before the leases are read and again at the end, so other nodes' indexes are rebuilt (gc-epoch.ts).
 * This repository's own chunk index is kept exact: refreshed from the listing, deleted chunks removed first.
 * Memory: the mark set (8 bytes per referenced chunk, mark-set.ts) and one listing page at a time.
 */
export async function collectGarbage(ctx: RepoContext, opts: GcOptions): Promise<GcResult> {
  if (!(opts.graceMs >= 0)) throw new RepoError('INVALID_ARGUMENT', 'graceMs must be >= 0');
  if (ctx.gcRunning) throw new RepoError('INVALID_ARGUMENT', 'garbage collection is already running');
  ctx.gcRunning = true;
  const index = ctx.index;
  let epoch: GcEpoch | undefined;
  let epochTimer: NodeJS.Timeout | undefined;
  try {
    await ctx.indexRebuild;
    const before = await readGcEpoch(ctx.store);
    // An index that did not match the store before this gc cannot be made exact by it: start it over.
    const indexWasCurrent = index !== undefined && index.epoch === before.epoch && !foreignGcRunning(before, ctx.instanceId);
    if (!opts.dryRun) {
      epoch = await writeGcEpoch(ctx.store, true, ctx.instanceId);
      const running = epoch;
      epochTimer = setInterval(() => void refreshGcEpoch(ctx.store, running).catch(() => {}), LEASE_REFRESH_MS);
      epochTimer.unref();
      if (index) {
        if (!indexWasCurrent) index.clear();
        index.setEpoch(epoch.epoch);
      }
    }
    const indexGen = !opts.dryRun && index ? index.nextGeneration() : undefined;
    const start = Date.now();
    // Leases first: a backup that finishes after this point has its manifest listed below.
    let oldest = start;
    for (const a of ctx.active) oldest = Math.min(oldest, a.startedAt);
    const ours = new Set([...ctx.active].map((a) => leaseKeyOf(a.locator)));
    let foreignLeases = 0;
    for await (const lease of ctx.store.list('locks/leases/')) {
      if (start - lease.mtime.getTime() > LEASE_TTL_MS) {
        await ctx.store.delete(lease.key).catch(() => {});
        continue;
      }
      if (!ours.has(lease.key)) foreignLeases++;
      const info = await ctx.store
        .get(lease.key)
        .then((b) => JSON.parse(b.toString('utf8')) as { startedAt?: unknown })
        .catch(() => null);
      const startedAt = typeof info?.startedAt === 'number' ? info.startedAt : lease.mtime.getTime();
      oldest = Math.min(oldest, startedAt);
    }
    const cutoff = oldest - opts.graceMs;
    // Mark set of 8-byte id prefixes: a collision only keeps an extra chunk, never loses one.
    const marks = new MarkSet();
    const mark = (idHex: string) => marks.addHex(idHex);
    const markEntries = (entries: Buffer) => {
      for (let off = 0; off < entries.length; off += ID_BYTES) {
        if (entries.readBigUInt64BE(off) === 0n && entries.subarray(off, off + ID_BYTES).every((b) => b === 0)) continue;
        marks.addAt(entries, off);
      }
    };
    let manifests = 0;
    for await (const obj of ctx.store.list('backups/')) {
      if (!MANIFEST_KEY_RE.test(obj.key)) continue;
      const m = decodeManifest(await ctx.store.get(obj.key), ctx.keys, obj.key);
      manifests++;
      markEntries(m.entries);
    }
    for (const a of ctx.active) {
      markEntries(a.entries);
      if (a.parent) markEntries(a.parent.entries);
      for (const id of a.ids) mark(id);
    }
    for (const id of opts.pinned ?? []) {
      if (/^[0-9a-fA-F]{16}/.test(id)) mark(id.toLowerCase());
    }
    marks.seal();
    const result: GcResult = { manifests, chunks: 0, deleted: 0, deletedBytes: 0, keptInGrace: 0, locked: 0 };
    let kept: Buffer[] = [];
    const keep = (id: string) => {
      if (indexGen === undefined || !index) return;
      kept.push(Buffer.from(id, 'hex'));
      if (kept.length >= INDEX_BATCH) {
        index.add(kept);
        kept = [];
      }
    };
    for await (const obj of ctx.store.list('chunks/')) {
      const m = CHUNK_KEY_RE.exec(obj.key);
      if (!m) continue;
      result.chunks++;
      const id = m[2] as string;
      if (marks.hasHex(id)) {
        keep(id);
        continue;
      }
      if (obj.mtime.getTime() >= cutoff || foreignLeases > 0) {
        result.keptInGrace++;
        keep(id);
        continue;
      }
      if (ctx.inUseByActiveBackup(id)) {
        keep(id);
        continue;
      }
      if (opts.dryRun) {
        result.deleted++;
        result.deletedBytes += obj.size;
        continue;
      }
      // Registered synchronously with the check above, so a backup about to reuse the chunk waits for the
      // deletion and then writes the chunk again; out of the index before it leaves the store.
      index?.remove(Buffer.from(id, 'hex'));
      const deletion = recheckAndDelete(ctx, obj.key, cutoff);
      ctx.deleting.set(id, deletion.then((r) => r === true));
      try {
        const outcome = await deletion;
        if (outcome === true) {
          result.deleted++;
          result.deletedBytes += obj.size;
        } else {
          if (outcome === 'locked') result.locked!++;
          keep(id);
        }
      } finally {
        ctx.deleting.delete(id);
      }
    }
    await ctx.store.flush();
    if (index && indexGen !== undefined) {
      index.add(kept);
      // Entries neither listed again nor added by a backup since the refresh began: chunks gone from the store.
      index.sweepBefore(indexGen);
    }
    return result;
  } finally {
    clearInterval(epochTimer);
    if (epoch) {
      // Deletions may have happened: a new epoch tells other nodes' indexes so, even after a failure.
      try {
        const done = await writeGcEpoch(ctx.store, false, ctx.instanceId);
        index?.setEpoch(done.epoch);
      } catch {
        // The store keeps showing this gc as running until its TTL; our index stays exact meanwhile.
      }
    }
    ctx.endedDuringGc.clear();
    ctx.gcRunning = false;
  }
}

/**
 * A backup in another process may have touched the chunk since the listing: look again before deleting. A
 * chunk under Object Lock retention is left alone ('locked'): S3 would refuse the DELETE anyway.
 */
async function recheckAndDelete(ctx: RepoContext, key: string, cutoff: number): Promise<boolean | 'locked'> {
  const info = await ctx.store.head(key);
  if (!info || info.mtime.getTime() >= cutoff) return false;
  if (info.retainUntil && info.retainUntil.getTime() > Date.now()) return 'locked';
  try {
    return await ctx.store.delete(key);
  } catch (e) {
    // Locked between the HEAD and the DELETE (a backup of another node retained it).
    if ((e as { code?: unknown }).code === 'ELOCKED') return 'locked';
    throw e;
  }
}
