import type { ActionContext } from '../runtime/context.js';
import { UsageError } from '../runtime/errors.js';
import { found, num } from './common.js';

/** Option → quota key, as OSC maps its volume quota flags. */
const FLAGS: Record<string, string> = {
  volumes: 'volumes',
  snapshots: 'snapshots',
  gigabytes: 'gigabytes',
  backups: 'backups',
  backupGigabytes: 'backup_gigabytes',
  perVolumeGigabytes: 'per_volume_gigabytes',
  groups: 'groups',
};
/** The keys `--volume-type` narrows to one type (`volumes_<type>`, …). */
const PER_TYPE = new Set(['volumes', 'snapshots', 'gigabytes']);

async function projectId(ctx: ActionContext, nameOrId: string | undefined): Promise<string> {
  const conn = await ctx.conn();
  if (nameOrId === undefined) {
    const p = (await conn.authorize()).projectId;
    if (p) return p;
    throw new UsageError('give a project (the token is not project-scoped)');
  }
  return String((await found('project', nameOrId, () => conn.identity.findProject(nameOrId))).id);
}

export async function show(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const target = ctx.args[0] as string | undefined;
  const bs = (await ctx.conn()).blockStorage;
  if (o.class === true) {
    ctx.printShow(sortKeys((await bs.getQuotaClassSet(target ?? 'default')).limits));
    return;
  }
  const pid = await projectId(ctx, target);
  const q = o.default === true ? await bs.getQuotaSetDefaults(pid) : await bs.getQuotaSet(pid, { usage: o.usage === true });
  const raw = { ...(q.raw as Record<string, unknown>) };
  delete raw.id;
  ctx.printShow(sortKeys(raw));
}

export async function set(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const target = String(ctx.args[0]);
  const type = typeof o.volumeType === 'string' ? o.volumeType : undefined;
  const values: Record<string, number> = {};
  for (const [flag, key] of Object.entries(FLAGS)) {
    const n = num(o[flag]);
    if (n === undefined) continue;
    values[type !== undefined && PER_TYPE.has(key) ? `${key}_${type}` : key] = n;
  }
  if (Object.keys(values).length === 0) return;
  const bs = (await ctx.conn()).blockStorage;
  if (o.class === true) await bs.updateQuotaClassSet(target, values);
  else await bs.updateQuotaSet(await projectId(ctx, target), values);
}

function sortKeys(r: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
