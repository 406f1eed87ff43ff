/**
 * Per-volume write gates: the barrier behind group snapshots and multi-volume CBR checkpoints.
 *
 * Every write through the data API (`VolumeData.upload`) passes its volume's gate for its whole duration. A
 * consistent snapshot of several volumes closes all their gates at once (new writes wait at the gate, before
 * they touch the volume or its status), waits until the writes already past the gates have finished, takes its
 * snapshots, and reopens the gates; the waiting writes then proceed. So the snapshots hold every write that
 * finished before the barrier and none that started after it: no member has a write that another member lacks,
 * in the order the writers issued them (a client writing A then B never gets B's write into the snapshot
 * without A's).
 *
 * The gates live in the server process. On a cluster, a shared (RBD) volume is also written through the other
 * nodes' data API: {@link WriteGates.holdAcrossNodes} then raises the cluster's write barrier too
 * (services/cluster-barrier.ts), which closes the same gates in every live node's process. Writes that bypass the API (a guest on an attached volume) are outside it, as in
 * Cinder, where a group snapshot of attached volumes is only as consistent as the guest makes it.
 *
 * Barriers run one after another (they are rare and short next to writes); a gate closed by two opens when
 * both are done.
 */
export class WriteGates {
  private readonly inFlight = new Map<string, number>();
  private readonly closed = new Map<string, number>();
  /** Resolvers of writers waiting for a gate, and of barriers waiting for writes to drain. */
  private waiters: (() => void)[] = [];
  /** One barrier at a time: barriers are rare and short next to writes, and it rules out two waiting on each other. */
  private barrier: Promise<void> = Promise.resolve();

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private until(ok: () => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = () => {
        if (ok()) return resolve();
        this.waiters.push(check);
      };
      check();
    });
  }

  /** Number of writes past the gate of `volumeId` (tests, diagnostics). */
  writing(volumeId: string): number {
    return this.inFlight.get(volumeId) ?? 0;
  }

  isClosed(volumeId: string): boolean {
    return (this.closed.get(volumeId) ?? 0) > 0;
  }

  /** Runs `write` once the volume's gate is open, counted as in flight until it settles. */
  async pass<T>(volumeId: string, write: () => Promise<T>): Promise<T> {
    await this.until(() => !this.isClosed(volumeId));
    this.inFlight.set(volumeId, this.writing(volumeId) + 1);
    try {
      return await write();
    } finally {
      const n = this.writing(volumeId) - 1;
      if (n > 0) this.inFlight.set(volumeId, n);
      else this.inFlight.delete(volumeId);
      this.wake();
    }
  }

  /**
   * Closes the gates of `volumeIds` until the returned function is called (once; later calls do nothing). For a
   * barrier raised by another node (the cluster's write barrier), which waits with {@link drained} and then acks.
   */
  close(volumeIds: readonly string[]): () => void {
    const ids = [...new Set(volumeIds)];
    for (const id of ids) this.closed.set(id, (this.closed.get(id) ?? 0) + 1);
    let open = false;
    return () => {
      if (open) return;
      open = true;
      for (const id of ids) {
        const n = (this.closed.get(id) ?? 1) - 1;
        if (n > 0) this.closed.set(id, n);
        else this.closed.delete(id);
      }
      this.wake();
    };
  }

  /** Resolves once no write to any of `volumeIds` is past its gate. */
  drained(volumeIds: readonly string[]): Promise<void> {
    return this.until(() => volumeIds.every((id) => this.writing(id) === 0));
  }

  /**
   * Set on a node of a cluster (a shared PostgreSQL store): extends {@link holdAcrossNodes} to the data API of
   * every live node, whose writes to a shared (RBD) volume this process's gates cannot see.
   */
  acrossNodes: (<T>(volumeIds: readonly string[], fn: () => Promise<T>) => Promise<T>) | null = null;

  /**
   * {@link hold}, and on a cluster also the write barrier every other live node honours: for snapshots that
   * must be one point in time (group snapshots, CBR checkpoints of several disks).
   */
  holdAcrossNodes<T>(volumeIds: readonly string[], fn: () => Promise<T>): Promise<T> {
    const across = this.acrossNodes;
    if (!across || volumeIds.length === 0) return this.hold(volumeIds, fn);
    return this.hold(volumeIds, () => across(volumeIds, fn));
  }

  /**
   * Closes the gates of `volumeIds` together, waits for their in-flight writes to finish, runs `fn` (the
   * snapshots), and reopens them whatever `fn` does.
   */
  hold<T>(volumeIds: readonly string[], fn: () => Promise<T>): Promise<T> {
    const ids = [...new Set(volumeIds)];
    // Closed now, not when the barrier's turn comes: a write issued after the barrier was asked for is not in it.
    for (const id of ids) this.closed.set(id, (this.closed.get(id) ?? 0) + 1);
    const run = this.barrier.then(async () => {
      await this.until(() => ids.every((id) => this.writing(id) === 0));
      return fn();
    });
    const reopened = run.finally(() => {
      for (const id of ids) {
        const n = (this.closed.get(id) ?? 1) - 1;
        if (n > 0) this.closed.set(id, n);
        else this.closed.delete(id);
      }
      this.wake();
    });
    this.barrier = reopened.then(
      () => undefined,
      () => undefined,
    );
    return reopened;
  }
}
