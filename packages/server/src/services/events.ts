/**
 * The in-process bus of resource changes the event stream (`GET /v3/{project}/cinderbox-events`) serves.
 *
 * It is fed where the changes are written, not by polling: the composition root hands the services a metadata
 * store and repositories wrapped by `observeChanges`, which publish a change once the transaction that wrote it
 * has committed (a rolled-back or retried attempt publishes nothing), and running backups and restores report
 * their progress through `observeBackupProgress`. A node therefore only sees the changes it writes itself: with
 * several nodes on one PostgreSQL database the nodes pass their status changes to each other through a
 * `ChangeFeed` (LISTEN/NOTIFY, store/change-feed-postgres.ts), best effort: what is sent while a node's listening
 * connection is down is missed. Progress reports stay on the node doing the work (a client connected elsewhere
 * sees the status changes only).
 */
import { randomUUID } from 'node:crypto';
import type { Backup } from '../domain/backup.js';
import type { OperationLog } from '../domain/cbr.js';
import type { BackupsStore } from '../domain/ports/backups-store.js';
import type { BlockStorageStore } from '../domain/ports/block-storage-store.js';
import type { CbrStores } from '../domain/ports/cbr-store.js';
import type { ChangeFeed } from '../domain/ports/change-feed.js';
import type { MetadataStore, Scope } from '../domain/ports/metadata-store.js';
import type { Clock } from '../domain/time.js';

export type ChangeType = 'volume' | 'snapshot' | 'backup' | 'checkpoint' | 'restore' | 'repo-job';

export interface ChangeEvent {
  type: ChangeType;
  id: string;
  status: string;
  /** 0..100 where the resource reports progress, else null. */
  progress: number | null;
  project_id: string;
  /** ISO 8601. */
  at: string;
}

export type ChangeListener = (e: ChangeEvent) => void;

/** Statuses after which a resource's work is over (its progress entry is dropped). */
const SETTLED = new Set(['available', 'error', 'deleted', 'in-use', 'error_restoring', 'error_deleting', 'success', 'fail', 'failed']);

export class ChangeEvents {
  private readonly listeners = new Set<ChangeListener>();
  /** Owner and status of backups at work, so a progress report (which knows only the id) can say both. */
  private readonly working = new Map<string, { project_id: string; status: string }>();

  private feed: { send(message: string): void } | null = null;
  private readonly node = randomUUID();

  constructor(private readonly clock: Clock) {}

  /**
   * Shares this node's changes with the other nodes on `feed` and hears theirs (PostgreSQL LISTEN/NOTIFY), so a
   * stream shows every node's changes; progress stays with the node that does the work.
   */
  connect(feed: ChangeFeed): void {
    this.feed = feed;
    feed.onMessage((message) => {
      let m: { node?: unknown; event?: ChangeEvent };
      try {
        m = JSON.parse(message) as typeof m;
      } catch {
        return;
      }
      if (m.node === this.node || !m.event) return;
      this.deliver(m.event);
    });
  }

  publish(e: Omit<ChangeEvent, 'at'>): void {
    if (e.type === 'backup') {
      if (SETTLED.has(e.status)) this.working.delete(e.id);
      else this.working.set(e.id, { project_id: e.project_id, status: e.status });
    }
    const event: ChangeEvent = { ...e, at: this.clock.now().toISOString() };
    // Progress reports are many and only the working node has them: other nodes get the status changes.
    if (this.feed && !this.reporting) this.feed.send(JSON.stringify({ node: this.node, event }));
    this.deliver(event);
  }

  private reporting = false;

  private deliver(event: ChangeEvent): void {
    if (this.listeners.size === 0) return;
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure (a closed socket) is its own business; the others still hear the change.
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** A running backup's or restore's progress (0..1); said only when the whole percent moves. */
  progress(backupId: string, operation: 'backup' | 'restore', fraction: number): void {
    const w = this.working.get(backupId);
    if (!w) return;
    this.reporting = true;
    try {
      this.publish({
        type: operation === 'restore' ? 'restore' : 'backup',
        id: backupId,
        status: w.status,
        progress: Math.min(100, Math.floor(fraction * 100)),
        project_id: w.project_id,
      });
    } finally {
      this.reporting = false;
    }
  }
}

type Publish = (scope: Scope, e: Omit<ChangeEvent, 'at'>) => void;

interface Observable {
  store: MetadataStore;
  blockStorage: BlockStorageStore;
  backups: BackupsStore;
  cbr: CbrStores;
}

function snapshotProgress(p: unknown): number | null {
  if (typeof p !== 'string') return null;
  const n = Number.parseInt(p, 10);
  return Number.isFinite(n) ? n : null;
}

/** A repository whose named methods also run `after` with their arguments and result. */
function tapped<R extends object>(repo: R, taps: Partial<Record<string, (args: unknown[], result: unknown) => void>>): R {
  return new Proxy(repo, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      const tap = typeof prop === 'string' ? taps[prop] : undefined;
      if (!tap || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        tap(args, result);
        return result;
      };
    },
  });
}

type StatusRecord = { id: string; project_id: string; status: string };

/**
 * The metadata store and repositories with every status change of volumes, snapshots, backups, checkpoints and
 * CBR restores published on `bus` after its transaction commits. Everything else passes through unchanged.
 */
