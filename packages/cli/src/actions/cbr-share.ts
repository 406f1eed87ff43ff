// CBR share members (a backup shared with other projects) and operation logs (`cbr-member`, `cbr-task`).
import type { CbrBackup, CbrV3, Connection, Member, Resource, Task } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { UsageError } from '../runtime/errors.js';
import { defined, forEachName, found, num, str } from './common.js';

const MEMBER_STATUSES = ['accepted', 'pending', 'rejected'] as const;
type MemberStatus = (typeof MEMBER_STATUSES)[number];

function record(r: Resource): Record<string, unknown> {
  const { links: _l, ...rest } = r.raw;
  return sortedRecord(rest);
}

const findBackup = (cbr: CbrV3, n: string): Promise<CbrBackup> => found('backup', n, () => cbr.findBackup(n));

/**
 * A project given by ID is used as is (a member cannot look projects up); anything else is resolved by name
 * through Keystone, which needs a user allowed to list projects.
 */
async function projectId(conn: Connection, nameOrId: string): Promise<string> {
  if (/^[0-9a-f]{32}$/i.test(nameOrId) || /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(nameOrId)) return nameOrId;
  return String((await found('project', nameOrId, () => conn.identity.findProject(nameOrId))).id);
}

const MEMBER_HEADERS = ['ID', 'Project ID', 'Status', 'Vault ID'];
const MEMBER_LONG = ['Backup ID', 'Image ID', 'Created At', 'Updated At'];

function memberRows(members: Member[], long: boolean): unknown[][] {
  return members.map((m) => {
    const base = [m.id, m.destProjectId ?? null, m.status ?? null, m.vaultId ?? null];
    return long ? [...base, m.backupId ?? null, m.imageId ?? null, m.createdAt ?? null, m.updatedAt ?? null] : base;
  });
}

function memberHeaders(long: boolean): string[] {
  return long ? [...MEMBER_HEADERS, ...MEMBER_LONG] : MEMBER_HEADERS;
}

export async function memberAdd(ctx: ActionContext): Promise<void> {
  const conn = await ctx.conn();
  const b = await findBackup(conn.cbr, String(ctx.args[0]));
  const projects: string[] = [];
  for (const p of ctx.args[1] as string[]) projects.push(await projectId(conn, p));
  const added = await conn.cbr.addMembers(b, projects);
  const long = ctx.opts.long === true;
  ctx.printList({ headers: memberHeaders(long), rows: memberRows(added, long) });
}

export async function memberList(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const conn = await ctx.conn();
  const b = await findBackup(conn.cbr, String(ctx.args[0]));
  const destProjectId = typeof o.project === 'string' ? await projectId(conn, o.project) : undefined;
  const members = await conn.cbr
    .members(
      b,
      defined({ status: str(o.status), destProjectId, vaultId: str(o.vault) }),
      defined({ maxItems: num(o.limit), marker: str(o.marker) }),
    )
    .toArray();
  const long = o.long === true;
  ctx.printList({ headers: memberHeaders(long), rows: memberRows(members, long) });
}

export async function memberShow(ctx: ActionContext): Promise<void> {
  const conn = await ctx.conn();
  const b = await findBackup(conn.cbr, String(ctx.args[0]));
  const p = await projectId(conn, String(ctx.args[1]));
  ctx.printShow(record(await found('share member', p, () => conn.cbr.getMember(b, p))));
}

export async function memberSet(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const status = str(o.status) as MemberStatus | undefined;
  if (status === undefined || !MEMBER_STATUSES.includes(status))
    throw new UsageError(`--status must be one of ${MEMBER_STATUSES.join(', ')}`);
  const conn = await ctx.conn();
  const b = await findBackup(conn.cbr, String(ctx.args[0]));
  const p = await projectId(conn, String(ctx.args[1]));
  // The receiving project accepts into one of its own vaults.
  const vaultId =
    typeof o.vault === 'string' ? String((await found('vault', o.vault, () => conn.cbr.findVault(o.vault as string))).id) : undefined;
  if (status === 'accepted' && vaultId === undefined) throw new UsageError('--status accepted needs --vault');
  const m = await conn.cbr.updateMember(b, p, defined({ status, vaultId }) as { status: MemberStatus; vaultId?: string });
  ctx.printShow(record(m));
}

export async function memberDelete(ctx: ActionContext): Promise<void> {
  const conn = await ctx.conn();
  const b = await findBackup(conn.cbr, String(ctx.args[0]));
  await forEachName('share member', ctx.args[1] as string[], async (name) => {
    await conn.cbr.deleteMember(b, await projectId(conn, name), { ignoreMissing: false });
  });
}

// ---------------------------------------------------------------- operation logs

const TASK_HEADERS = ['ID', 'Operation Type', 'Status', 'Vault Name', 'Started At', 'Ended At'];
const TASK_LONG = ['Vault ID', 'Checkpoint ID', 'Policy ID', 'Progress', 'Error'];

function taskRow(t: Task, long: boolean): unknown[] {
  const base = [t.id, t.operationType ?? null, t.status ?? null, t.vaultName ?? null, t.startedAt ?? null, t.endedAt ?? null];
  if (!long) return base;
  const error = t.errorInfo?.message ? `${t.errorInfo.code ?? ''} ${t.errorInfo.message}`.trim() : null;
  return [...base, t.vaultId ?? null, t.checkpointId ?? null, t.policyId ?? null, t.extraInfo?.common?.progress ?? null, error];
}

export async function taskList(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const cbr = (await ctx.conn()).cbr;
  const vaultId = typeof o.vault === 'string' ? String((await found('vault', o.vault, () => cbr.findVault(o.vault as string))).id) : undefined;
  const tasks = await cbr
    .tasks(
      defined({
        operationType: str(o.operationType),
        status: str(o.status),
        vaultId,
        resourceId: str(o.volume),
        startTime: str(o.startTime),
        endTime: str(o.endTime),
      }),
      defined({ maxItems: num(o.limit), marker: str(o.marker) }),
    )
    .toArray();
  const long = o.long === true;
  ctx.printList({ headers: long ? [...TASK_HEADERS, ...TASK_LONG] : TASK_HEADERS, rows: tasks.map((t) => taskRow(t, long)) });
}

export async function taskShow(ctx: ActionContext): Promise<void> {
  const cbr = (await ctx.conn()).cbr;
  const id = String(ctx.args[0]);
  ctx.printShow(record(await found('operation log', id, () => cbr.getTask(id))));
}
