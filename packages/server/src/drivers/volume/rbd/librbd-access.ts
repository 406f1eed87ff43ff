/**
 * An RBD backend's way to librbd: the pool connection, made on first use and kept for the process (a connection
 * costs a fresh librados client and monitor handshake, which the hot paths cannot pay per call), retired when a
 * call on it timed out, and given up for a while when the cluster cannot be reached (the tool path serves then).
 */
import { KeyedQueue } from '../keyed-queue.js';
import { LibrbdPool, loadLibrbd } from './librbd.js';
import type { RbdConnection } from './rbd-cli.js';

/** How long the tool path serves a backend whose cluster librbd could not reach before librbd is tried again. */
const LIBRBD_RETRY_MS = 30_000;

export class LibrbdAccess {
  private libPool: Promise<LibrbdPool | null> | undefined;
  private libFailedAt: number | undefined;
  private libPoolNow: LibrbdPool | undefined;
  private readonly questions = new KeyedQueue();
  /** Why the hot paths use the `rbd` tool, when they do (for diagnostics and the bench). */
  unavailable: string | undefined;

  /** `enabled: false` keeps every call on the tool (the bench compares the two paths). */
  constructor(
    private readonly conn: RbdConnection,
    private readonly pool: string,
    private readonly enabled: boolean,
  ) {}

  /**
   * The connection; null (the tool path) when the addon is not built, is switched off, or cannot connect (the
   * tool then says why on the call that needs the cluster).
   */
  get(): Promise<LibrbdPool | null> {
    // A cluster that could not be reached is tried again after a while, not on every call.
    if (this.libFailedAt !== undefined && Date.now() - this.libFailedAt > LIBRBD_RETRY_MS) {
      this.libFailedAt = undefined;
      this.libPool = undefined;
    }
    // A call timed out on this connection (LibrbdPool.stale): the next one gets a fresh client.
    if (this.libPoolNow?.stale) {
      this.libPoolNow = undefined;
      this.libPool = undefined;
    }
    this.libPool ??= (async () => {
      if (!this.enabled) {
        this.unavailable = 'librbd switched off for this backend';
        return null;
      }
      const { addon, error } = loadLibrbd();
      if (!addon) {
        this.unavailable = error ?? 'rbd_io addon not loaded';
        return null;
      }
      try {
        return (this.libPoolNow = await LibrbdPool.connect(addon, this.conn, this.pool));
      } catch (e) {
        this.unavailable = `librbd cannot reach pool ${this.pool}: ${(e as Error).message}`;
        this.libFailedAt = Date.now();
        return null;
      }
    })();
    return this.libPool;
  }

  /** Resolves when the handles the connection is still closing are closed (rbd tool commands wait for it). */
  settled(): Promise<void> {
    return this.libPoolNow?.settled() ?? Promise.resolve();
  }

  /**
   * Runs librbd's metadata questions (size, allocation, diff) about one image or snapshot one after another. A
   * backup source asks them at once, which only the tool path gains from (a process each); on librbd each opens
   * the image, and concurrent read-only opens at a snapshot are where the addon's hang was seen (wip-rbdfault), so
   * those keep their old order. Other objects are not held up.
   */
  oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.questions.run(key, fn);
  }
}
