import type { CbrBackup, CbrV3, Policy, Resource, Vault } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { CliError, UsageError } from '../runtime/errors.js';
import { defined, forEachName, found, num, str } from './common.js';
import { findVolume } from './volume.js';

const VOLUME_TYPE = 'OS::Cinder::Volume';

function record(r: Resource): Record<string, unknown> {
  const { links: _l, ...rest } = r.raw;
  return sortedRecord(rest);
}

const findVault = (cbr: CbrV3, n: string): Promise<Vault> => found('vault', n, () => cbr.findVault(n));
const findPolicy = (cbr: CbrV3, n: string): Promise<Policy> => found('policy', n, () => cbr.findPolicy(n));
const findBackup = (cbr: CbrV3, n: string): Promise<CbrBackup> => found('backup', n, () => cbr.findBackup(n));

function flag(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

// ---------------------------------------------------------------- vaults

/** `--bind-tag key=value` (repeatable) → `{tags: [{key, value}]}`; `key` alone or `key=` matches any value. */
function bindRules(v: unknown): { tags: { key: string; value: string }[] } | undefined {
  if (!Array.isArray(v)) return undefined;
  return {
    tags: (v as string[]).map((t) => {
      const i = t.indexOf('=');
      return i < 0 ? { key: t, value: '' } : { key: t.slice(0, i), value: t.slice(i + 1) };
    }),
  };
}

export async function vaultCreate(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const resources = [];
  for (const name of (o.resource as string[] | undefined) ?? []) {
    resources.push({ id: String((await findVolume(conn.blockStorage, name)).id), type: VOLUME_TYPE });
  }
  const backupPolicyId = typeof o.policy === 'string' ? (await findPolicy(conn.cbr, o.policy)).id : undefined;
  const v = await conn.cbr.createVault(
    defined({
      name: String(ctx.args[0]),
      description: str(o.description),
      resources,
      backupPolicyId,
      autoBind: o.autoBind === true ? true : undefined,
      bindRules: bindRules(o.bindTag),
      autoExpand: o.autoExpand === true ? true : undefined,
      backupTarget: str(o.backupTarget),
      lockDays: num(o.lockDays),
      billing: {
        consistentLevel: str(o.consistentLevel) ?? 'crash_consistent',
        objectType: 'disk',
        protectType: str(o.protectType) ?? 'backup',
        size: num(o.size),
      },
    }),
  );
  // The policy binding is not part of the create response: show the vault as it now is.
  ctx.printShow(record(await conn.cbr.getVault(String(v.id))));
}

export async function vaultList(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const policyId = typeof o.policy === 'string' ? (await findPolicy(conn.cbr, o.policy)).id : undefined;
  const resourceIds = typeof o.volume === 'string' ? (await findVolume(conn.blockStorage, o.volume)).id : undefined;
  const vaults = await conn.cbr
    .vaults(
      defined({ name: str(o.name), policyId, resourceIds }),
      defined({ maxItems: num(o.limit), marker: str(o.marker) }),
    )
    .toArray();
  const long = o.long === true;
  const headers = ['ID', 'Name', 'Type', 'Size', 'Used', 'Resources'];
  ctx.printList({
    headers: long ? [...headers, 'Description', 'Policy', 'Auto Bind', 'Auto Expand', 'Created At'] : headers,
    rows: vaults.map((v) => {
      const base = [
        v.id,
        v.name ?? null,
        v.billing?.objectType ?? null,
        v.billing?.size ?? null,
        v.billing?.used ?? null,
        (v.resources ?? []).length,
      ];
      return long
        ? [...base, v.description ?? null, v.raw.policy_id ?? v.backupPolicyId ?? null, v.autoBind ?? null, v.autoExpand ?? null, v.createdAt ?? null]
        : base;
    }),
  });
}

export async function vaultShow(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  ctx.printShow(record(await findVault(cbr, String(ctx.args[0]))));
}

export async function vaultSet(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const changes: Record<string, unknown> = defined({
    name: str(o.name),
    autoBind: flag(o.autoBind),
    autoExpand: flag(o.autoExpand),
    bindRules: o.bindTag === false ? {} : bindRules(o.bindTag),
  });
  if (typeof o.size === 'number') changes.billing = { size: o.size };
  if (Object.keys(changes).length === 0)
    throw new UsageError('nothing to change: give --name, --size, --[no-]auto-bind, --[no-]bind-tag or --[no-]auto-expand');
  const cbr = (await ctx.conn()).cbr;
  const v = await findVault(cbr, String(ctx.args[0]));
  await cbr.updateVault(String(v.id), changes);
  ctx.printShow(record(await cbr.getVault(String(v.id))));
}

export async function vaultDelete(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  await forEachName('vault', ctx.args[0] as string[], async (name) => {
    await cbr.deleteVault(await findVault(cbr, name));
  });
}

export async function vaultAddResource(ctx: ActionContext): Promise<void> {
  const conn = await ctx.conn();
  const v = await findVault(conn.cbr, String(ctx.args[0]));
  const resources = [];
  for (const name of ctx.args[1] as string[]) {
    resources.push({ id: String((await findVolume(conn.blockStorage, name)).id), type: VOLUME_TYPE });
  }
  const added = await conn.cbr.associateResources(v, resources);
  ctx.printList({ headers: ['Resource ID'], rows: added.map((id) => [id]) });
}

export async function vaultRemoveResource(ctx: ActionContext): Promise<void> {
  const conn = await ctx.conn();
  const v = await findVault(conn.cbr, String(ctx.args[0]));
  const ids: string[] = [];
  for (const name of ctx.args[1] as string[]) {
    // A vault may still list a volume that has since been deleted: an ID the vault holds is taken as is.
    if ((v.resources ?? []).some((r) => r.id === name)) ids.push(name);
    else ids.push(String((await findVolume(conn.blockStorage, name)).id));
  }
  const removed = await conn.cbr.dissociateResources(v, ids);
  ctx.printList({ headers: ['Resource ID'], rows: removed.map((id) => [id]) });
}

async function policyBinding(ctx: ActionContext, bind: boolean): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  const [v, p] = await Promise.all([findVault(cbr, String(ctx.args[0])), findPolicy(cbr, String(ctx.args[1]))]);
  const r = bind ? await cbr.bindPolicy(v, p) : await cbr.unbindPolicy(v, p);
  ctx.printShow({ policy_id: r.policyId, vault_id: r.vaultId });
}

