import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChangeFeed } from '../domain/ports/change-feed.js';
import { badRequest } from '../domain/errors.js';
import type { MetadataStore } from '../domain/ports/metadata-store.js';
import type { ServiceStore } from '../domain/ports/service-store.js';
import { storedTime, type Clock } from '../domain/time.js';
import type { WriteGates } from './block-storage/write-gates.js';

/** How long the raising node waits for every live node's ack before the snapshot fails. */
export const BARRIER_ACK_SECONDS = 10;
/** A barrier's lifetime, renewed while its snapshots run; one left by a node that died stops holding writes after it. */
export const BARRIER_TTL_SECONDS = 30;
/** How often a node re-reads the barriers without a notification (one missed while the feed reconnected). */
const RESYNC_MS = 2000;

interface Applied {
  expiresAt: string;
  release: () => void;
}

/**
 * The cluster's write barrier (issue #17): a group snapshot or CBR checkpoint over shared (RBD) volumes holds the
 * writes arriving through every node's data API, not only through the snapshotting node's.
 *
 * The raising node records the barrier in the database (one row per volume, with an expiry) and announces it on
 * the change feed. Every node keeps an in-process view of the standing barriers, current through the feed (and a
 * periodic re-read): for each barrier it closes its own write gates of those volumes, waits for the writes
 * already past them to finish, and records an ack. The raising node takes its snapshots only once every live node
 * (a scheduler heartbeat younger than the down time: a node that is down serves no writes) has acked, and fails
 * cleanly when one does not within {@link BARRIER_ACK_SECONDS}. Lifting deletes the rows and announces it; a
 * barrier whose raiser died lapses at its expiry, so no node's writes wait on it for longer.
 *
 * Safety rests on the acks, not on the feed: a node that missed the announcement does not ack, and the snapshot
 * fails rather than be taken while that node still writes.
 *
 * A node is left out of the acks only once it is known not to write: its services read down, either because its
 * process is known gone (stopped cleanly, or a process of the reading node's machine whose pid is gone: see
 * service-registry.ts) or because its heartbeat is older than the whole down time. A node of another machine whose
 * heartbeat is merely late (two intervals, say) is still waited for: it may only be stopped or slow (SIGSTOP, a
 * paused VM, a partition), and when it resumes it finishes the writes it had already let past its gates, and may
 * take new ones before its next barrier read, with nothing on that path checking its heartbeat (its guard against a
 * stall, `mayTakeWork`, holds back task claims only, and only after the down time). Taking the snapshot without its
 * ack would then capture some volumes before and some after such a write.
 */
