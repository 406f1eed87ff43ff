import { type Connection, isNotFound, type ServiceClient } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { CliError, UsageError } from '../runtime/errors.js';
import { defined, forEachName, str } from './common.js';

/*
 * The SDK has no identity proxy yet, so these are plain Keystone v3 calls through the SDK's service client
 * (catalog endpoint, token, retries, typed errors).
 */

type Kind = 'project' | 'user' | 'role' | 'domain';
type Entity = Record<string, unknown> & { id: string };

function identity(conn: Connection): ServiceClient {
  return conn.serviceClient({
    serviceType: 'identity',
    apiVersion: 3,
    skipDiscovery: true,
  });
}

function entity(body: unknown, key: string): Entity {
  const e = (body as Record<string, unknown> | undefined)?.[key];
  if (!e || typeof e !== 'object') throw new CliError(`unexpected identity response: no ${key}`);
  return e as Entity;
}

async function list(c: ServiceClient, kind: Kind, query: Record<string, string | undefined> = {}): Promise<Entity[]> {
  const res = await c.request('GET', `/${kind}s`, { query });
  const items = (res.body as Record<string, unknown> | undefined)?.[`${kind}s`];
  return Array.isArray(items) ? (items as Entity[]) : [];
}

/** By ID first (only a 404 falls through), then by name; OSC's messages on none or several. */
async function find(c: ServiceClient, kind: Kind, nameOrId: string): Promise<Entity> {
  try {
    const res = await c.request('GET', `/${kind}s/${encodeURIComponent(nameOrId)}`);
    return entity(res.body, kind);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const matches = await list(c, kind, { name: nameOrId });
  if (matches.length === 0) throw new CliError(`No ${kind} with a name or ID of '${nameOrId}' exists.`);
  if (matches.length > 1) throw new CliError(`More than one ${kind} exists with the name '${nameOrId}'.`);
  return matches[0] as Entity;
}

function record(e: Entity): Record<string, unknown> {
  const { links: _l, ...rest } = e;
  return sortedRecord(rest);
}

function enabled(o: Record<string, unknown>): boolean | undefined {
  if (o.enable && o.disable) throw new UsageError('--enable and --disable cannot be used together');
  return o.enable ? true : o.disable ? false : undefined;
}

async function domainId(c: ServiceClient, o: Record<string, unknown>): Promise<string | undefined> {
  return typeof o.domain === 'string' ? (await find(c, 'domain', o.domain)).id : undefined;
}

// ---------------------------------------------------------------- projects

export async function projectCreate(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  const o = ctx.opts;
  const body = defined({
    name: String(ctx.args[0]),
    description: str(o.description),
    domain_id: await domainId(c, o),
    enabled: enabled(o),
  });
  const res = await c.request('POST', '/projects', { body: { project: body } });
  ctx.printShow(record(entity(res.body, 'project')));
}

export async function projectList(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  const projects = await list(c, 'project', {
    domain_id: await domainId(c, ctx.opts),
  });
  const long = ctx.opts.long === true;
  ctx.printList({
    headers: long ? ['ID', 'Name', 'Domain ID', 'Description', 'Enabled'] : ['ID', 'Name'],
    rows: projects.map((p) => (long ? [p.id, p.name, p.domain_id, p.description ?? '', p.enabled] : [p.id, p.name])),
  });
}

export async function projectShow(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  ctx.printShow(record(await find(c, 'project', String(ctx.args[0]))));
}

export async function projectSet(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const changes = defined({
    name: str(o.name),
    description: str(o.description),
    enabled: enabled(o),
  });
  if (Object.keys(changes).length === 0)
    throw new UsageError('nothing to change: give --name, --description, --enable or --disable');
  const c = identity(await ctx.conn());
  const p = await find(c, 'project', String(ctx.args[0]));
  await c.request('PATCH', `/projects/${encodeURIComponent(p.id)}`, {
    body: { project: changes },
  });
}

export async function projectDelete(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  await forEachName('project', ctx.args[0] as string[], async (name) => {
    const p = await find(c, 'project', name);
    await c.request('DELETE', `/projects/${encodeURIComponent(p.id)}`);
  });
}

// ---------------------------------------------------------------- users

async function userBody(c: ServiceClient, o: Record<string, unknown>): Promise<Record<string, unknown>> {
  return defined({
    name: str(o.name),
    password: str(o.password),
    email: str(o.email),
    description: str(o.description),
    default_project_id: typeof o.project === 'string' ? (await find(c, 'project', o.project)).id : undefined,
    domain_id: await domainId(c, o),
    enabled: enabled(o),
  });
}

export async function userCreate(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  const body = await userBody(c, { ...ctx.opts, name: String(ctx.args[0]) });
  const res = await c.request('POST', '/users', { body: { user: body } });
  ctx.printShow(record(entity(res.body, 'user')));
}

export async function userList(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  const users = await list(c, 'user', {
    domain_id: await domainId(c, ctx.opts),
  });
  const long = ctx.opts.long === true;
  ctx.printList({
    headers: long ? ['ID', 'Name', 'Project', 'Domain', 'Description', 'Email', 'Enabled'] : ['ID', 'Name'],
    rows: users.map((u) =>
      long
        ? [u.id, u.name, u.default_project_id ?? null, u.domain_id, u.description ?? null, u.email ?? null, u.enabled]
        : [u.id, u.name],
    ),
  });
}

export async function userShow(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  ctx.printShow(record(await find(c, 'user', String(ctx.args[0]))));
}

export async function userSet(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  const changes = await userBody(c, { ...ctx.opts, domain: undefined });
  if (Object.keys(changes).length === 0) throw new UsageError('nothing to change');
  const u = await find(c, 'user', String(ctx.args[0]));
  await c.request('PATCH', `/users/${encodeURIComponent(u.id)}`, {
    body: { user: changes },
  });
}

export async function userDelete(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  await forEachName('user', ctx.args[0] as string[], async (name) => {
    const u = await find(c, 'user', name);
    await c.request('DELETE', `/users/${encodeURIComponent(u.id)}`);
  });
}

// ---------------------------------------------------------------- roles

async function grantPath(c: ServiceClient, ctx: ActionContext): Promise<string> {
  const [role, project, user] = await Promise.all([
    find(c, 'role', String(ctx.args[0])),
    find(c, 'project', String(ctx.opts.project)),
    find(c, 'user', String(ctx.opts.user)),
  ]);
  return `/projects/${encodeURIComponent(project.id)}/users/${encodeURIComponent(user.id)}/roles/${encodeURIComponent(role.id)}`;
}

export async function roleAdd(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  await c.request('PUT', await grantPath(c, ctx));
}

export async function roleRemove(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  await c.request('DELETE', await grantPath(c, ctx));
}

export async function roleList(ctx: ActionContext): Promise<void> {
  const c = identity(await ctx.conn());
  const roles = await list(c, 'role');
  ctx.printList({
    headers: ['ID', 'Name'],
    rows: roles.map((r) => [r.id, r.name]),
  });
}
