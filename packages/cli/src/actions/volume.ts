import type { BlockStorageV3, Volume } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { UsageError } from '../runtime/errors.js';
import { defined, forEachName, found, num, str } from './common.js';
import { downloadData, uploadVolumeData } from './volume-data.js';

export function findVolume(bs: BlockStorageV3, nameOrId: string, allProjects = false): Promise<Volume> {
  return found('volume', nameOrId, () => bs.findVolume(nameOrId, allProjects ? { allProjects: true } : {}));
}

/** OSC's `volume show` fields: the server body, `metadata` shown as `properties`, `volume_type` as `type`. */
export function volumeRecord(v: Volume): Record<string, unknown> {
  const { links: _l, metadata, volume_type, ...rest } = v.raw;
  return sortedRecord({
    ...rest,
    properties: metadata ?? {},
    type: volume_type ?? null,
  });
}

function attachedTo(v: Volume): string {
  return (v.attachments ?? [])
    .map(
      (a) =>
        `Attached to ${String(a.server_id ?? a.host_name ?? a.attachment_id ?? '?')} on ${String(a.device ?? '?')}`,
    )
    .join('\n');
}

export async function create(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const name = str(ctx.args[0]);
  if (o.remoteSource !== undefined) return (await import('./block-storage-parity.js')).createManagedVolume(ctx);
  if (o.host !== undefined) throw new UsageError('--host goes with --remote-source');
  if (o.size === undefined && !o.snapshot && !o.source && !o.backup) {
    throw new UsageError('--size is required unless --snapshot, --source or --backup is given');
  }
  const conn = await ctx.conn();
  const bs = conn.blockStorage;
  const snapshotId =
    str(o.snapshot) && (await found('snapshot', String(o.snapshot), () => bs.findSnapshot(String(o.snapshot)))).id;
  const sourceId = str(o.source) && (await findVolume(bs, String(o.source))).id;
  const backupId = str(o.backup) && (await found('backup', String(o.backup), () => bs.findBackup(String(o.backup)))).id;
  let vol = await bs.createVolume(
    defined({
      name,
      size: num(o.size),
      description: str(o.description),
      volumeType: str(o.type),
      availabilityZone: str(o.availabilityZone),
      snapshotId: snapshotId || undefined,
      sourceVolumeId: sourceId || undefined,
      backupId: backupId || undefined,
      metadata: o.property,
    }),
  );
  if (o.wait) vol = await ctx.waitFor((w) => bs.waitForStatus(vol, w), `volume ${vol.id}`);
  ctx.printShow(volumeRecord(vol));
}

export async function list(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const volumes = await bs
    .volumes(
      defined({
        name: str(o.name),
        status: str(o.status),
        allProjects: o.allProjects || o.project ? true : undefined,
        projectId: str(o.project),
      }),
      defined({ maxItems: num(o.limit), marker: str(o.marker) }),
    )
    .toArray();
  const long = o.long === true;
  const headers = long
    ? ['ID', 'Name', 'Status', 'Size', 'Type', 'Bootable', 'Attached to', 'Properties']
    : ['ID', 'Name', 'Status', 'Size', 'Attached to'];
  const rows = volumes.map((v) =>
    long
      ? [
          v.id,
          v.name ?? '',
          v.status,
          v.size,
          v.volumeType ?? null,
          v.isBootable ?? false,
          attachedTo(v),
          v.metadata ?? {},
        ]
      : [v.id, v.name ?? '', v.status, v.size, attachedTo(v)],
  );
  ctx.printList({ headers, rows });
}

export async function show(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const v = await findVolume(bs, String(ctx.args[0]));
  ctx.printShow(volumeRecord(v));
}

export async function set(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const changes = defined({
    name: str(o.name),
    description: str(o.description),
  });
  const property = o.propertyPairs as Record<string, string> | undefined;
  const clear = o.clearProperty === true;
  if (o.bootable === true && o.nonBootable === true) throw new UsageError('--bootable and --non-bootable exclude each other');
  if (o.readOnly === true && o.readWrite === true) throw new UsageError('--read-only and --read-write exclude each other');
  const bootable = o.bootable === true ? true : o.nonBootable === true ? false : undefined;
  const readonly = o.readOnly === true ? true : o.readWrite === true ? false : undefined;
  if (o.retypePolicy !== undefined && o.type === undefined) throw new UsageError('--retype-policy needs --type');
  const policy = str(o.retypePolicy) ?? 'never';
  if (policy !== 'never' && policy !== 'on-demand') throw new UsageError("--retype-policy must be 'never' or 'on-demand'");
  if (
    Object.keys(changes).length === 0 && !property && !clear && bootable === undefined && readonly === undefined &&
    o.size === undefined && o.state === undefined && o.type === undefined
  ) {
    throw new UsageError(
      'nothing to change: give --name, --description, --property, --no-property, --size, --state, --type, --bootable, --non-bootable, --read-only or --read-write',
    );
  }
  const bs = (await ctx.conn()).blockStorage;
  const v = await findVolume(bs, String(ctx.args[0]));
  if (Object.keys(changes).length > 0) await bs.updateVolume(v.id as string, changes);
  if (clear) {
    const keys = Object.keys(v.metadata ?? {});
    if (keys.length > 0) await bs.deleteVolumeMetadata(v.id as string, keys);
  }
  if (property) await bs.updateVolumeMetadata(v.id as string, property);
  if (bootable !== undefined) await bs.setVolumeBootable(v.id as string, bootable);
  if (readonly !== undefined) await bs.setVolumeReadonly(v.id as string, readonly);
  if (typeof o.size === 'number') await bs.extendVolume(v.id as string, o.size);
  if (typeof o.state === 'string') await bs.resetVolumeStatus(v.id as string, { status: o.state });
  if (typeof o.type === 'string') await bs.retypeVolume(v.id as string, o.type, policy);
}

export async function unset(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const v = await findVolume(bs, String(ctx.args[0]));
  await bs.deleteVolumeMetadata(v.id as string, ctx.opts.property as string[]);
}

export async function remove(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  await forEachName('volume', ctx.args[0] as string[], async (name) => {
    const v = await findVolume(bs, name);
    await bs.deleteVolume(v, {
      force: o.force === true,
      cascade: o.purge === true,
    });
    if (o.wait) await ctx.waitFor((w) => bs.waitForDelete(v, w), `deleting volume ${v.id}`);
  });
}

export async function upload(ctx: ActionContext): Promise<void> {
  const conn = await ctx.conn();
  const v = await findVolume(conn.blockStorage, String(ctx.args[0]));
  const { written } = await uploadVolumeData(conn, { id: v.id as string, sizeGiB: v.size }, String(ctx.args[1]));
  if (process.stdout.isTTY) process.stdout.write(`wrote ${written} bytes to volume ${v.id}\n`);
}

export async function download(ctx: ActionContext): Promise<void> {
  const conn = await ctx.conn();
  const v = await findVolume(conn.blockStorage, String(ctx.args[0]));
  await downloadData(conn, 'volumes', v.id as string, String(ctx.args[1]), {
    offset: num(ctx.opts.offset),
    length: num(ctx.opts.length),
  });
}
