import type { BlockStorageV3, ManageableSnapshot, ManageableVolume } from '@cinderbox/sdk';
import type { ActionContext } from '../runtime/context.js';
import { CliError, UsageError } from '../runtime/errors.js';
import { backupRecord, findBackup } from './backup.js';
import { defined, num, str } from './common.js';
import { findSnapshot, snapshotRecord } from './snapshot.js';
import { findVolume, volumeRecord } from './volume.js';

const ID_TYPES = new Set(['source-name', 'source-id']);

function reference(ctx: ActionContext, identifier: string): Record<string, string> {
  const idType = str(ctx.opts.idType) ?? 'source-name';
  if (!ID_TYPES.has(idType)) throw new UsageError("--id-type must be 'source-name' or 'source-id'");
  return { [idType]: identifier };
}

/** Runs `fn` for each name; reports each failure and fails at the end (OSC's "N of M … failed"). */
async function eachName(verb: string, kind: string, names: string[], fn: (name: string) => Promise<void>): Promise<void> {
  let failed = 0;
  let only: unknown;
  for (const name of names) {
    try {
      await fn(name);
    } catch (e) {
      failed++;
      only = e;
      if (names.length > 1) process.stderr.write(`Failed to ${verb} ${kind} '${name}': ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  if (failed === 1 && names.length === 1) throw only;
  if (failed > 0) throw new CliError(`${failed} of ${names.length} ${kind}s failed to ${verb}.`);
}

export async function volumeManage(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const [host, identifier] = [String(ctx.args[0]), String(ctx.args[1])];
  const cluster = str(o.cluster);
  const bs = (await ctx.conn()).blockStorage;
  const v = await bs.manageVolume(
    defined({
      ref: reference(ctx, identifier),
      host: host === '' && cluster !== undefined ? undefined : host,
      cluster,
      name: str(o.name),
      description: str(o.description),
      volumeType: str(o.type),
      availabilityZone: str(o.availabilityZone),
      bootable: o.bootable === true ? true : undefined,
      metadata: o.property,
    }) as unknown as Parameters<BlockStorageV3['manageVolume']>[0],
  );
  ctx.printShow(volumeRecord(v));
}

/** OSC's `volume create --remote-source KEY=VALUE --host HOST [NAME]`: manage, with create's options. */
export async function createManagedVolume(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const ref = remoteSource(o.remoteSource);
  const host = str(o.host);
  if (host === undefined) throw new UsageError('--remote-source needs --host');
  for (const flag of ['size', 'snapshot', 'source', 'backup'] as const)
    if (o[flag] !== undefined) throw new UsageError(`--remote-source and --${flag} exclude each other`);
  const bs = (await ctx.conn()).blockStorage;
  let v = await bs.manageVolume(
    defined({
      ref,
      host,
      name: str(ctx.args[0]),
      description: str(o.description),
      volumeType: str(o.type),
      availabilityZone: str(o.availabilityZone),
      metadata: o.property,
    }) as unknown as Parameters<BlockStorageV3['manageVolume']>[0],
  );
  if (o.wait) v = await ctx.waitFor((w) => bs.waitForStatus(v, w), `volume ${v.id}`);
  ctx.printShow(volumeRecord(v));
}

/** OSC's `volume snapshot create --remote-source KEY=VALUE --volume VOLUME [NAME]`. */
export async function createManagedSnapshot(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const ref = remoteSource(o.remoteSource);
  if (o.force === true) throw new UsageError('--remote-source and --force exclude each other');
  const bs = (await ctx.conn()).blockStorage;
  const vol = await findVolume(bs, String(o.volume));
  let s = await bs.manageSnapshot(
    defined({
      volumeId: vol.id,
      ref,
      name: str(ctx.args[0]),
      description: str(o.description),
      metadata: o.property,
    }) as unknown as Parameters<BlockStorageV3['manageSnapshot']>[0],
  );
  if (o.wait) s = await ctx.waitFor((w) => bs.waitForStatus(s, w), `snapshot ${s.id}`);
  ctx.printShow(snapshotRecord(s));
}

/** The backend reference OSC's --remote-source gives: one of source-name or source-id. */
function remoteSource(value: unknown): Record<string, string> {
  const ref = value as Record<string, string>;
  const keys = Object.keys(ref);
  if (keys.length !== 1 || !ID_TYPES.has(keys[0] as string))
    throw new UsageError('--remote-source takes one of source-name=NAME or source-id=ID');
  return ref;
}

export async function volumeUnmanage(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  await eachName('unmanage', 'volume', ctx.args[0] as string[], async (name) => {
    await bs.unmanageVolume((await findVolume(bs, name)).id as string);
  });
}

export async function snapshotManage(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const vol = await findVolume(bs, String(ctx.args[0]));
  const s = await bs.manageSnapshot(
    defined({
      volumeId: vol.id,
      ref: reference(ctx, String(ctx.args[1])),
      name: str(o.name),
      description: str(o.description),
      metadata: o.property,
    }) as unknown as Parameters<BlockStorageV3['manageSnapshot']>[0],
  );
  ctx.printShow(snapshotRecord(s));
}

export async function snapshotUnmanage(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  await eachName('unmanage', 'snapshot', ctx.args[0] as string[], async (name) => {
    await bs.unmanageSnapshot((await findSnapshot(bs, name)).id as string);
  });
}

/** OSC's columns: reference, size, safe_to_manage (+ source_reference for snapshots), then the detail ones. */
async function manageable(ctx: ActionContext, kind: 'volume' | 'snapshot'): Promise<void> {
  const o = ctx.opts;
  const host = str(ctx.args[0]);
  const cluster = str(o.cluster);
  if ((host === undefined) === (cluster === undefined)) throw new UsageError('give either a host or --cluster');
  // OSC: the summary by default, reason_not_safe, cinder_id and extra_info with --long.
  const details = o.long === true || o.detailed === true;
  const sort = str(o.sort);
  if (sort !== undefined && !sort.split(',').every((s) => /^(size|reference)(:(asc|desc))?$/.test(s)))
    throw new UsageError('--sort takes KEY[:asc|desc] items, comma-separated; keys: size, reference');
  const bs = (await ctx.conn()).blockStorage;
  const query = defined({ details, host, cluster, offset: num(o.offset), sort });
  const pageOpts = defined({ maxItems: num(o.limit), marker: str(o.marker) });
  const entries: (ManageableVolume | ManageableSnapshot)[] =
    kind === 'volume'
      ? await bs.manageableVolumes(query, pageOpts).toArray()
      : await bs.manageableSnapshots(query, pageOpts).toArray();
  const headers = ['reference', 'size', 'safe_to_manage'];
  if (kind === 'snapshot') headers.push('source_reference');
  if (details) headers.push('reason_not_safe', 'cinder_id', 'extra_info');
  ctx.printList({ headers, rows: entries.map((e) => headers.map((h) => (e.raw as Record<string, unknown>)[h] ?? null)) });
}

export const manageableVolumes = (ctx: ActionContext) => manageable(ctx, 'volume');
export const manageableSnapshots = (ctx: ActionContext) => manageable(ctx, 'snapshot');

export async function revert(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const s = await findSnapshot(bs, String(ctx.args[0]));
  if (!s.volumeId) throw new CliError(`snapshot ${s.id} names no volume`);
  await bs.revertVolumeToSnapshot(s.volumeId, s.id as string);
}

/**
 * OSC shows the record as `Backup Service` and `Metadata` (the backup URL) in a table, and with cinderclient's
 * keys, `backup_service` and `backup_url`, in the machine formats.
 */
export async function backupExport(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const b = await findBackup(bs, String(ctx.args[0]));
  const rec = await bs.exportBackup(b.id as string);
  ctx.printShow(
    ctx.format.format === 'table'
      ? { 'Backup Service': rec.backupService, Metadata: rec.backupUrl }
      : { backup_service: rec.backupService, backup_url: rec.backupUrl },
  );
}

export async function backupImport(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const b = await bs.importBackup({ backupService: String(ctx.args[0]), backupUrl: String(ctx.args[1]) });
  ctx.printShow(backupRecord(b));
}

export async function filterList(ctx: ActionContext): Promise<void> {
  const filters = await (await ctx.conn()).blockStorage.resourceFilters();
  ctx.printList({ headers: ['Resource', 'Filters'], rows: filters.map((f) => [f.resource, f.filters.join(', ')]) });
}

export async function filterShow(ctx: ActionContext): Promise<void> {
  const resource = String(ctx.args[0]);
  const [f] = await (await ctx.conn()).blockStorage.resourceFilters(resource);
  if (!f) throw new CliError(`No resource filter for '${resource}' exists.`);
  ctx.printShow({ Resource: f.resource, Filters: f.filters.join(', ') });
}

/** OSC's `limits show`: one of --absolute or --rate. */
export async function limitsShow(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  if ((o.absolute === true) === (o.rate === true)) throw new UsageError('give exactly one of --absolute and --rate');
  const limits = await (await ctx.conn()).blockStorage.getLimits();
  if (o.absolute === true) {
    const rows = Object.entries(limits.absolute)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, v]);
    ctx.printList({ headers: ['Name', 'Value'], rows });
    return;
  }
  const rows: unknown[][] = [];
  for (const group of limits.rate as { uri?: unknown; limit?: { verb?: unknown; value?: unknown; remaining?: unknown; unit?: unknown; 'next-available'?: unknown }[] }[]) {
    for (const l of group.limit ?? []) rows.push([l.verb ?? null, group.uri ?? null, l.value ?? null, l.remaining ?? null, l.unit ?? null, l['next-available'] ?? null]);
  }
  ctx.printList({ headers: ['Verb', 'URI', 'Value', 'Remain', 'Unit', 'Next Available'], rows });
}

/** Block storage zones only; asking for compute or network zones alone lists nothing, as OSC does without those services. */
export async function zoneList(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const onlyOthers = (o.compute === true || o.network === true) && o.volume !== true;
  const zones = onlyOthers ? [] : await (await ctx.conn()).blockStorage.availabilityZones().toArray();
  const long = o.long === true;
  const headers = long
    ? ['Zone Name', 'Zone Status', 'Zone Resource', 'Host Name', 'Service Name', 'Service Status']
    : ['Zone Name', 'Zone Status'];
  ctx.printList({
    headers,
    rows: zones.map((z) => {
      const state = (z.raw as { zoneState?: { available?: unknown } }).zoneState;
      const row: unknown[] = [z.name ?? '', state?.available === true ? 'available' : 'not available'];
      return long ? [...row, '', '', '', ''] : row;
    }),
  });
}
