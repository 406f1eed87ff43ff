import type { IdentityV3, Resource } from '@cinderbox/sdk';
import { sortedRecord } from '../output/format.js';
import type { ActionContext } from '../runtime/context.js';
import { UsageError } from '../runtime/errors.js';
import { defined, forEachName, found, str } from './common.js';

function record(r: Resource): Record<string, unknown> {
  const { links: _l, password: _p, ...rest } = r.raw;
  return sortedRecord(rest);
}

function enabled(o: Record<string, unknown>): boolean | undefined {
  if (o.enable && o.disable) throw new UsageError('--enable and --disable cannot be used together');
  return o.enable ? true : o.disable ? false : undefined;
}

function idOf(r: Resource): string {
  return String(r.get('id'));
}

const findProject = (id: IdentityV3, n: string) => found('project', n, () => id.findProject(n));
const findUser = (id: IdentityV3, n: string) => found('user', n, () => id.findUser(n));
const findRole = (id: IdentityV3, n: string) => found('role', n, () => id.findRole(n));

async function domainId(id: IdentityV3, o: Record<string, unknown>): Promise<string | undefined> {
  return typeof o.domain === 'string' ? idOf(await found('domain', o.domain, () => id.findDomain(o.domain as string))) : undefined;
}

// ---------------------------------------------------------------- projects

export async function projectCreate(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  const o = ctx.opts;
  const p = await id.createProject(
    defined({
      name: String(ctx.args[0]),
      description: str(o.description),
      domainId: await domainId(id, o),
      isEnabled: enabled(o),
    }),
  );
  ctx.printShow(record(p));
}

export async function projectList(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  const projects = await id.projects(defined({ domainId: await domainId(id, ctx.opts) })).toArray();
  const long = ctx.opts.long === true;
  ctx.printList({
    headers: long ? ['ID', 'Name', 'Domain ID', 'Description', 'Enabled'] : ['ID', 'Name'],
    rows: projects.map((p) =>
      long ? [p.id, p.name, p.domainId ?? null, p.description ?? '', p.isEnabled ?? null] : [p.id, p.name],
    ),
  });
}

export async function projectShow(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  ctx.printShow(record(await findProject(id, String(ctx.args[0]))));
}

export async function projectSet(ctx: ActionContext): Promise<void> {
  const o = ctx.opts;
  const changes = defined({ name: str(o.name), description: str(o.description), isEnabled: enabled(o) });
  if (Object.keys(changes).length === 0)
    throw new UsageError('nothing to change: give --name, --description, --enable or --disable');
  const id = (await ctx.conn()).identity;
  const p = await findProject(id, String(ctx.args[0]));
  await id.updateProject(p, changes);
}

export async function projectDelete(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  await forEachName('project', ctx.args[0] as string[], async (name) => {
    await id.deleteProject(await findProject(id, name));
  });
}

// ---------------------------------------------------------------- users

async function userAttrs(id: IdentityV3, o: Record<string, unknown>): Promise<Record<string, unknown>> {
  return defined({
    name: str(o.name),
    password: str(o.password),
    email: str(o.email),
    description: str(o.description),
    defaultProjectId: typeof o.project === 'string' ? idOf(await findProject(id, o.project)) : undefined,
    domainId: await domainId(id, o),
    isEnabled: enabled(o),
  });
}

export async function userCreate(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  const u = await id.createUser(await userAttrs(id, { ...ctx.opts, name: String(ctx.args[0]) }));
  ctx.printShow(record(u));
}

export async function userList(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  const users = await id.users(defined({ domainId: await domainId(id, ctx.opts) })).toArray();
  const long = ctx.opts.long === true;
  ctx.printList({
    headers: long ? ['ID', 'Name', 'Project', 'Domain', 'Description', 'Email', 'Enabled'] : ['ID', 'Name'],
    rows: users.map((u) =>
      long
        ? [
            u.id,
            u.name,
            u.defaultProjectId ?? null,
            u.domainId ?? null,
            u.description ?? null,
            u.email ?? null,
            u.isEnabled ?? null,
          ]
        : [u.id, u.name],
    ),
  });
}

export async function userShow(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  ctx.printShow(record(await findUser(id, String(ctx.args[0]))));
}

export async function userSet(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  const changes = await userAttrs(id, { ...ctx.opts, domain: undefined });
  if (Object.keys(changes).length === 0) throw new UsageError('nothing to change');
  const u = await findUser(id, String(ctx.args[0]));
  await id.updateUser(u, changes);
}

export async function userDelete(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  await forEachName('user', ctx.args[0] as string[], async (name) => {
    await id.deleteUser(await findUser(id, name));
  });
}

// ---------------------------------------------------------------- roles

async function grant(ctx: ActionContext) {
  const id = (await ctx.conn()).identity;
  const [role, project, user] = await Promise.all([
    findRole(id, String(ctx.args[0])),
    findProject(id, String(ctx.opts.project)),
    findUser(id, String(ctx.opts.user)),
  ]);
  return { id, role, project, user };
}

export async function roleAdd(ctx: ActionContext): Promise<void> {
  const g = await grant(ctx);
  await g.id.grantProjectRole(g.project, g.user, g.role);
}

export async function roleRemove(ctx: ActionContext): Promise<void> {
  const g = await grant(ctx);
  await g.id.revokeProjectRole(g.project, g.user, g.role);
}

export async function roleList(ctx: ActionContext): Promise<void> {
  const id = (await ctx.conn()).identity;
  const roles = await id.roles().toArray();
  ctx.printList({ headers: ['ID', 'Name'], rows: roles.map((r) => [r.id, r.name]) });
}