export function vaultAssociatePolicy(ctx: ActionContext): Promise<void> {
  return policyBinding(ctx, true);
}

export function vaultDissociatePolicy(ctx: ActionContext): Promise<void> {
  return policyBinding(ctx, false);
}

// ---------------------------------------------------------------- policies

function policyChanges(o: Record<string, unknown>): Record<string, unknown> {
  if (o.enable && o.disable) throw new UsageError('--enable and --disable cannot be used together');
  const definition = defined({
    maxBackups: num(o.maxBackups),
    retentionDurationDays: num(o.retentionDays),
    dayBackups: num(o.dayBackups),
    weekBackups: num(o.weekBackups),
    monthBackups: num(o.monthBackups),
    yearBackups: num(o.yearBackups),
    timezone: str(o.timezone),
  });
  const patterns = o.pattern as string[] | undefined;
  return defined({
    name: str(o.name),
    enabled: o.enable ? true : o.disable ? false : undefined,
    operationDefinition: Object.keys(definition).length > 0 ? definition : undefined,
    trigger: patterns ? { properties: { pattern: patterns } } : undefined,
  });
}

export async function policyCreate(ctx: ActionContext): Promise<void> {
  const attrs = policyChanges({ ...ctx.opts, name: String(ctx.args[0]) });
  if (!attrs.trigger) throw new UsageError('give the schedule with --pattern (e.g. FREQ=DAILY;BYHOUR=2;BYMINUTE=0)');
  if (!attrs.operationDefinition)
    throw new UsageError('give a retention rule: --max-backups, --retention-days or the --*-backups counts');
  const cbr = (await ctx.conn()).cbr;
  const p = await cbr.createPolicy({ operationType: 'backup', ...attrs });
  ctx.printShow(record(p));
}

export async function policyList(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const cbr = (await ctx.conn()).cbr;
  const vaultId = typeof o.vault === 'string' ? (await findVault(cbr, o.vault)).id : undefined;
  const policies = await cbr.policies(defined({ vaultId })).toArray();
  const long = o.long === true;
  const headers = ['ID', 'Name', 'Enabled', 'Operation Type', 'Pattern'];
  ctx.printList({
    headers: long ? [...headers, 'Max Backups', 'Retention Days', 'Vaults'] : headers,
    rows: policies.map((p) => {
      const base = [p.id, p.name ?? null, p.enabled ?? null, p.operationType ?? null, p.trigger?.properties.pattern ?? []];
      return long
        ? [
            ...base,
            p.operationDefinition?.maxBackups ?? null,
            p.operationDefinition?.retentionDurationDays ?? null,
            (p.associatedVaults ?? []).map((v) => v.vaultId),
          ]
        : base;
    }),
  });
}

