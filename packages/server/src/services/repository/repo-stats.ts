/**
 * Repository statistics without reading the repository per request: each target's counters (logical and stored
 * bytes, chunks, backups) move as the repository itself reports its work, through `counted()`, a wrapper the
 * composition root puts around every target's BackupStore so every writer (Cinder and CBR backups, imports,
 * replication, deletes, gc from the API or a job) is counted without knowing it:
 * - a backup adds its new chunks and their stored bytes, its data bytes (logical) and one backup; a copy into
 *   another target (replication) adds what it wrote there; an imported manifest copy adds a backup;
 * - deleting a manifest takes its data bytes and the backup off (its chunks stay until gc);
 * - gc takes off what it deleted and, having listed the whole repository, sets the chunk and backup counts to
 *   what it saw (so a crash between a write and its count is corrected by the next gc);
 * - verify and gc record their last result.
 * Counters are relative updates in the metadata store, so several nodes sharing it add up. A sample of the
 * counters is kept after changes (at most one per `minSampleGapMs` per target, always after gc) and every
 * `sampleEveryMs`, bounded to `keepSamples` per target.
 */
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict } from '../../domain/errors.js';
import type { BackupStats, BackupStore, GcResult, VerifyResult } from '../../domain/ports/backup-store.js';
import type { BackupTargets } from '../../domain/ports/backup-targets.js';
import type { MetadataStore } from '../../domain/ports/metadata-store.js';
import type { RepoConsoleStore, RepoCounters } from '../../domain/ports/repo-console-store.js';
import { type Clock, keystoneTime, storedTime } from '../../domain/time.js';
import { requireAdmin } from '../block-storage/access.js';

export interface RepoStatsOptions {
  store: MetadataStore;
  repo: RepoConsoleStore;
  clock: Clock;
  logger: { warn(obj: object, msg: string): void };
  /** Default 15 minutes. */
  sampleEveryMs?: number;
  /** Default 10 s. */
  minSampleGapMs?: number;
  /** Samples and backup runs kept per target; default 2000. */
  keep?: number;
}

/** The history's bound on rows per answer. */
const HISTORY_LIMIT = 500;

export class RepoStats {
  private readonly lastSample = new Map<string, number>();
  /** Targets this process is collecting garbage on. */
  private readonly collecting = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private targets: BackupTargets | null = null;
  private readonly sampleEveryMs: number;
  private readonly minSampleGapMs: number;
  private readonly keep: number;

  constructor(private readonly o: RepoStatsOptions) {
    this.sampleEveryMs = o.sampleEveryMs ?? 15 * 60_000;
    this.minSampleGapMs = o.minSampleGapMs ?? 10_000;
    this.keep = o.keep ?? 2000;
  }

  private now(): string {
    return storedTime(this.o.clock.now());
  }

  /** `targets` with every repository counted (see the module comment); the services get this one. */
  counted(targets: BackupTargets): BackupTargets {
    const wrapped = new Map<string, BackupStore>();
    const raw = new WeakMap<BackupStore, BackupStore>();
    const nameOf = new WeakMap<BackupStore, string>();
    const wrap = (name: string): BackupStore => {
      let w = wrapped.get(name);
      if (!w) {
        const inner = targets.repo(name);
        w = this.countedRepo(name, inner, (s) => raw.get(s) ?? s, (s) => nameOf.get(s));
        wrapped.set(name, w);
        raw.set(w, inner);
        nameOf.set(w, name);
        nameOf.set(inner, name);
      }
      return w;
    };
    const out: BackupTargets = {
      defaultName: targets.defaultName,
      list: () => targets.list(),
      info: (name) => targets.info(name),
      repo: (name) => {
        targets.repo(name); // throws for an unknown target, as before
        return wrap(name);
      },
    };
    this.targets = out;
    return out;
  }

