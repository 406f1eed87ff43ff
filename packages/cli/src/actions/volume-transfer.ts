import type { BlockStorageV3, Transfer } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { defined, forEachName, found, str } from './common.js';
import { findVolume } from './volume.js';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** By ID, else by name among the project's open requests (there is no server-side name filter). */
export function findTransfer(bs: BlockStorageV3, nameOrId: string): Promise<Transfer> {
  return found('transfer request', nameOrId, async () => {
    if (UUID.test(nameOrId)) return bs.getTransfer(nameOrId);
    const matches = (await bs.transfers({ details: false }).toArray()).filter((t) => t.name === nameOrId);
    if (matches.length > 1) throw new Error(`More than one transfer request exists with the name '${nameOrId}'.`);
    return matches[0];
  });
}

/** OSC's fields: the server body without links. */
function transferRecord(t: Transfer): Record<string, unknown> {
  const { links: _l, ...rest } = t.raw;
  return sortedRecord(rest);
}

export async function create(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const bs = (await ctx.conn()).blockStorage;
  const vol = await findVolume(bs, String(ctx.args[0]));
  // commander sets `snapshots` false for --no-snapshots and true for --snapshots; neither leaves it true by default.
  const t = await bs.createTransfer(
    defined({ volumeId: vol.id, name: str(o.name), noSnapshots: o.snapshots === false ? true : undefined }),
  );
  ctx.printShow(transferRecord(t));
}

export async function list(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const all = await bs.transfers(defined({ details: true, allProjects: ctx.opts.allProjects === true ? true : undefined })).toArray();
  ctx.printList({ headers: ['ID', 'Name', 'Volume'], rows: all.map((t) => [t.id, t.name ?? null, t.volumeId]) });
}

export async function show(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  ctx.printShow(transferRecord(await findTransfer(bs, String(ctx.args[0]))));
}

export async function accept(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const t = await bs.acceptTransfer(String(ctx.args[0]), String(ctx.opts.authKey));
  ctx.printShow(transferRecord(t));
}

export async function remove(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  await forEachName('transfer request', ctx.args[0] as string[], async (name) => {
    await bs.deleteTransfer(await findTransfer(bs, name));
  });
}
