import type { ActionContext } from '../runtime/context.js';
import { findVolume } from './volume.js';

/** OSC's `volume migrate --host` (admin): accepted at once; the volume's migration status tells how it ends. */
export async function migrate(ctx: ActionContext): Promise<void> {
  const bs = (await ctx.conn()).blockStorage;
  const v = await findVolume(bs, String(ctx.args[0]), true);
  await bs.migrateVolume(v.id as string, {
    host: String(ctx.opts.host),
    ...(ctx.opts.forceHostCopy ? { forceHostCopy: true } : {}),
    ...(ctx.opts.lockVolume ? { lockVolume: true } : {}),
  });
}