  private countedRepo(
    target: string,
    inner: BackupStore,
    unwrap: (s: BackupStore) => BackupStore,
    nameOf: (s: BackupStore) => string | undefined,
  ): BackupStore {
    const self = this;
    const overrides: Partial<BackupStore> = {
      async backup(opts) {
        const started = self.o.clock.now().getTime();
        const r = await inner.backup(opts);
        const millis = Math.max(0, self.o.clock.now().getTime() - started);
        await self.safely(target, async () => {
          await self.added(target, r.stats, 1);
          await self.o.repo.addBackupRun(self.o.store.root, target, { backup_id: opts.id, finished_at: self.now(), size_bytes: r.stats.logicalBytes, millis }, self.keep);
        });
        return r;
      },
      async copyTo(dest, from, to) {
        const r = await inner.copyTo(unwrap(dest), from, to);
        const destName = nameOf(dest);
        if (destName !== undefined) await self.safely(destName, () => self.added(destName, r.stats, 1));
        return r;
      },
      async copyManifest(from, to) {
        const r = await inner.copyManifest(from, to);
        await self.safely(target, () => self.change(target, { backup_count: 1, logical_bytes: r.header.stats.dataBytes }));
        return r;
      },
      async deleteManifest(locator) {
        // The manifest says how much it counted for; a missing or unreadable one counted for nothing.
        const dataBytes = await inner.readManifest(locator).then(
          (m) => m.header.stats.dataBytes,
          () => null,
        );
        const gone = await inner.deleteManifest(locator);
        if (gone && dataBytes !== null) await self.safely(target, () => self.change(target, { backup_count: -1, logical_bytes: -dataBytes }));
        return gone;
      },
      async gc(opts) {
        // The repository refuses a second gc in this process with a RepoError; the API's callers (the route and a
        // job) get a 409 that says why instead.
        if (self.collecting.has(target)) throw conflict(`Garbage collection is already running on backup target ${JSON.stringify(target)}.`);
        self.collecting.add(target);
        try {
          const r = await inner.gc(opts);
          if (!opts.dryRun) await self.safely(target, () => self.swept(target, r));
          return r;
        } finally {
          self.collecting.delete(target);
        }
      },
      async verify(opts = {}) {
        const r = await inner.verify(opts);
        // A verify of some backups only says nothing about the repository as a whole.
        if (opts.locators === undefined) await self.safely(target, () => self.verified(target, r, opts.full === true));
        return r;
      },
    };
    const overridden = (prop: string | symbol): prop is keyof BackupStore => typeof prop === 'string' && prop in overrides;
    return new Proxy(inner, {
      get(t, prop, receiver) {
        if (overridden(prop)) return overrides[prop];
        const v = Reflect.get(t, prop, receiver);
        return typeof v === 'function' ? v.bind(t) : v;
      },
      // An assignment (a test's injected failure, and putting the method back) replaces what `get` answers; on the
      // target it would be shadowed, and putting the counted method back there would make it call itself.
      set(t, prop, value, receiver) {
        if (!overridden(prop)) return Reflect.set(t, prop, value, receiver);
        (overrides as Record<string, unknown>)[prop] = value;
        return true;
      },
    });
  }

