import type { AuthContext } from '../../domain/auth-context.js';
import { notFound } from '../../domain/errors.js';
import type { Executor } from '../../store/database.js';
import type { DomainTable } from '../../store/schema.js';
import { denied } from './policy.js';
import type { Domain } from './types.js';

export function toDomain(r: DomainTable): Domain {
  return { id: r.id, name: r.name, description: r.description, enabled: r.enabled === 1 };
}

export async function domainById(db: Executor, id: string): Promise<Domain | null> {
  const r = await db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toDomain(r) : null;
}

/** A domain reference as auth bodies give it: `{id}` or `{name}`. */
export async function domainByRef(db: Executor, ref: { id?: string; name?: string }): Promise<Domain | null> {
  if (ref.id !== undefined) return domainById(db, ref.id);
  if (ref.name === undefined) return null;
  const r = await db.selectFrom('domains').selectAll().where('name', '=', ref.name).executeTakeFirst();
  return r ? toDomain(r) : null;
}

/** Only the `default` domain exists; domains are listed and shown, never created. */
export class DomainDirectory {
  constructor(private readonly db: Executor) {}

  async list(caller: AuthContext, filters: { name?: string; enabled?: boolean }): Promise<Domain[]> {
    let q = this.db.selectFrom('domains').selectAll().orderBy('name').orderBy('id');
    if (filters.name !== undefined) q = q.where('name', '=', filters.name);
    if (filters.enabled !== undefined) q = q.where('enabled', '=', filters.enabled ? 1 : 0);
    const rows = (await q.execute()).map(toDomain);
    // A non-admin sees the domains its token names, as Keystone's reader policy allows.
    if (caller.isAdmin) return rows;
    return rows.filter((d) => d.id === caller.userDomainId || d.id === caller.projectDomainId);
  }

  async get(caller: AuthContext, id: string): Promise<Domain> {
    if (!caller.isAdmin && id !== caller.userDomainId && id !== caller.projectDomainId) throw denied('get_domain');
    const d = await domainById(this.db, id);
    if (!d) throw notFound(`Could not find domain: ${id}.`);
    return d;
  }
}
