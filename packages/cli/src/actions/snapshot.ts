import type { BlockStorageV3, Snapshot } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { UsageError } from '../runtime/errors.js';
import { defined, forEachName, found, num, str } from './common.js';
import { findVolume } from './volume.js';

export function findSnapshot(bs: BlockStorageV3, nameOrId: string): Promise<Snapshot> {
  return found('snapshot', nameOrId, () => bs.findSnapshot(nameOrId));
}

/** OSC's `volume snapshot show` fields: the server body with `metadata` shown as `properties`. */
export function snapshotRecord(s: Snapshot): Record<string, unknown> {
  const { links: _l, metadata, ...rest } = s.raw;
  return sortedRecord({ ...rest, properties: metadata ?? {} });
}

export async function create(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  if (o.remoteSource !== undefined) return (await import('./block-storage-parity.js')).createManagedSnapshot(ctx);
  const bs = (await ctx.conn()).blockStorage;
  const vol = await findVolume(bs, String(o.volume));
  let snap = await bs.createSnapshot(
    defined({
      volumeId: vol.id,
      name: str(ctx.args[0]),
      description: str(o.description),
      isForced: o.force === true ? true : undefined,
      metadata: o.property,
    }),
  );
  if (o.wait) snap = await ctx.waitFor((w) => bs.waitForStatus(snap, w), `snapshot ${snap.id}`);
  ctx.printShow(snapshotRecord(snap));
}

export async function list(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const allProjects = o.allProjects || o.project ? true : undefined;
  const volumeId = str(o.volume) && (await findVolume(bs, String(o.volume), allProjects)).id;
  const snaps = await bs
    .snapshots(
      defined({
        name: str(o.name),
        status: str(o.status),
        volumeId: volumeId || undefined,
        allProjects,
        projectId: str(o.project),
      }),
      defined({ maxItems: num(o.limit), marker: str(o.marker) }),
    )
    .toArray();
  const long = o.long === true;
  // Like OSC, the long listing names the volume when it can (one listing, not one lookup per snapshot).
  const names = new Map<string, string>();
  if (long && snaps.length > 0) {
    for await (const v of bs.volumes(defined({ details: false, allProjects })))
      if (v.id && v.name) names.set(v.id, v.name);
  }
  const headers = long
    ? ['ID', 'Name', 'Description', 'Status', 'Size', 'Created At', 'Volume', 'Properties']
    : ['ID', 'Name', 'Description', 'Status', 'Size'];
  const rows = snaps.map((s) => {
    const base = [s.id, s.name ?? null, s.description ?? null, s.status, s.size];
    return long ? [...base, s.createdAt, names.get(s.volumeId ?? '') ?? s.volumeId, s.metadata ?? {}] : base;
  });
  ctx.printList({ headers, rows });
}

export async function show(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  ctx.printShow(snapshotRecord(await findSnapshot(bs, String(ctx.args[0]))));
}

export async function set(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const changes = defined({
    name: str(o.name),
    description: str(o.description),
  });
  const property = o.propertyPairs as Record<string, string> | undefined;
  const clear = o.clearProperty === true;
  if (Object.keys(changes).length === 0 && !property && !clear && o.state === undefined) {
    throw new UsageError('nothing to change: give --name, --description, --property, --no-property or --state');
  }
  const bs = (await ctx.conn()).blockStorage;
  const s = await findSnapshot(bs, String(ctx.args[0]));
  const id = s.id as string;
  if (Object.keys(changes).length > 0) await bs.updateSnapshot(id, changes);
  if (clear) await bs.replaceSnapshotMetadata(id, property ?? {});
  else if (property) await bs.updateSnapshotMetadata(id, property);
  if (typeof o.state === 'string') await bs.resetSnapshotStatus(id, o.state);
}

export async function unset(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const s = await findSnapshot(bs, String(ctx.args[0]));
  await bs.deleteSnapshotMetadata(s.id as string, ctx.opts.property as string[]);
}

export async function remove(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  await forEachName('snapshot', ctx.args[0] as string[], async (name) => {
    const s = await findSnapshot(bs, name);
    await bs.deleteSnapshot(s, { force: o.force === true });
    if (o.wait) await ctx.waitFor((w) => bs.waitForDelete(s, w), `deleting snapshot ${s.id}`);
  });
}
