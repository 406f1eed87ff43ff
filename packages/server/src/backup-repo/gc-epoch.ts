/**
 * The store's gc epoch (`locks/gc-epoch`): what a node-local chunk index must match to be trusted. Garbage
 * collection writes a new epoch marked `running` before it reads the leases, and another new one when it is done;
 * the only deletions that can happen behind a node's index happen between the two. So:
 *   - an index whose epoch equals the store's, with no foreign gc running, lists no chunk the store lacks;
 *   - a backup writes its lease before it reads the epoch: a gc that starts later sees the lease and defers its
 *     deletions (repository.ts), and a gc that started earlier is seen as `running` (the backup then does not use
 *     the index and falls back to create-only puts that touch what they find).
 * A `running` epoch whose gc stopped refreshing it (crashed) counts as finished after `RUNNING_TTL_MS`.
 */
import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../domain/ports/object-store.js';

export const GC_EPOCH_KEY = 'locks/gc-epoch';
export const RUNNING_TTL_MS = 10 * 60 * 1000;
/** The epoch of a store no gc has run on yet. */
export const INITIAL_EPOCH = 'initial';

export interface GcEpoch {
  epoch: string;
  running: boolean;
  /** Instance id of the repository object running the gc (one per open repository). */
  owner: string | null;
  /** When it was written or last refreshed (ms). */
  at: number;
}

export async function readGcEpoch(store: ObjectStore): Promise<GcEpoch> {
  let raw: Buffer;
  try {
    raw = await store.get(GC_EPOCH_KEY);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return { epoch: INITIAL_EPOCH, running: false, owner: null, at: 0 };
    throw e;
  }
  try {
    const v = JSON.parse(raw.toString('utf8')) as Partial<GcEpoch>;
    if (typeof v.epoch === 'string' && v.epoch.length > 0) {
      return {
        epoch: v.epoch,
        running: v.running === true,
        owner: typeof v.owner === 'string' ? v.owner : null,
        at: typeof v.at === 'number' ? v.at : 0,
      };
    }
  } catch {
    // Unreadable: treated as an epoch no index matches, so every index is rebuilt.
  }
  return { epoch: `unreadable-${raw.length}`, running: false, owner: null, at: 0 };
}

export async function writeGcEpoch(store: ObjectStore, running: boolean, owner: string): Promise<GcEpoch> {
  const state: GcEpoch = { epoch: randomUUID(), running, owner, at: Date.now() };
  await store.put(GC_EPOCH_KEY, Buffer.from(JSON.stringify(state)), { overwrite: true });
  await store.flush();
  return state;
}

/** Refreshes a running gc's `at` (same epoch), so others do not take it for crashed. */
export async function refreshGcEpoch(store: ObjectStore, state: GcEpoch): Promise<void> {
  await store.put(GC_EPOCH_KEY, Buffer.from(JSON.stringify({ ...state, at: Date.now() })), { overwrite: true });
}

/** Whether a gc other than `self`'s may be deleting chunks now. */
export function foreignGcRunning(state: GcEpoch, self: string, now = Date.now()): boolean {
  return state.running && state.owner !== self && now - state.at < RUNNING_TTL_MS;
}
