/**
 * qcow2 snapshot creation. A create freezes the active layer under the snapshot's name (a hard link) and renames
 * a fresh empty overlay onto the active name. Creates of one volume that arrive while its previous mutation runs
 * go in one batch, and the directory flush is group-committed across volumes, so concurrent creates share one
 * flush latency instead of queueing a flush each.
 */
import { linkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { type FileHandle, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type BackendDirectory, codedError } from '../backend-directory.js';
import type { KeyedQueue } from '../keyed-queue.js';
import { CLAIM_TARGET, claimName } from './qcow2-claims.js';
import { readHeaderSync, writeEmptyImageUnflushed } from './qcow2-format.js';

interface SnapshotRequest {
  snapshotId: string;
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const noop = () => {};

export class SnapshotBatches {
  /** Snapshot creates waiting for their volume's next turn (see createBatch). */
  private readonly pending = new Map<string, SnapshotRequest[]>();
  private runningSync: Promise<void> | null = null;
  private queuedSync: Promise<void> | null = null;

  /**
   * `volumeLocks` is the driver's per-volume serialization, which a batch takes its turn in like any other
   * mutation of the chain; `beforeFlush` runs after a batch's renames, before its flushes (where a test stands in
   * for a power cut).
   */
  constructor(
    private readonly files: BackendDirectory,
    private readonly volumeLocks: KeyedQueue,
    private readonly beforeFlush: (() => Promise<void>) | undefined,
  ) {}

  /** Resolves once the snapshot is durable; joins the volume's batch that has not started yet, if any. */
  create(volumeId: string, snapshotId: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let batch = this.pending.get(volumeId);
      if (!batch) {
        const fresh: SnapshotRequest[] = [];
        batch = fresh;
        this.pending.set(volumeId, fresh);
        void this.volumeLocks.run(volumeId, () => {
          // From here on, later creates of this volume form the next batch.
          if (this.pending.get(volumeId) === fresh) this.pending.delete(volumeId);
          return this.createBatch(volumeId, fresh);
        });
      }
      batch.push({ snapshotId, signal, resolve, reject });
    });
  }

  /**
   * Takes every snapshot of `volumeId` requested while its previous mutation ran, in request order, so concurrent
   * creates share one round of flushes. The overlays are written but not flushed; the links and renames run back
   * to back, each snapshot freezing the layer the previous rename put in place; then the overlays' data and the
   * directory are flushed concurrently (one flush latency, not two in series), shared with other volumes' creates
   * under way, before any create resolves. The chain after any prefix of the links and renames is a valid chain.
   *
   * Durability argument. Before its overlay is renamed, each create leaves a claim (a symlink whose name says
   * "the layer at these names is an empty overlay of this size on this backing", see claimName). The claim's
   * create returns before the link and rename are issued; directory operations reach the journal in the order
   * they were made (ext4 and XFS log metadata in order; the previous design already relied on the link being durable
   * whenever the rename is), so whenever a power cut keeps a rename or link that gives an overlay a layer name, it
   * keeps the overlay's claim too. Crash points:
   * - before the link / rename: the active layer is the old, durable one; a claim may be left with a location
   *   holding another, whole file (its header reads fine) or nothing, and recovery only drops it.
   * - between link and rename: the same old inode under two names, as in an interrupted create (the snapshot
   *   task's crash handler deletes the snapshot).
   * - after the rename, before both flushes return: the overlay's bytes may be lost (zero length, zeros, a header
   *   without its refcount structures), in the active layer or in a snapshot taken later in the same batch. Its
   *   claim is durable, so recovery at start (sweepTemporaries, before any task or request) rewrites the layer from
   *   the claim: an empty overlay is fully determined by its backing name and size, so the rewritten layer reads
   *   exactly the bytes the lost one did (those of the layer it sits on). No create of the batch had resolved, so
   *   their snapshots all fail and are deleted afterwards.
   * - after both flushes: every layer is durable; a claim left behind (its removal was not flushed) names a whole
   *   file and is dropped.
   */
  private async createBatch(volumeId: string, batch: SnapshotRequest[]): Promise<void> {
    const directory = this.files.directory;
    const active = this.files.path('volume', volumeId);
    const live = (r: SnapshotRequest) => {
      if (!r.signal?.aborted) return true;
      r.reject(r.signal.reason);
      return false;
    };
    let todo = batch.filter(live);
    if (todo.length === 0) return;
    const prepared: { req: SnapshotRequest; snap: string; temp: string; existing: boolean }[] = [];
    const handles: FileHandle[] = [];
    const claims: string[] = [];
    let flushing = false;
    // Side by side on the thread pool: an unlink can wait for a journal commit, which must not stall the loop.
    const dropClaims = () => Promise.all(claims.splice(0).map((c) => rm(c, { force: true }))).then(noop, noop);
    try {
      // Metadata calls are synchronous on this hot path (each is microseconds in the page cache, while a
      // thread-pool round trip costs far more on a busy server); the creates and flushes wait asynchronously.
      const h = readHeaderSync(active);
      if (!h) throw codedError('EINVAL', `${basename(active)} is not a qcow2 image`);
      const current = statSync(active);
      for (const req of todo) {
        const snap = this.files.path('snapshot', req.snapshotId);
        const st = statSync(snap, { throwIfNoEntry: false });
        // The same inode under both names is a create interrupted between link and rename: finish it. Only the
        // first of a batch can be one (the active inode changes with every create).
        if (st && (prepared.length > 0 || st.ino !== current.ino || st.dev !== current.dev)) {
          req.reject(codedError('EEXIST', `${snap} already exists`));
          continue;
        }
        prepared.push({ req, snap, temp: this.files.temporaryFor(active), existing: st !== undefined });
      }
      // Each overlay ends up as the active layer and, when a later create of this batch freezes it, as that
      // create's snapshot: its claim names both places.
      const written = await Promise.allSettled(
        prepared.map(async (p, i) => {
          const next = prepared[i + 1];
          const claim = join(directory, claimName(h.size, basename(p.snap), [basename(active), ...(next ? [basename(next.snap)] : [])]));
          // Both only need to be done before the link and rename, so they are made side by side; each is
          // recorded as soon as it exists, so that neither outlives the batch whatever the other does.
          const [c, o] = await Promise.allSettled([
            // A symlink: one call makes it (no descriptor to close), and its name is all a claim says.
            symlink(CLAIM_TARGET, claim).then(() => {
              claims.push(claim);
            }),
            writeEmptyImageUnflushed(p.temp, h.size, { file: basename(p.snap), format: 'qcow2' }).then((fh) => {
              handles.push(fh);
            }),
          ]);
          if (c.status === 'rejected') throw c.reason;
          if (o.status === 'rejected') throw o.reason;
        }),
      );
      const linked: SnapshotRequest[] = [];
      let broken: unknown = null;
      let lastLinked = -1;
      for (const [i, p] of prepared.entries()) {
        const w = written[i]!;
        if (broken !== null || w.status === 'rejected' || !live(p.req)) {
          if (broken !== null) p.req.reject(broken);
          else if (w.status === 'rejected') p.req.reject(w.reason);
          rmSync(p.temp, { force: true });
          continue;
        }
        try {
          if (lastLinked >= 0 && lastLinked !== i - 1) {
            // A create was left out: the overlay now in place is frozen under this create's name, not the one its
            // claim names, so it gets a claim for that name first (rare: an abort or a failed write mid-batch).
            const claim = join(directory, claimName(h.size, basename(prepared[lastLinked]!.snap), [basename(p.snap)]));
            symlinkSync(CLAIM_TARGET, claim);
            claims.push(claim);
          }
          if (!p.existing) linkSync(active, p.snap);
          renameSync(p.temp, active);
          linked.push(p.req);
          lastLinked = i;
        } catch (e) {
          rmSync(p.temp, { force: true });
          p.req.reject(e);
          // The chain is not where the later overlays expect it: they are refused rather than stacked on it.
          broken = e;
        }
      }
      todo = linked;
      if (linked.length > 0) {
        await this.beforeFlush?.();
        flushing = true;
        await Promise.all([this.syncDirectory(), ...handles.map((fh) => fh.datasync())]);
        flushing = false;
        // Every layer is durable: the claims have nothing left to describe. They go before the creates resolve (a
        // caller sees the directory as it stays), unflushed: a claim that comes back after a crash names whole
        // files, and recovery drops it. Synchronously, like the links and renames: the thread-pool round trip of
        // an async unlink cost each create 0.3-1 ms after its flush on a loaded machine (bench/snapshot trace),
        // while unlinking a symlink just after the journal committed is microseconds.
        for (const c of claims.splice(0)) {
          try {
            rmSync(c, { force: true });
          } catch {
            // The layers are durable already: a claim left behind is dropped at the next start.
          }
        }
        for (const r of linked) r.resolve();
      }
    } catch (e) {
      for (const p of prepared) rmSync(p.temp, { force: true });
      for (const r of todo) r.reject(e);
    } finally {
      await Promise.all(handles.map((fh) => fh.close().catch(noop)));
      // Nothing was renamed into place, or the claims are gone already. After a failed flush they stay, for the
      // next start to check the renamed layers against.
      if (!flushing) await dropClaims();
    }
  }

  /**
   * Group commit of the backend directory: a flush already under way may have started before the caller's rename,
   * so the caller waits for the next one, which every caller arriving meanwhile shares.
   */
  private syncDirectory(): Promise<void> {
    if (this.queuedSync) return this.queuedSync;
    if (!this.runningSync) return this.startSync();
    const queued = this.runningSync
      .then(noop, noop)
      .then(() => {
        this.queuedSync = null;
        return this.startSync();
      });
    this.queuedSync = queued;
    return queued;
  }

  private startSync(): Promise<void> {
    const running: Promise<void> = this.files.sync().finally(() => {
      if (this.runningSync === running) this.runningSync = null;
    });
    this.runningSync = running;
    return running;
  }
}
