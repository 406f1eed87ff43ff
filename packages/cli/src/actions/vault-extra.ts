import type { CbrV3, Vault } from '@cinderbox/sdk';
import type { ActionContext } from '../runtime/context.js';
import { found } from './common.js';
import { findVolume } from './volume.js';

const findVault = (cbr: CbrV3, n: string): Promise<Vault> => found('vault', n, () => cbr.findVault(n));

export async function migrateResource(ctx: ActionContext): Promise<void> {
  const conn = await ctx.conn();
  const [from, to] = await Promise.all([
    findVault(conn.cbr, String(ctx.args[0])),
    findVault(conn.cbr, String(ctx.opts.destination)),
  ]);
  const ids: string[] = [];
  for (const name of ctx.args[1] as string[]) {
    // As remove-resource: an ID the vault holds is taken as is, its volume may be gone.
    if ((from.resources ?? []).some((r) => r.id === name)) ids.push(name);
    else ids.push(String((await findVolume(conn.blockStorage, name)).id));
  }
  const moved = await conn.cbr.migrateResources(from, ids, to);
  ctx.printList({ headers: ['Resource ID'], rows: moved.map((id) => [id]) });
}

export async function tagList(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  const name = ctx.args[0] as string | undefined;
  if (name === undefined) {
    const tags = await cbr.projectVaultTags();
    ctx.printList({ headers: ['Key', 'Values'], rows: tags.map((t) => [t.key, t.values.join(', ')]) });
    return;
  }
  const tags = await cbr.vaultTags(await findVault(cbr, name));
  ctx.printList({ headers: ['Key', 'Value'], rows: tags.map((t) => [t.key, t.value]) });
}

export async function tagAdd(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  const v = await findVault(cbr, String(ctx.args[0]));
  const tags = Object.entries(ctx.opts.tag as Record<string, string>).map(([key, value]) => ({ key, value }));
  await cbr.addVaultTags(v, tags);
}

export async function tagRemove(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  const v = await findVault(cbr, String(ctx.args[0]));
  await cbr.removeVaultTags(v, (ctx.opts.tag as string[]).map((key) => ({ key })));
}