export async function policyShow(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  ctx.printShow(record(await findPolicy(cbr, String(ctx.args[0]))));
}

export async function policySet(ctx: ActionContext): Promise<void> {
  const changes = policyChanges(ctx.opts);
  if (Object.keys(changes).length === 0)
    throw new UsageError('nothing to change: give --name, --pattern, a retention option, --enable or --disable');
  const cbr = (await ctx.conn()).cbr;
  const p = await findPolicy(cbr, String(ctx.args[0]));
  await cbr.updatePolicy(String(p.id), changes);
  ctx.printShow(record(await cbr.getPolicy(String(p.id))));
}

export async function policyDelete(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  await forEachName('policy', ctx.args[0] as string[], async (name) => {
    await cbr.deletePolicy(await findPolicy(cbr, name));
  });
}

// ---------------------------------------------------------------- checkpoints

export async function checkpointCreate(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const v = await findVault(conn.cbr, String(ctx.args[0]));
  let resources: string[] | undefined;
  if (Array.isArray(o.resource)) {
    resources = [];
    for (const name of o.resource as string[]) resources.push(String((await findVolume(conn.blockStorage, name)).id));
  }
  let cp = await conn.cbr.createCheckpoint({
    vaultId: String(v.id),
    parameters: defined({
      name: str(o.name),
      description: str(o.description),
      incremental: o.full === true ? false : undefined,
      resources,
    }),
  });
  if (o.wait) cp = await ctx.waitFor((w) => conn.cbr.waitForCheckpoint(cp, w), `checkpoint ${cp.id}`);
  ctx.printShow(record(cp));
}

export async function checkpointShow(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  const id = String(ctx.args[0]);
  ctx.printShow(record(await found('checkpoint', id, () => cbr.getCheckpoint(id))));
}

// ---------------------------------------------------------------- backups

export async function backupList(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const cbr = (await ctx.conn()).cbr;
  const vaultId = typeof o.vault === 'string' ? (await findVault(cbr, o.vault)).id : undefined;
  const backups = await cbr
    .backups(
      defined({
        vaultId,
        checkpointId: str(o.checkpoint),
        resourceId: str(o.volume),
        name: str(o.name),
        status: str(o.status),
      }),
      defined({ maxItems: num(o.limit), marker: str(o.marker) }),
    )
    .toArray();
  const long = o.long === true;
  const headers = ['ID', 'Name', 'Status', 'Volume', 'Volume Name', 'Size', 'Protected At'];
  ctx.printList({
    headers: long ? [...headers, 'Vault', 'Checkpoint', 'Incremental', 'Auto Trigger'] : headers,
    rows: backups.map((b) => {
      const base = [
        b.id,
        b.name ?? null,
        b.status ?? null,
        b.resourceId ?? null,
        b.resourceName ?? null,
        b.resourceSize ?? null,
        b.protectedAt ?? null,
      ];
      const ext = (b.raw.extend_info ?? {}) as Record<string, unknown>;
      return long
        ? [...base, b.vaultId ?? null, b.checkpointId ?? null, ext.incremental ?? null, ext.auto_trigger ?? null]
        : base;
    }),
  });
}

export async function backupShow(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  ctx.printShow(record(await findBackup(cbr, String(ctx.args[0]))));
}

export async function backupDelete(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  await forEachName('backup', ctx.args[0] as string[], async (name) => {
    await cbr.deleteBackup(await findBackup(cbr, name));
  });
}

export async function backupRestore(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const b = await findBackup(conn.cbr, String(ctx.args[0]));
  const volumeId = typeof o.volume === 'string' ? String((await findVolume(conn.blockStorage, o.volume)).id) : undefined;
  await conn.cbr.restoreData(b, defined({ volumeId }));
  if (o.wait) {
    const targetId = volumeId ?? b.resourceId;
    if (!targetId) throw new CliError(`backup ${b.id} names no volume to wait for`);
    const target = await conn.blockStorage.getVolume(targetId);
    await ctx.waitFor(
      (w) => conn.blockStorage.waitForStatus(target, w),
      `restoring backup ${b.id} onto volume ${targetId}`,
    );
  }
}
