import type { BlockStorageV3, Group, GroupSnapshot, GroupType } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { defined, forEachName, found, str } from './common.js';
import { findVolume } from './volume.js';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** By ID, else by name among what the list shows (no server-side name filter is relied on). */
async function byName<R extends { id?: string; name?: string | null }>(
  kind: string,
  nameOrId: string,
  get: (id: string) => Promise<R>,
  all: () => Promise<R[]>,
): Promise<R> {
  return found(kind, nameOrId, async () => {
    if (UUID.test(nameOrId)) return get(nameOrId);
    const matches = (await all()).filter((r) => r.name === nameOrId);
    if (matches.length > 1) throw new Error(`More than one ${kind} exists with the name '${nameOrId}'.`);
    return matches[0];
  });
}

/** The group with its member volumes (a name is looked up in the summary list, then the group fetched). */
export async function findGroup(bs: BlockStorageV3, ref: string): Promise<Group> {
  const g = await byName<Group>('volume group', ref, (id) => bs.getGroup(id, { listVolume: true }), () => bs.groups({ details: false }).toArray());
  return g.volumes !== undefined ? g : bs.getGroup(g.id!, { listVolume: true });
}
const findGroupSnapshot = (bs: BlockStorageV3, ref: string) =>
  byName<GroupSnapshot>('volume group snapshot', ref, (id) => bs.getGroupSnapshot(id), () => bs.groupSnapshots().toArray());
const findGroupType = (bs: BlockStorageV3, ref: string) =>
  byName<GroupType>('volume group type', ref, (id) => bs.getGroupType(id), () => bs.groupTypes().toArray());

function record(r: { raw: Record<string, unknown> }): Record<string, unknown> {
  const { links: _l, ...rest } = r.raw;
  return sortedRecord(rest);
}

// ---------------- groups ----------------

export async function create(ctx: ActionContext): Promise<void> {
  const o = { ...ctx.opts };
  const bs = (await ctx.conn()).blockStorage;
  // OSC 6.0's positional form: `volume group create <group type> <volume type>...`.
  if (ctx.args[0] !== undefined) {
    o.volumeGroupType ??= ctx.args[0];
    o.volumeType = [...((o.volumeType as string[] | undefined) ?? []), ...((ctx.args[1] as string[] | undefined) ?? [])];
  }
  const sources = [o.volumeGroupType, o.sourceGroup, o.groupSnapshot].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new Error('Give exactly one of --volume-group-type, --source-group and --group-snapshot.');
  let g: Group;
  if (o.volumeGroupType !== undefined) {
    const types = (o.volumeType as string[] | undefined) ?? [];
    if (types.length === 0) throw new Error('--volume-type is required with --volume-group-type.');
    g = await bs.createGroup(
      defined({
        groupType: String(o.volumeGroupType),
        volumeTypes: types,
        name: str(o.name),
        description: str(o.description),
        availabilityZone: str(o.availabilityZone),
      }),
    );
  } else {
    g = await bs.createGroupFromSource(
      defined({
        name: str(o.name),
        description: str(o.description),
        groupSnapshotId: o.groupSnapshot !== undefined ? (await findGroupSnapshot(bs, String(o.groupSnapshot))).id : undefined,
        sourceGroupId: o.sourceGroup !== undefined ? (await findGroup(bs, String(o.sourceGroup))).id : undefined,
      }) as { name?: string },
    );
  }
  ctx.printShow(record(await bs.getGroup(g.id!, { listVolume: true })));
}

export async function list(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const all = await bs.groups(defined({ details: true, allProjects: ctx.opts.allProjects === true ? true : undefined })).toArray();
  ctx.printList({ headers: ['ID', 'Status', 'Name'], rows: all.map((g) => [g.id, g.status ?? null, g.name ?? null]) });
}

export async function show(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  ctx.printShow(record(await findGroup(bs, String(ctx.args[0]))));
}

export async function set(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const g = await findGroup(bs, String(ctx.args[0]));
  await bs.updateGroup(g, defined({ name: str(ctx.opts.name), description: str(ctx.opts.description) }));
  ctx.printShow(record(await bs.getGroup(g.id!, { listVolume: true })));
}

async function volumeIds(bs: BlockStorageV3, refs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of refs) out.push((await findVolume(bs, r)).id!);
  return out;
}

export async function addVolume(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const g = await findGroup(bs, String(ctx.args[0]));
  await bs.updateGroup(g, { addVolumes: await volumeIds(bs, ctx.args[1] as string[]) });
}

export async function removeVolume(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const g = await findGroup(bs, String(ctx.args[0]));
  await bs.updateGroup(g, { removeVolumes: await volumeIds(bs, ctx.args[1] as string[]) });
}

export async function remove(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const g = await findGroup(bs, String(ctx.args[0]));
  await bs.deleteGroup(g, { deleteVolumes: ctx.opts.force === true });
}

// ---------------- group snapshots ----------------

export async function snapshotCreate(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const g = await findGroup(bs, String(ctx.args[0]));
  const s = await bs.createGroupSnapshot(defined({ groupId: g.id, name: str(ctx.opts.name), description: str(ctx.opts.description) }));
  ctx.printShow(record(await bs.getGroupSnapshot(s.id!)));
}

export async function snapshotList(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const all = await bs.groupSnapshots(defined({ details: true, allProjects: ctx.opts.allProjects === true ? true : undefined })).toArray();
  ctx.printList({ headers: ['ID', 'Status', 'Name'], rows: all.map((s) => [s.id, s.status ?? null, s.name ?? null]) });
}

export async function snapshotShow(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  ctx.printShow(record(await findGroupSnapshot(bs, String(ctx.args[0]))));
}

export async function snapshotRemove(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  await bs.deleteGroupSnapshot(await findGroupSnapshot(bs, String(ctx.args[0])));
}

// ---------------- group types ----------------

function visibility(o: Record<string, unknown>): boolean | undefined {
  if (o.public === true && o.private === true) throw new Error('--public and --private are exclusive.');
  return o.public === true ? true : o.private === true ? false : undefined;
}

export async function typeCreate(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const t = await bs.createGroupType(
    defined({
      name: String(ctx.args[0]),
      description: str(o.description),
      isPublic: visibility(o),
      groupSpecs: o.property as Record<string, string> | undefined,
    }),
  );
  ctx.printShow(record(t));
}

export async function typeList(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const all = await bs.groupTypes().toArray();
  ctx.printList({
    headers: ['ID', 'Name', 'Is Public'],
    rows: all.map((t) => [t.id, t.name ?? null, t.isPublic ?? null]),
  });
}

export async function typeShow(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  ctx.printShow(record(await findGroupType(bs, String(ctx.args[0]))));
}

export async function typeSet(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  let t = await findGroupType(bs, String(ctx.args[0]));
  const changes = defined({ name: str(o.name), description: str(o.description), isPublic: visibility(o) });
  if (Object.keys(changes).length > 0) t = await bs.updateGroupType(t, changes);
  if (o.property) await bs.setGroupTypeSpecs(t, o.property as Record<string, string>);
  ctx.printShow(record(await bs.getGroupType(t.id!)));
}

export async function typeUnset(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const t = await findGroupType(bs, String(ctx.args[0]));
  for (const key of (ctx.opts.property as string[] | undefined) ?? []) await bs.deleteGroupTypeSpec(t, key);
  ctx.printShow(record(await bs.getGroupType(t.id!)));
}

export async function typeRemove(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  await forEachName('volume group type', ctx.args[0] as string[], async (name) => {
    await bs.deleteGroupType(await findGroupType(bs, name));
  });
}
