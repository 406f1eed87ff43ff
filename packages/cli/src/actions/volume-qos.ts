import type { BlockStorageV3, QoSSpec, VolumeType } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { UsageError } from '../runtime/errors.js';
import { defined, forEachName, found, str } from './common.js';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** By ID, else by exact name (the server filters on it). */
export function findQos(bs: BlockStorageV3, nameOrId: string): Promise<QoSSpec> {
  return found('QoS spec', nameOrId, async () => {
    if (UUID.test(nameOrId)) {
      try {
        return await bs.getQoSSpec(nameOrId);
      } catch {
        // A name that happens to look like an id: try it as a name.
      }
    }
    return (await bs.qosSpecs({ name: nameOrId }).toArray())[0];
  });
}

/** By ID, else by name among the types the caller sees. */
export function findVolumeType(bs: BlockStorageV3, nameOrId: string): Promise<VolumeType> {
  return found('volume type', nameOrId, async () => {
    const all = await bs.volumeTypes({ isPublic: 'none' }).toArray();
    return all.find((t) => t.id === nameOrId) ?? all.find((t) => t.name === nameOrId);
  });
}

/**
 * OSC's `volume qos show` fields: the spec with `specs` as `properties` and, when there are any, the associated
 * types' names (OSC leaves `associations` out when there is none).
 */
async function qosRecord(bs: BlockStorageV3, q: QoSSpec): Promise<Record<string, unknown>> {
  const associations = (await bs.qosSpecAssociations(q)).map((a) => a.name);
  return sortedRecord({
    id: q.id,
    name: q.name,
    consumer: q.consumer,
    properties: q.specs ?? {},
    ...(associations.length > 0 ? { associations } : {}),
  });
}

export async function create(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const q = await bs.createQoSSpec(
    defined({ name: String(ctx.args[0]), consumer: str(o.consumer), specs: (o.property as Record<string, string> | undefined) ?? {} }),
  );
  ctx.printShow(await qosRecord(bs, q));
}

export async function list(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const all = await bs.qosSpecs().toArray();
  const rows = [];
  for (const q of all) {
    const assoc = (await bs.qosSpecAssociations(q)).map((a) => a.name);
    rows.push([q.id, q.name, q.consumer ?? null, assoc, q.specs ?? {}]);
  }
  ctx.printList({ headers: ['ID', 'Name', 'Consumer', 'Associations', 'Properties'], rows });
}

export async function show(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  ctx.printShow(await qosRecord(bs, await findQos(bs, String(ctx.args[0]))));
}

export async function set(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const q = await findQos(bs, String(ctx.args[0]));
  const props = (ctx.opts.property as Record<string, string> | undefined) ?? {};
  if (Object.keys(props).length > 0) await bs.setQoSSpecKeys(q, props);
}

export async function unset(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const q = await findQos(bs, String(ctx.args[0]));
  const keys = (ctx.opts.property as string[] | undefined) ?? [];
  if (keys.length > 0) await bs.unsetQoSSpecKeys(q, keys);
}

export async function associate(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const q = await findQos(bs, String(ctx.args[0]));
  await bs.associateQoSSpec(q, await findVolumeType(bs, String(ctx.args[1])));
}

export async function disassociate(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  if ((o.volumeType === undefined) === (o.all !== true)) throw new UsageError('give exactly one of --volume-type and --all');
  const q = await findQos(bs, String(ctx.args[0]));
  if (o.all === true) await bs.disassociateQoSSpec(q);
  else await bs.disassociateQoSSpec(q, await findVolumeType(bs, String(o.volumeType)));
}

export async function remove(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const force = ctx.opts.force === true;
  await forEachName('QoS spec', ctx.args[0] as string[], async (name) => {
    await bs.deleteQoSSpec(await findQos(bs, name), { force });
  });
}
