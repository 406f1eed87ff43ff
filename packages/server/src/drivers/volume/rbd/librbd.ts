/**
 * librbd for the RBD driver's hot paths, through the N-API addon packages/server/native/rbd_io.c (built by
 * native/build.mjs when librbd-dev and librados-dev are installed). One cluster connection and one pool handle per
 * backend, kept for the driver's lifetime; images are opened per operation (so every call sees what the `rbd` tool
 * and other clients did meanwhile, and no exclusive lock is held between calls). Every call runs on the libuv
 * thread pool.
 *
 * The driver uses it whenever it loads. Without it (no librbd headers at build time, librbd missing at run time, or
 * CINDERBOX_RBD_ADDON=off) `loadLibrbd()` says why and the driver uses the `rbd` tool.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Extent } from '../../../domain/ports/volume-driver.js';
import { mergeExtents } from '../extent-diff.js';
import type { RbdConnection } from './rbd-cli.js';

declare const handle: unique symbol;
type Handle<K extends string> = { readonly [handle]: K };
export type ClusterHandle = Handle<'cluster'>;
export type PoolHandle = Handle<'pool'>;
export type ImageHandle = Handle<'image'>;

/** The addon's exports (rbd_io.c). */
export interface RbdAddon {
  abiVersion: number;
  librbdVersion: string;
  connect(conf: string | null, id: string | null, keyring: string | null): Promise<ClusterHandle>;
  shutdown(cluster: ClusterHandle): Promise<void>;
  openPool(cluster: ClusterHandle, name: string): Promise<PoolHandle>;
  closePool(pool: PoolHandle): Promise<void>;
  poolStat(cluster: ClusterHandle, pool: PoolHandle): Promise<{ poolBytes: number; poolObjects: number; clusterKb: number; clusterKbUsed: number; clusterKbAvail: number }>;
  monCommand(cluster: ClusterHandle, json: string): Promise<{ rc: number; out: string; status: string }>;
  /** ETIMEDOUT when librbd has not opened the image within `timeoutMs` (the open is then abandoned, see rbd_io.c). */
  open(pool: PoolHandle, image: string, snap: string | null, readOnly: boolean, timeoutMs?: number): Promise<ImageHandle>;
  /** The handle is closed for this side even when the close times out (ETIMEDOUT). */
  close(image: ImageHandle, timeoutMs?: number): Promise<void>;
  size(image: ImageHandle): Promise<number>;
  flush(image: ImageHandle): Promise<void>;
  snapList(image: ImageHandle): Promise<{ name: string; id: number; size: number }[]>;
  /** rbd_snap_create2 with RBD_SNAP_CREATE_* flags (default 0: watchers are asked to quiesce first). */
  snapCreate(image: ImageHandle, name: string, flags?: number): Promise<void>;
  /** Fills `into` from `offset`; a range past the end of the image is EINVAL. */
  read(image: ImageHandle, offset: number, into: Buffer): Promise<number>;
  write(image: ImageHandle, offset: number, data: Buffer): Promise<void>;
  writeZeroes(image: ImageHandle, offset: number, length: number): Promise<void>;
  diff(image: ImageHandle, fromSnap: string | null, offset: number, length: number, wholeObject: boolean): Promise<Float64Array>;
}

/** librbd.h's RBD_SNAP_CREATE_SKIP_QUIESCE: no quiesce/unquiesce notification round to the image's watchers. */
export const SNAP_CREATE_SKIP_QUIESCE = 1;
/** librbd.h's RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR: a watcher failing to quiesce does not fail the snapshot. */
export const SNAP_CREATE_IGNORE_QUIESCE_ERROR = 2;

/** Where the compiled addon lives; the same relative path holds from src/ (tsx) and from dist/. */
export const RBD_ADDON_PATH =
  process.env.CINDERBOX_RBD_ADDON && !['off', 'on'].includes(process.env.CINDERBOX_RBD_ADDON)
    ? process.env.CINDERBOX_RBD_ADDON
    : fileURLToPath(new URL('../../../../native/build/Release/rbd_io.node', import.meta.url));

let state: { addon: RbdAddon | null; error?: string } | undefined;

/**
 * The addon unless `CINDERBOX_RBD_ADDON=off`, or null and the reason. It was opt-in while a read-only open at a
 * snapshot hung now and then under concurrent snapshots and clones (issue #17): librbd's own tail after an open,
 * raced by a close that came too soon (see CLOSE_GRACE_MS). A build without the addon says once, on stderr, that
 * rbd backends use the `rbd` tool.
 */
