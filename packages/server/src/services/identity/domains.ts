import type { AuthContext } from '../../domain/auth-context.js';
import { notFound } from '../../domain/errors.js';
import type { DomainRecord } from '../../domain/identity.js';
import type { IdentityStore } from '../../domain/ports/identity-store.js';
import type { MetadataStore, Scope } from '../../domain/ports/metadata-store.js';
import { denied } from './policy.js';
import type { Domain } from './types.js';

export function toDomain(r: DomainRecord): Domain {
  return { id: r.id, name: r.name, description: r.description, enabled: r.enabled };
}

/** A domain reference as auth bodies give it: `{id}` or `{name}`. */
export async function domainByRef(repo: IdentityStore, scope: Scope, ref: { id?: string; name?: string }): Promise<DomainRecord | null> {
  if (ref.id !== undefined) return repo.domains.byId(scope, ref.id);
  if (ref.name === undefined) return null;
  return repo.domains.byName(scope, ref.name);
}

/** Only the `default` domain exists; domains are listed and shown, never created. */
export class DomainDirectory {
  constructor(
    private readonly store: MetadataStore,
    private readonly repo: IdentityStore,
  ) {}

  async list(caller: AuthContext, filters: { name?: string; enabled?: boolean }): Promise<Domain[]> {
    const rows = (await this.repo.domains.list(this.store.root, filters)).map(toDomain);
    // A non-admin sees the domains its token names, as Keystone's reader policy allows.
    if (caller.isAdmin) return rows;
    return rows.filter((d) => d.id === caller.userDomainId || d.id === caller.projectDomainId);
  }

  async get(caller: AuthContext, id: string): Promise<Domain> {
    if (!caller.isAdmin && id !== caller.userDomainId && id !== caller.projectDomainId) throw denied('get_domain');
    const d = await this.repo.domains.byId(this.store.root, id);
    if (!d) throw notFound(`Could not find domain: ${id}.`);
    return toDomain(d);
  }
}
