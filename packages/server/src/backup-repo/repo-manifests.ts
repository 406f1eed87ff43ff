/** A repository's manifests as records: read and validated, listed, deleted, put under retention. */
import { RepoError } from '../domain/ports/backup-store.js';
import { Bounded } from './bounded.js';
import { chunkKey } from './format.js';
import {
  assertName,
  decodeManifest,
  leaseKey as leaseKeyOf,
  MANIFEST_KEY_RE,
  type Manifest,
  manifestKey,
  parseLocator,
} from './manifest.js';
import type { RepoContext } from './repo-context.js';

/** PutObjectRetention requests in flight while a backup is made immutable. */
const RETAIN_CONCURRENCY = 16;

/**
 * Reads and validates a manifest. The locator is untrusted input: it must be "<container>/<id>" of safe
 * names (so it stays inside the repository), the manifest must pass its checksum, match this repository's
 * chunk size and id algorithm, and name itself as that container/id.
 */
export async function readManifest(ctx: RepoContext, locator: string): Promise<Manifest> {
  const key = manifestKey(locator);
  const { container, id } = parseLocator(locator);
  let bytes: Buffer;
  try {
    bytes = await ctx.store.get(key);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') throw new RepoError('NOT_FOUND', `backup ${locator} not found`);
    throw e;
  }
  const m = decodeManifest(bytes, ctx.keys, locator);
  const h = m.header;
  if (h.chunkSize !== ctx.config.chunkSize || h.idAlgorithm !== ctx.config.idAlgorithm) {
    throw new RepoError('MANIFEST_CORRUPT', `manifest ${locator} belongs to a repository with another format`);
  }
  if (h.container !== container || h.id !== id) {
    throw new RepoError('MANIFEST_CORRUPT', `manifest ${locator} names itself ${h.container}/${h.id}`);
  }
  return m;
}

/** Locators of all manifests, or of one container's. */
export async function* listManifests(ctx: RepoContext, container?: string): AsyncIterable<string> {
  const prefix = container === undefined ? 'backups/' : `backups/${assertName('container', container)}/`;
  for await (const obj of ctx.store.list(prefix)) {
    const m = MANIFEST_KEY_RE.exec(obj.key);
    if (m) yield `${m[1]}/${m[2]}`;
  }
}

/**
 * Drops the lease of a backup that will never finish (its process died mid-backup), so garbage collection
 * need not wait out the lease's lifetime. Returns false when there was none. Never call it for a backup
 * that is still running: GC could then sweep the chunks it has written but not yet committed.
 */
export async function releaseLease(ctx: RepoContext, locator: string): Promise<boolean> {
  return ctx.store.delete(leaseKeyOf(locator));
}

/** Removes a backup's manifest (its chunks go at the next GC). Returns false when it did not exist. */
export async function deleteManifest(ctx: RepoContext, locator: string): Promise<boolean> {
  const removed = await ctx.store.delete(manifestKey(locator));
  await ctx.store.flush();
  return removed;
}

/**
 * Puts a backup's chunks and manifest under retention until `until` (an immutable target). The manifest is locked
 * last, once every chunk it names is held at least that long, so a locked manifest vouches for its chunks: an
 * incremental whose parent's manifest is held to `until` or later skips the chunks it shares with the parent (a
 * HEAD and a GET instead of a PutObjectRetention per chunk). lockedUntilFor rounds lock ends so that backups
 * made within one step share theirs, which makes that the usual case. Nothing is ever shortened: S3 refuses that
 * under Object Lock (COMPLIANCE always; GOVERNANCE without bypass).
 */
export async function retain(ctx: RepoContext, locator: string, until: Date): Promise<{ objects: number }> {
  const store = ctx.store;
  if (!store.retain) return { objects: 0 };
  const m = await readManifest(ctx, locator);
  let shared: Set<string> | undefined;
  const parent = m.header.parent;
  if (parent) {
    try {
      const held = (await store.head(manifestKey(parent)))?.retainUntil;
      if (held && held.getTime() >= until.getTime()) shared = new Set((await readManifest(ctx, parent)).ids());
    } catch {
      // The parent is gone or unreadable: it vouches for nothing, every chunk is extended.
      shared = undefined;
    }
  }
  // Chunks first: a manifest locked while a chunk it names could still be deleted would promise too much.
  const inflight = new Bounded(RETAIN_CONCURRENCY);
  let objects = 0;
  for (const id of m.ids()) {
    if (shared?.has(id)) continue;
    await inflight.add(async () => {
      await store.retain!(chunkKey(id), until);
      objects++;
    });
    if (inflight.failed) break;
  }
  await inflight.drain();
  await store.retain(manifestKey(locator), until);
  return { objects: objects + 1 };
}
