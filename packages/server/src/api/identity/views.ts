import type { Domain as DomainSchema, Project as ProjectSchema, Role as RoleSchema, RoleAssignment as AssignmentSchema, Token, User as UserSchema } from '@cinderbox/api-schema';
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { keystoneTime } from '../../domain/time.js';
import type { Domain, Project, Role, RoleAssignment, TokenInfo, User } from '../../services/identity/types.js';

// Views return the contract's response types, so a field renamed on either side fails the build.
type DomainBody = Static<typeof DomainSchema>;
type ProjectBody = Static<typeof ProjectSchema>;
type UserBody = Static<typeof UserSchema>;
type RoleBody = Static<typeof RoleSchema>;
type AssignmentBody = Static<typeof AssignmentSchema>;
type TokenBody = Static<typeof Token>;

export const v3 = (req: FastifyRequest): string => `${req.cb.baseUrl}/identity/v3`;

/** Keystone's collection envelope; lists are never paged here, so previous/next are always null. */
export function collection(req: FastifyRequest, key: string, items: unknown[]): Record<string, unknown> {
  return { [key]: items, links: { self: `${req.cb.baseUrl}${req.url}`, previous: null, next: null } };
}

export function domainView(req: FastifyRequest, d: Domain): DomainBody {
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    enabled: d.enabled,
    tags: [],
    options: {},
    links: { self: `${v3(req)}/domains/${d.id}` },
  };
}

export function projectView(req: FastifyRequest, p: Project): ProjectBody {
  return {
    ...p.extra,
    id: p.id,
    name: p.name,
    domain_id: p.domainId,
    description: p.description,
    enabled: p.enabled,
    parent_id: p.parentId,
    is_domain: p.isDomain,
    tags: p.tags,
    options: p.options,
    links: { self: `${v3(req)}/projects/${p.id}` },
  };
}

export function userView(req: FastifyRequest, u: User): UserBody {
  const view: UserBody = {
    ...u.extra,
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    enabled: u.enabled,
    password_expires_at: u.passwordExpiresAt === null ? null : keystoneTime(u.passwordExpiresAt),
    options: u.options,
    links: { self: `${v3(req)}/users/${u.id}` },
  };
  // Keystone shows these only once they are set.
  if (u.defaultProjectId !== null) view.default_project_id = u.defaultProjectId;
  if (u.email !== null) view.email = u.email;
  if (u.description !== null) view.description = u.description;
  return view;
}

export function roleView(req: FastifyRequest, r: Role): RoleBody {
  return {
    id: r.id,
    name: r.name,
    domain_id: r.domainId,
    description: r.description,
    options: {},
    links: { self: `${v3(req)}/roles/${r.id}` },
  };
}

export function assignmentView(req: FastifyRequest, a: RoleAssignment, includeNames: boolean): AssignmentBody {
  const ref = (x: { id: string; name: string; domain?: { id: string; name: string } }) =>
    includeNames ? (x.domain ? { id: x.id, name: x.name, domain: x.domain } : { id: x.id, name: x.name }) : { id: x.id };
  return {
    role: ref(a.role),
    user: ref(a.user),
    scope: { project: ref(a.project) },
    links: { assignment: `${v3(req)}/projects/${a.project.id}/users/${a.user.id}/roles/${a.role.id}` },
  };
}

export function tokenView(t: TokenInfo, catalog: TokenBody['catalog'] | null): { token: TokenBody } {
  const token: TokenBody = {
    methods: t.methods,
    user: {
      domain: t.user.domain,
      id: t.user.id,
      name: t.user.name,
      password_expires_at: t.user.passwordExpiresAt === null ? null : keystoneTime(t.user.passwordExpiresAt),
    },
    audit_ids: t.auditIds,
    expires_at: keystoneTime(t.expiresAt),
    issued_at: keystoneTime(t.issuedAt),
  };
  if (t.project) {
    token.project = t.project;
    token.is_domain = false;
    token.roles = t.roles;
    if (catalog) token.catalog = catalog;
  }
  return { token };
}