export function loadLibrbd(): { addon: RbdAddon | null; error?: string } {
  const mode = process.env.CINDERBOX_RBD_ADDON;
  const loaded = loadLibrbdAddon();
  if (!loaded.addon && mode !== 'off' && !warned) {
    warned = true;
    console.warn(`cinderbox: rbd backends use the rbd tool: the librbd addon is not available (${loaded.error ?? 'unknown'})`);
  }
  return loaded;
}
let warned = false;

/** The addon (or null and the reason), without the warning: its own tests and the benches. */
export function loadLibrbdAddon(): { addon: RbdAddon | null; error?: string } {
  if (state) return state;
  if (process.env.CINDERBOX_RBD_ADDON === 'off') return (state = { addon: null, error: 'CINDERBOX_RBD_ADDON=off' });
  try {
    const addon = createRequire(import.meta.url)(RBD_ADDON_PATH) as RbdAddon;
    state = addon.abiVersion === 2 ? { addon } : { addon: null, error: `unexpected rbd_io ABI ${String(addon.abiVersion)}` };
  } catch (e) {
    // Not built (no librbd-dev at setup) or librbd.so missing at run time.
    state = { addon: null, error: `${RBD_ADDON_PATH}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` };
  }
  return state;
}

/**
 * How long an image open or close may take before it is reported as ETIMEDOUT and abandoned. Milliseconds normally,
 * seconds on a loaded cluster; librbd's own synchronous calls have no deadline at all, and one that never returns
 * pins a libuv pool thread for the life of the process.
 */
export const OPEN_TIMEOUT_MS = Number(process.env.CINDERBOX_RBD_OPEN_TIMEOUT_MS) > 0 ? Number(process.env.CINDERBOX_RBD_OPEN_TIMEOUT_MS) : 60_000;

/**
 * How long after librbd reports an image open before the image may be closed. librbd's ImageState queues the
 * caller's open callback and only then takes its own mutex again (complete_action_unlock); a read-only image closes
 * in a few work-queue hops and no OSD round trip, so an open, a size and a close in quick succession could free the
 * ImageState before that io_context_pool thread got the CPU back under load: it then locked freed memory (the hang
 * of issue #17, or SIGSEGV). Shown under ASan with freed memory filled: std::system_error (EINVAL) from that lock,
 * the ImageCtx freed by the close's finisher thread. A read-only handle has no watch and no lock, so nobody can tell
 * when it goes: its close is deferred and the caller does not wait. A read-write close (it drops a watch and maybe
 * the exclusive lock, which the next `rbd` command needs) is awaited, after RW_CLOSE_GRACE_MS at least.
 */
export const CLOSE_GRACE_MS =
  Number(process.env.CINDERBOX_RBD_CLOSE_GRACE_MS) >= 0 && process.env.CINDERBOX_RBD_CLOSE_GRACE_MS ? Number(process.env.CINDERBOX_RBD_CLOSE_GRACE_MS) : 2_000;
// Small: a read-write close is awaited (snapshot create is ~50 ms in all; 250 ms here made it 285 ms), and its own
// unwatch and lock release are OSD round trips that the racing thread would have to sleep through as well.
export const RW_CLOSE_GRACE_MS = Math.min(CLOSE_GRACE_MS, 50);

/** When each handle LibrbdPool.open gave was opened, and how. */
const opened = new WeakMap<ImageHandle, { at: number; readOnly: boolean }>();
/** Closes not yet done (read-only ones deferred, read-write ones closeSoon handed off): shutdownLibrbd waits for them (a pool must outlive its images). */
const pendingCloses = new Set<Promise<void>>();

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/**
 * Resolves once performance.now() has reached `at`. A timer alone can fire a millisecond or so early by that clock
 * (libuv measures from its cached loop time), and the grace is a floor.
 */
async function until(at: number): Promise<void> {
  for (let left = at - performance.now(); left > 0; left = at - performance.now()) await delay(Math.ceil(left));
}

/** Bytes per librbd read or write call: one default RBD object, so a call is one OSD op. */
export const IO_BYTES = 4 * 1024 * 1024;
/** Reads in flight per range walk: enough to keep the OSD busy while the caller consumes the previous ones. */
const READ_AHEAD = 4;

/**
 * Cluster connections by (conf, id, keyring) and pool handles by connection and pool, shared by every driver of the
 * process and kept for its lifetime. One client per cluster, as a long-lived service should be: librados starts
 * a dozen threads per client, and a process that made a client per driver (tests make a driver per test) was
 * seen aborting in librados' io_context_pool thread after about twenty of them.
 */
const clusters = new Map<string, Promise<ClusterHandle>>();
const pools = new Map<string, Promise<LibrbdPool>>();

