import type { Attachment, AttachmentConnector } from '@cinderbox/sdk';
import type { ActionContext } from '../runtime/context.js';
import { CliError } from '../runtime/errors.js';
import { defined, forEachName, found, num, str } from './common.js';
import { findVolume } from './volume.js';

/** OSC's `_format_attachment`: fixed columns, `Properties` (the connection info) only once connected. */
function attachmentRecord(a: Attachment): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ID: a.id,
    'Volume ID': a.volumeId,
    'Instance ID': a.instance ?? null,
    Status: a.status,
    'Attach Mode': a.attachMode,
    'Attached At': a.attachedAt ?? '',
    'Detached At': a.detachedAt ?? '',
  };
  if (a.connectionInfo && Object.keys(a.connectionInfo).length > 0) out.Properties = a.connectionInfo;
  return out;
}

function connectorOf(o: Record<string, unknown>): AttachmentConnector {
  return defined({
    initiator: str(o.initiator),
    ip: str(o.ip),
    platform: str(o.platform),
    host: str(o.host),
    os_type: str(o.osType),
    multipath: o.multipath === true,
    mountpoint: str(o.mountpoint),
  }) as AttachmentConnector;
}

const getAttachment = (ctx: ActionContext, id: string) =>
  ctx.conn().then((c) => found('attachment', id, () => c.blockStorage.getAttachment(id)));

export async function create(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const vol = await findVolume(bs, String(ctx.args[0]));
  if (o.connect !== true && ['initiator', 'ip', 'platform', 'host', 'osType', 'mountpoint'].some((k) => o[k] !== undefined)) {
    throw new CliError('You must specify the --connect option for any of the connection-specific options such as --initiator to be valid');
  }
  if (o.mode !== undefined && o.mode !== 'rw' && o.mode !== 'ro') throw new CliError("--mode must be 'rw' or 'ro'");
  const a = await bs.createAttachment(
    defined({
      volumeId: vol.id,
      instance: String(ctx.args[1]),
      connector: o.connect === true ? connectorOf(o) : undefined,
      mode: str(o.mode),
    }),
  );
  ctx.printShow(attachmentRecord(a));
}

export async function set(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const a = await getAttachment(ctx, String(ctx.args[0]));
  ctx.printShow(attachmentRecord(await bs.updateAttachment(a, connectorOf(ctx.opts))));
}

export async function complete(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  await bs.completeAttachment(await getAttachment(ctx, String(ctx.args[0])));
}

export async function remove(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  await forEachName('attachment', ctx.args[0] as string[], async (id) => {
    await bs.deleteAttachment(await getAttachment(ctx, id));
  });
}

export async function list(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const projectId =
    typeof o.project === 'string'
      ? String((await found('project', o.project, () => conn.identity.findProject(o.project as string))).id)
      : undefined;
  const all = await conn.blockStorage
    .attachments(
      defined({
        projectId,
        // OSC lists another project's attachments through all_tenants.
        allProjects: o.allProjects === true || projectId !== undefined ? true : undefined,
        volumeId: str(o.volumeId),
        status: str(o.status),
      }),
      defined({ maxItems: num(o.limit), marker: str(o.marker) }),
    )
    .toArray();
  ctx.printList({
    headers: ['ID', 'Volume ID', 'Server ID', 'Status'],
    rows: all.map((a) => [a.id, a.volumeId, a.instance ?? null, a.status]),
  });
}

export async function show(ctx: ActionContext): Promise<void> {
  ctx.printShow(attachmentRecord(await getAttachment(ctx, String(ctx.args[0]))));
}