export class ClusterWriteBarrier {
  private readonly applied = new Map<string, Applied>();
  private refreshing: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly deps: {
      store: MetadataStore;
      services: ServiceStore;
      feed: ChangeFeed;
      gates: WriteGates;
      /** This node's name (services.host). */
      node: string;
      /** The nodes whose scheduler is up now (this one included): those that must ack. */
      liveNodes: () => Promise<string[]>;
      clock: Clock;
      logger: Logger;
      ackSeconds?: number;
      ttlSeconds?: number;
    },
  ) {}

  start(): void {
    this.deps.feed.onMessage((m) => {
      if (m.startsWith('{"writeBarrier"')) this.refresh();
    });
    this.timer = setInterval(() => this.refresh(), RESYNC_MS);
    this.timer.unref();
    this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    await this.refreshing;
    for (const a of this.applied.values()) a.release();
    this.applied.clear();
  }

  /** Volumes whose gates a barrier (of any node) holds closed in this process: tests, diagnostics. */
  heldVolumes(): number {
    return this.applied.size;
  }

  private now(): string {
    return storedTime(this.deps.clock.now());
  }

  /** Re-reads the standing barriers; calls while one read runs coalesce into one more read after it. */
  refresh(): void {
    if (this.stopped) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = this.sync()
      .catch((err) => {
        this.deps.logger.warn({ err }, 'write barrier: reading the standing barriers failed');
        // Unreachable store: barriers past their expiry are let go (their raiser cannot take snapshots now either).
        this.releaseExpired();
      })
      .finally(() => {
        this.refreshing = null;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  private releaseExpired(): void {
    const now = this.now();
    for (const [id, a] of this.applied)
      if (a.expiresAt <= now) {
        a.release();
        this.applied.delete(id);
      }
  }

  private async sync(): Promise<void> {
    const active = await this.deps.services.activeBarriers(this.deps.store.root, this.now());
    const standing = new Set(active.map((b) => b.id));
    for (const [id, a] of this.applied)
      if (!standing.has(id)) {
        a.release();
        this.applied.delete(id);
      }
    for (const b of active) {
      const known = this.applied.get(b.id);
      if (known) {
        known.expiresAt = b.expiresAt;
        continue;
      }
      const release = this.deps.gates.close(b.volumeIds);
      this.applied.set(b.id, { expiresAt: b.expiresAt, release });
      // Acked once the writes already past the gates finish; new ones wait at the gates meanwhile.
      void this.deps.gates
        .drained(b.volumeIds)
        .then(() => this.deps.services.ackBarrier(this.deps.store.root, b.id, this.deps.node, this.now()))
        .catch((err) => this.deps.logger.warn({ err, barrier: b.id }, 'write barrier: recording the ack failed'));
    }
    // Wakes at the earliest expiry, so a barrier whose raiser died stops holding writes then, not a resync later.
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const first = [...this.applied.values()].map((a) => Date.parse(a.expiresAt)).sort((x, y) => x - y)[0];
    if (first !== undefined) {
      this.expiryTimer = setTimeout(() => this.refresh(), Math.max(0, first - this.deps.clock.now().getTime()) + 10);
      this.expiryTimer.unref();
    }
  }

  private announce(id: string): void {
    this.deps.feed.send(JSON.stringify({ writeBarrier: id }));
  }

  /**
   * Holds writes to `volumeIds` through every live node's data API while `fn` runs (after their in-flight writes
   * drained); a 400 naming the nodes that did not acknowledge in time, before `fn` runs, otherwise.
   */
  async hold<T>(volumeIds: readonly string[], fn: () => Promise<T>): Promise<T> {
    const ids = [...new Set(volumeIds)];
    if (ids.length === 0) return fn();
    const ttlMs = (this.deps.ttlSeconds ?? BARRIER_TTL_SECONDS) * 1000;
    const expiry = () => storedTime(new Date(this.deps.clock.now().getTime() + ttlMs));
    const id = randomUUID();
    const root = this.deps.store.root;
    await this.deps.services.openBarrier(root, { id, node: this.deps.node, volumeIds: ids, expiresAt: expiry() });
    let renew: NodeJS.Timeout | null = null;
    try {
      this.announce(id);
      await this.awaitAcks(id);
      // Snapshots slower than the lifetime must not see the barrier lapse under them.
      renew = setInterval(() => {
        void this.deps.services
          .renewBarrier(root, id, expiry())
          .catch((err) => this.deps.logger.warn({ err, barrier: id }, 'write barrier: renewing failed'));
      }, ttlMs / 3);
      renew.unref();
      return await fn();
    } finally {
      if (renew) clearInterval(renew);
      await this.deps.services
        .liftBarrier(root, id, this.now())
        .catch((err) => this.deps.logger.error({ err, barrier: id }, 'write barrier: lifting failed; it lapses at its expiry'));
      this.announce(id);
    }
  }

  private async awaitAcks(id: string): Promise<void> {
    const deadline = Date.now() + (this.deps.ackSeconds ?? BARRIER_ACK_SECONDS) * 1000;
    let delay = 20;
    for (;;) {
      const acked = new Set(await this.deps.services.barrierAcks(this.deps.store.root, id));
      // Live nodes are read each round: a node that went down meanwhile serves no writes and no longer counts.
      const missing = (await this.deps.liveNodes()).filter((n) => !acked.has(n));
      if (missing.length === 0) return;
      if (Date.now() > deadline) {
        this.deps.logger.error({ barrier: id, missing }, 'write barrier: nodes did not acknowledge in time');
        throw badRequest(
          `Invalid input received: writes through node${missing.length > 1 ? 's' : ''} ${missing.join(', ')} could not be held for a consistent point in time (no acknowledgement within ${this.deps.ackSeconds ?? BARRIER_ACK_SECONDS} s); try again.`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 200);
    }
  }
}