export function observeChanges<M extends Observable>(m: M, bus: ChangeEvents): M {
  const pending = new WeakMap<object, (() => void)[]>();
  const publish: Publish = (scope, e) => {
    const queue = pending.get(scope as object);
    if (queue) queue.push(() => bus.publish(e));
    else bus.publish(e);
  };
  const inner = m.store;
  const store: MetadataStore = {
    kind: inner.kind,
    root: inner.root,
    async transaction(fn) {
      let queue: (() => void)[] = [];
      const out = await inner.transaction(async (tx) => {
        // A retried attempt starts over: only what the committed attempt wrote is published.
        queue = [];
        pending.set(tx as object, queue);
        return fn(tx);
      });
      for (const p of queue) p();
      return out;
    },
  };

  const of = (type: ChangeType, progress: (r: StatusRecord) => number | null = () => null) => {
    const say = (scope: unknown, r: StatusRecord | undefined, status = r?.status) => {
      if (r && status !== undefined) publish(scope as Scope, { type, id: r.id, status, progress: progress(r), project_id: r.project_id });
    };
    return {
      insert: ([scope, rec]: unknown[], result: unknown) => {
        if (result !== false) say(scope, rec as StatusRecord);
      },
      update: ([scope, , changes]: unknown[], result: unknown) => {
        if (changes && typeof changes === 'object' && 'status' in changes && result && typeof result === 'object') say(scope, result as StatusRecord);
      },
      transition: ([scope, , , to, changes]: unknown[], result: unknown) => {
        // A guarded touch (no target status, e.g. a snapshot create holding its volume) changes nothing a stream
        // reports: saying the unchanged status again would only cost every subscriber an event.
        if (to === null && !(changes && typeof changes === 'object' && ('status' in changes || 'progress' in changes))) return;
        const t = result as { ok: boolean; record?: StatusRecord };
        if (t.ok && t.record) say(scope, t.record);
      },
      remove: ([scope]: unknown[], result: unknown) => {
        if (result && typeof result === 'object') say(scope, result as StatusRecord, 'deleted');
      },
    };
  };

  const backupTaps = of('backup', (r) => ((r as unknown as Backup).status === 'available' ? 100 : (r as unknown as Backup).status === 'creating' ? 0 : null));
  const backupsInner = m.backups;
  const backups = tapped(backupsInner, {
    insert: backupTaps.insert,
    update: backupTaps.update,
    transition: backupTaps.transition,
  });
  // remove() answers only true/false: the owner is read first, in the same scope.
  const backupsObserved = new Proxy(backups, {
    get(target, prop, receiver) {
      if (prop !== 'remove') return Reflect.get(target, prop, receiver);
      return async (scope: Scope, id: string) => {
        const before = await backupsInner.get(scope, id);
        const removed = await backupsInner.remove(scope, id);
        if (removed && before) publish(scope, { type: 'backup', id, status: 'deleted', progress: null, project_id: before.project_id });
        return removed;
      };
    },
  });

  const snapshotTaps = of('snapshot', (r) => snapshotProgress((r as { progress?: unknown }).progress));
  const checkpointTaps = of('checkpoint');
  // CBR restores are operation logs of type `restore`; their updates name only the id.
  const restores = new Map<string, string>();
  const logs = tapped(m.cbr.operationLogs, {
    insert: ([scope, log]: unknown[]) => {
      const l = log as OperationLog;
      if (l.operation_type !== 'restore') return;
      if (!SETTLED.has(l.status)) restores.set(l.id, l.project_id);
      publish(scope as Scope, { type: 'restore', id: l.id, status: l.status, progress: null, project_id: l.project_id });
    },
    update: ([scope, id, , changes]: unknown[], result: unknown) => {
      const project = restores.get(id as string);
      const status = (changes as Partial<OperationLog>).status;
      if (!result || project === undefined || status === undefined) return;
      if (SETTLED.has(status)) restores.delete(id as string);
      publish(scope as Scope, { type: 'restore', id: id as string, status, progress: null, project_id: project });
    },
  });

  return {
    ...m,
    store,
    blockStorage: {
      ...m.blockStorage,
      volumes: tapped(m.blockStorage.volumes, of('volume')),
      snapshots: tapped(m.blockStorage.snapshots, snapshotTaps),
    },
    backups: backupsObserved,
    cbr: {
      ...m.cbr,
      checkpoints: tapped(m.cbr.checkpoints, { insert: checkpointTaps.insert, transition: checkpointTaps.transition }),
      operationLogs: logs,
    },
  };
}

/** Reports running backups' and restores' progress on `bus` (a whole percent at a time). */
export function observeBackupProgress(
  tracker: { observe(listener: (backupId: string, operation: 'backup' | 'restore', fraction: number | null) => void): void },
  bus: ChangeEvents,
): void {
  const last = new Map<string, number>();
  tracker.observe((id, operation, fraction) => {
    if (fraction === null) {
      last.delete(id);
      return;
    }
    const pct = Math.floor(fraction * 100);
    if (last.get(id) === pct) return;
    last.set(id, pct);
    bus.progress(id, operation, fraction);
  });
}