function remembered<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
    // A failed connection is not kept: the next call tries again.
    p.catch(() => map.delete(key));
  }
  return p;
}

/** Shuts every shared connection down (the bench's end; a server keeps them until it exits). */
export async function shutdownLibrbd(): Promise<void> {
  while (pendingCloses.size > 0) await Promise.allSettled([...pendingCloses]);
  const all = [...pools.values()];
  const cs = [...clusters.values()];
  pools.clear();
  clusters.clear();
  for (const p of await Promise.allSettled(all)) if (p.status === 'fulfilled') await p.value.addon.closePool(p.value.pool).catch(() => {});
  const { addon } = loadLibrbd();
  for (const c of await Promise.allSettled(cs)) if (c.status === 'fulfilled') await addon?.shutdown(c.value).catch(() => {});
}

/** One pool of one cluster: the handle the driver's librbd calls go through. */
export class LibrbdPool {
  /**
   * Set when an open or close missed its deadline. In the one case caught under gdb, librados' completion thread
   * (io_context_pool) was blocked for good on a mutex in freed memory inside a librbd callback; every later call
   * whose completion lands on that thread would wait too. The driver drops a stale pool and connects afresh (a
   * new librados client with threads of its own); the old client is left as it is, never shut down under a
   * blocked thread.
   */
  stale = false;

  /** Read-write closes closeSoon handed off and not yet done. */
  private readonly settling = new Set<Promise<void>>();

  private constructor(
    readonly addon: RbdAddon,
    private readonly cluster: ClusterHandle,
    readonly pool: PoolHandle,
    private readonly forget: () => void,
  ) {}

  private watch<T>(p: Promise<T>): Promise<T> {
    return p.catch((e: unknown) => {
      if ((e as { code?: string }).code === 'ETIMEDOUT' && !this.stale) {
        this.stale = true;
        this.forget();
      }
      throw e;
    });
  }

  /** The shared handle of `pool` on the cluster `conn` names, connecting on first use. */
  static connect(addon: RbdAddon, conn: RbdConnection, pool: string): Promise<LibrbdPool> {
    const ckey = JSON.stringify([conn.conf ?? null, conn.id ?? null, conn.keyring ?? null]);
    const pkey = JSON.stringify([ckey, pool]);
    return remembered(pools, pkey, async () => {
      const made = remembered(clusters, ckey, () => addon.connect(conn.conf ?? null, conn.id ?? null, conn.keyring ?? null));
      const cluster = await made;
      const forget = () => {
        // Every pool of that client goes with it: they share its completion threads.
        if (clusters.get(ckey) === made) clusters.delete(ckey);
        for (const k of [...pools.keys()]) if ((JSON.parse(k) as string[])[0] === ckey) pools.delete(k);
      };
      return new LibrbdPool(addon, cluster, await addon.openPool(cluster, pool), forget);
    });
  }

  /** Opens image (at snap, read-only when asked); the caller closes it with close(). */
  async open(image: string, snap: string | null, readOnly: boolean): Promise<ImageHandle> {
    const img = await this.watch(this.addon.open(this.pool, image, snap, readOnly, OPEN_TIMEOUT_MS));
    opened.set(img, { at: performance.now(), readOnly });
    return img;
  }

  /**
   * Closes an image open() gave, never sooner than CLOSE_GRACE_MS (read-only: deferred, the caller goes on) or
   * RW_CLOSE_GRACE_MS (read-write: awaited) after its open. The handle must not be used once this is called.
   */
  async close(img: ImageHandle): Promise<void> {
    const o = opened.get(img);
    opened.delete(img);
    const notBefore = o ? o.at + (o.readOnly ? CLOSE_GRACE_MS : RW_CLOSE_GRACE_MS) : 0;
    const wait = notBefore - performance.now();
    if (wait > 0 && o?.readOnly) {
      const later: Promise<void> = until(notBefore)
        .then(() => this.watch(this.addon.close(img, OPEN_TIMEOUT_MS)))
        // Nobody awaits it: a timeout has marked the pool stale (watch), anything else leaves a read-only handle.
        .catch(() => {})
        .finally(() => pendingCloses.delete(later));
      pendingCloses.add(later);
      return;
    }
    if (wait > 0) await until(notBefore);
    await this.watch(this.addon.close(img, OPEN_TIMEOUT_MS));
  }