  /** Statistics are never worth failing the backup or gc that moved them: a failure is logged and skipped. */
  private async safely(target: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.o.logger.warn({ err, target }, 'repository statistics not updated');
    }
  }

  private async added(target: string, s: BackupStats, backups: number): Promise<void> {
    await this.change(target, { logical_bytes: s.dataBytes, stored_bytes: s.storedBytes, chunk_count: s.newChunks, backup_count: backups });
  }

  private async change(target: string, delta: Partial<RepoCounters>): Promise<void> {
    const c = await this.o.repo.addCounters(this.o.store.root, target, delta, this.now());
    await this.sample(target, c, false);
  }

  private async swept(target: string, r: GcResult): Promise<void> {
    const now = this.now();
    const c = await this.o.store.transaction(async (tx) => {
      await this.o.repo.addCounters(tx, target, { stored_bytes: -r.deletedBytes }, now);
      await this.o.repo.recordGc(tx, target, { at: now, removed_chunks: r.deleted, freed_bytes: r.deletedBytes });
      return this.o.repo.setCounters(tx, target, { chunk_count: r.chunks - r.deleted, backup_count: r.manifests }, now);
    });
    await this.sample(target, c, true);
  }

  private async verified(target: string, r: VerifyResult, full: boolean): Promise<void> {
    await this.o.repo.recordVerify(this.o.store.root, target, {
      at: this.now(),
      ok: r.ok,
      full,
      checked: r.chunks,
      errors: r.problems.length,
      message: r.problems[0]?.message ?? null,
    });
  }

  private async sample(target: string, c: RepoCounters, always: boolean): Promise<void> {
    const now = this.o.clock.now().getTime();
    const last = this.lastSample.get(target);
    if (!always && last !== undefined && now - last < this.minSampleGapMs) return;
    this.lastSample.set(target, now);
    await this.o.repo.addSample(
      this.o.store.root,
      target,
      { at: this.now(), logical_bytes: c.logical_bytes, stored_bytes: c.stored_bytes, chunk_count: c.chunk_count },
      this.keep,
    );
  }

  /** Periodic samples, so the chart has points between changes too. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sampleAll(), this.sampleEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sampleAll(): Promise<void> {
    for (const t of this.targets?.list() ?? []) {
      await this.safely(t.name, async () => {
        const s = await this.o.repo.stats(this.o.store.root, t.name);
        if (s) await this.sample(t.name, s, true);
      });
    }
  }

  /** A target named by the caller: the default when absent, 400 for an unknown one. */
  resolveTarget(name: string | undefined): { name: string; driver: 'file' | 's3' } {
    const targets = this.targets;
    if (!targets) throw new Error('RepoStats.counted() was not called');
    const n = name ?? targets.defaultName;
    const info = targets.info(n);
    if (!info) {
      const known = targets.list().map((t) => t.name).join(', ');
      throw badRequest(`Invalid input received: Backup target ${JSON.stringify(n)} is not configured (configured: ${known}).`);
    }
    return { name: n, driver: info.kind };
  }

  async stats(ctx: AuthContext, name: string | undefined) {
    requireAdmin(ctx, 'cinderbox:repo_stats');
    const t = this.resolveTarget(name);
    const s = await this.o.repo.stats(this.o.store.root, t.name);
    return {
      target: t.name,
      driver: t.driver,
      logical_bytes: s?.logical_bytes ?? 0,
      stored_bytes: s?.stored_bytes ?? 0,
      chunk_count: s?.chunk_count ?? 0,
      backup_count: s?.backup_count ?? 0,
      last_verify: s?.last_verify ? { ...s.last_verify, at: keystoneTime(s.last_verify.at) } : null,
      last_gc: s?.last_gc ? { ...s.last_gc, at: keystoneTime(s.last_gc.at) } : null,
    };
  }

  async history(ctx: AuthContext, name: string | undefined, since: Date | null) {
    requireAdmin(ctx, 'cinderbox:repo_stats');
    const t = this.resolveTarget(name);
    const from = since === null ? null : storedTime(since);
    const [samples, runs] = await Promise.all([
      this.o.repo.samples(this.o.store.root, t.name, from, HISTORY_LIMIT),
      this.o.repo.backupRuns(this.o.store.root, t.name, from, HISTORY_LIMIT),
    ]);
    return {
      samples: samples.map((s) => ({ ...s, at: keystoneTime(s.at) })),
      backups: runs.map((r) => {
        const seconds = r.millis / 1000;
        return {
          id: r.backup_id,
          finished_at: keystoneTime(r.finished_at),
          size_bytes: r.size_bytes,
          seconds,
          // A backup faster than the clock's resolution reads as its size per millisecond.
          bytes_per_second: Math.round(r.size_bytes / Math.max(seconds, 0.001)),
        };
      }),
    };
  }
}

/** Parses the history's `since` (ISO 8601); 400 for anything else. */
export function parseSince(v: unknown): Date | null {
  if (v === undefined) return null;
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v))
    throw badRequest(`Invalid input received: since must be an ISO 8601 time, got ${JSON.stringify(v)}.`);
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badRequest(`Invalid input received: since must be an ISO 8601 time, got ${JSON.stringify(v)}.`);
  return d;
}


