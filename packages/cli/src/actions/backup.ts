import type { Backup, BlockStorageV3 } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { UsageError } from '../runtime/errors.js';
import { defined, forEachName, found, num, str } from './common.js';
import { findSnapshot } from './snapshot.js';
import { findVolume } from './volume.js';

export function findBackup(bs: BlockStorageV3, nameOrId: string): Promise<Backup> {
  return found('backup', nameOrId, () => bs.findBackup(nameOrId));
}

export function backupRecord(b: Backup): Record<string, unknown> {
  const { links: _l, ...rest } = b.raw;
  return sortedRecord(rest);
}

export async function create(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const vol = await findVolume(bs, String(ctx.args[0]));
  const snapshotId = typeof o.snapshot === 'string' ? (await findSnapshot(bs, o.snapshot)).id : undefined;
  let b = await bs.createBackup(
    defined({
      volumeId: vol.id,
      snapshotId,
      name: str(o.name),
      description: str(o.description),
      isIncremental: o.incremental === true ? true : undefined,
      force: o.force === true ? true : undefined,
      container: str(o.container),
      metadata: o.property,
    }),
  );
  // The create response holds only id, name and links: show the full backup.
  b = o.wait ? await ctx.waitFor((w) => bs.waitForStatus(b, w), `backup ${b.id}`) : await bs.getBackup(b);
  ctx.printShow(backupRecord(b));
}

export async function list(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const allProjects = o.allProjects ? true : undefined;
  const volumeId = typeof o.volume === 'string' ? (await findVolume(bs, o.volume, allProjects)).id : undefined;
  const backups = await bs
    .backups(
      defined({ name: str(o.name), status: str(o.status), volumeId, allProjects }),
      defined({ maxItems: num(o.limit), marker: str(o.marker) }),
    )
    .toArray();
  const long = o.long === true;
  const headers = long
    ? ['ID', 'Name', 'Description', 'Status', 'Size', 'Incremental', 'Availability Zone', 'Volume', 'Container']
    : ['ID', 'Name', 'Description', 'Status', 'Size', 'Incremental'];
  ctx.printList({
    headers,
    rows: backups.map((b) => {
      const base = [b.id, b.name ?? null, b.description ?? null, b.status, b.size, b.isIncremental ?? false];
      return long ? [...base, b.availabilityZone ?? null, b.volumeId, b.container ?? null] : base;
    }),
  });
}

export async function show(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  ctx.printShow(backupRecord(await findBackup(bs, String(ctx.args[0]))));
}

export async function set(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const changes = defined({ name: str(o.name), description: str(o.description) });
  const property = o.property as Record<string, string> | undefined;
  if (Object.keys(changes).length === 0 && !property && o.state === undefined) {
    throw new UsageError('nothing to change: give --name, --description, --property or --state');
  }
  const bs = (await ctx.conn()).blockStorage;
  const b = await findBackup(bs, String(ctx.args[0]));
  // Backup metadata is replaced as a whole on update, so merge with what is there.
  if (property) changes.metadata = { ...(b.metadata ?? {}), ...property };
  if (Object.keys(changes).length > 0) await bs.updateBackup(b.id as string, changes);
  if (typeof o.state === 'string') await bs.resetBackupStatus(b.id as string, o.state);
}

export async function unset(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const b = await findBackup(bs, String(ctx.args[0]));
  const drop = new Set(ctx.opts.property as string[]);
  const metadata = Object.fromEntries(Object.entries(b.metadata ?? {}).filter(([k]) => !drop.has(k)));
  await bs.updateBackup(b.id as string, { metadata });
}

export async function remove(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  await forEachName('backup', ctx.args[0] as string[], async (name) => {
    const b = await findBackup(bs, name);
    await bs.deleteBackup(b, { force: o.force === true });
    if (o.wait) await ctx.waitFor((w) => bs.waitForDelete(b, w), `deleting backup ${b.id}`);
  });
}

export async function restore(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const b = await findBackup(bs, String(ctx.args[0]));
  const volumeId = typeof o.volume === 'string' ? (await findVolume(bs, o.volume)).id : undefined;
  const r = await bs.restoreBackup(b, defined({ volumeId, name: str(o.name) }));
  if (o.wait) {
    const target = await bs.getVolume(r.volumeId);
    await ctx.waitFor((w) => bs.waitForStatus(target, w), `restoring backup ${r.backupId} into volume ${r.volumeId}`);
  }
  ctx.printShow({ backup_id: r.backupId, volume_id: r.volumeId, volume_name: r.volumeName ?? null });
}
