import type { CbrV3, Vault } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { found } from './common.js';

const findVault = (cbr: CbrV3, n: string): Promise<Vault> => found('vault', n, () => cbr.findVault(n));

async function destination(cbr: CbrV3, o: Record<string, unknown>) {
  const vault = await findVault(cbr, String(o.vault));
  return {
    destinationRegion: String(o.region),
    destinationVaultId: String(vault.id),
    destinationProjectId: typeof o.project === 'string' ? o.project : String(vault.projectId ?? ''),
  };
}

export async function replicationCapabilities(ctx: ActionContext): Promise<void> {
  const regions = await (await ctx.conn()).cbr.replicationCapabilities();
  ctx.printList({
    headers: ['Name', 'Replication Destinations'],
    rows: regions.map((r) => [r.name, r.replicationDestinations.join(', ')]),
  });
}

export async function replicateBackup(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  const o = ctx.opts;
  const backup = await found('backup', String(ctx.args[0]), () => cbr.findBackup(String(ctx.args[0])));
  const r = await cbr.replicateBackup(backup, {
    ...(await destination(cbr, o)),
    ...(typeof o.name === 'string' ? { name: o.name } : {}),
    ...(typeof o.description === 'string' ? { description: o.description } : {}),
  });
  ctx.printShow(sortedRecord({ ...r }));
}

export async function replicateVault(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  const source = await findVault(cbr, String(ctx.args[0]));
  const r = await cbr.replicateCheckpoint({ vaultId: String(source.id), ...(await destination(cbr, ctx.opts)) });
  ctx.printShow(sortedRecord({ ...r, backups: r.backups.map((b) => b.backupId) }));
}