  /**
   * Closes a read-write handle like close() without the caller waiting. The close still keeps its grace after the
   * open; settled() waits for it, and so does shutdownLibrbd.
   */
  closeSoon(img: ImageHandle): void {
    const p: Promise<void> = this.close(img)
      // A close that timed out has marked the pool stale (watch); anything else leaves the handle to the process.
      .catch(() => {})
      .finally(() => {
        this.settling.delete(p);
        pendingCloses.delete(p);
      });
    this.settling.add(p);
    pendingCloses.add(p);
  }

  /** Resolves once every close closeSoon handed off has run. */
  async settled(): Promise<void> {
    while (this.settling.size > 0) await Promise.allSettled([...this.settling]);
  }

  /** Opens image (at snap, read-only when asked), runs fn, closes it whatever happens. */
  async withImage<T>(image: string, snap: string | null, readOnly: boolean, fn: (img: ImageHandle) => Promise<T>): Promise<T> {
    const img = await this.open(image, snap, readOnly);
    try {
      return await fn(img);
    } finally {
      await this.close(img);
    }
  }

  /** Size of image (or of its snapshot), or null when either does not exist. */
  async size(image: string, snap?: string): Promise<number | null> {
    try {
      return await this.withImage(image, snap ?? null, true, (img) => this.addon.size(img));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return null;
      throw e;
    }
  }

  /**
   * rbd_diff_iterate2 over the whole image: with `fromSnap`, what changed since it (discarded ranges included);
   * without, the ranges holding data (the parent's included). `wholeObject` answers from the object map
   * (fast-diff) at object granularity instead of asking the OSD about every object.
   */
  async diff(img: ImageHandle, fromSnap: string | null, wholeObject: boolean): Promise<{ offset: number; length: number; exists: boolean }[]> {
    const size = await this.addon.size(img);
    const flat = await this.addon.diff(img, fromSnap, 0, size, wholeObject);
    const out: { offset: number; length: number; exists: boolean }[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) out.push({ offset: flat[i]!, length: flat[i + 1]!, exists: flat[i + 2] === 1 });
    return out;
  }

  /**
   * Ranges holding data (the parent's included). The object map answers at object granularity in milliseconds;
   * `exact` then asks the OSDs about those objects only (within them, data may end early), one range at a time:
   * librbd's own exact walk asks about every object of the image, about 300 ms for 10 GiB however little is written.
   */
  async allocated(img: ImageHandle, exact: boolean): Promise<Extent[]> {
    const coarse = mergeExtents((await this.diff(img, null, true)).filter((r) => r.exists));
    if (!exact) return coarse;
    const found: Extent[] = [];
    // One rbd_diff_iterate2 at a time on a handle: the hang above came in the phase where several ran at once on
    // one read-only snapshot handle (a lane failing also left the others running while the image was closed).
    for (const r of coarse) {
      const flat = await this.addon.diff(img, null, r.offset, r.length, false);
      for (let i = 0; i + 2 < flat.length; i += 3) if (flat[i + 2] === 1) found.push({ offset: flat[i]!, length: flat[i + 1]! });
    }
    return mergeExtents(found);
  }

  /**
   * The ranges' bytes in order, in pieces of at most IO_BYTES, a few reads ahead of the consumer. Holes read as
   * zeros (librbd fills them), so no range needs the allocation map.
   */
  async *readRanges(img: ImageHandle, ranges: Extent[]): AsyncGenerator<{ offset: number; data: Buffer }> {
    const pieces = (function* () {
      for (const r of ranges) for (let o = r.offset; o < r.offset + r.length; o += IO_BYTES) yield { offset: o, length: Math.min(IO_BYTES, r.offset + r.length - o) };
    })();
    const inFlight: Promise<{ offset: number; data: Buffer }>[] = [];
    const start = () => {
      const p = pieces.next();
      if (p.done) return false;
      const buf = Buffer.allocUnsafe(p.value.length);
      const read = this.addon.read(img, p.value.offset, buf).then((n) => ({ offset: p.value.offset, data: n === buf.length ? buf : buf.subarray(0, n) }));
      // Observed here so a read failing while an earlier one is awaited is not an unhandled rejection.
      read.catch(() => {});
      inFlight.push(read);
      return true;
    };
    try {
      while (inFlight.length < READ_AHEAD && start());
      while (inFlight.length > 0) {
        const piece = await inFlight.shift()!;
        start();
        yield piece;
      }
    } finally {
      // The consumer stopped early or a read failed: the image must not be closed under reads still running.
      await Promise.allSettled(inFlight);
    }
  }

  /** Pool and cluster usage as the mon reports it (`ceph df`), parsed by the caller. */
  monCommand(cmd: Record<string, unknown>): Promise<{ rc: number; out: string; status: string }> {
    return this.addon.monCommand(this.cluster, JSON.stringify(cmd));
  }
}
