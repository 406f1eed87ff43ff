/** The Keystone v3 subset cinderbox serves under `/identity`, as the contract states it (paths below that mount). */
import { Type, type TSchema } from 'typebox';
import { nullable, pascal, titled } from '../block-storage/common.js';
import type { HttpMethod, Operation, OperationResponse } from '../operation.js';
import { authBody, passwordChange, projectCreate, projectUpdate, userCreate, userUpdate } from './requests.js';

const str = () => Type.String();
const nstr = () => nullable(Type.String());
const opt = Type.Optional;
const selfLink = () => Type.Object({ self: str() });
const idName = () => Type.Object({ id: str(), name: opt(str()) });

export const Domain = Type.Object(
  { id: str(), name: str(), description: nstr(), enabled: Type.Boolean(), tags: Type.Array(str()), options: Type.Object({}), links: selfLink() },
  { title: 'Domain' },
);

export const Project = Type.Object(
  {
    id: str(),
    name: str(),
    domain_id: str(),
    description: nstr(),
    enabled: Type.Boolean(),
    parent_id: nstr(),
    is_domain: Type.Boolean(),
    tags: Type.Array(str()),
    options: Type.Object({}),
    links: selfLink(),
  },
  { title: 'Project', description: 'Keys the client set that Keystone does not model come back as extra attributes.' },
);

export const User = Type.Object(
  {
    id: str(),
    name: str(),
    domain_id: str(),
    enabled: Type.Boolean(),
    password_expires_at: nstr(),
    options: Type.Object({}),
    links: selfLink(),
    default_project_id: opt(str()),
    email: opt(str()),
    description: opt(str()),
  },
  { title: 'User' },
);

export const Role = Type.Object(
  { id: str(), name: str(), domain_id: nstr(), description: nstr(), options: Type.Object({}), links: selfLink() },
  { title: 'Role' },
);

export const Token = Type.Object(
  {
    methods: Type.Array(str()),
    user: Type.Object({ domain: idName(), id: str(), name: str(), password_expires_at: nstr() }),
    audit_ids: Type.Array(str()),
    expires_at: str(),
    issued_at: str(),
    project: opt(Type.Object({ id: str(), name: str(), domain: idName() })),
    is_domain: opt(Type.Boolean()),
    roles: opt(Type.Array(idName())),
    catalog: opt(Type.Array(Type.Object({ type: str(), id: opt(str()), name: opt(str()), endpoints: Type.Array(Type.Object({})) }))),
  },
  { title: 'Token' },
);

export const RoleAssignment = Type.Object(
  {
    role: idName(),
    user: idName(),
    scope: Type.Object({ project: idName() }),
    links: Type.Object({ assignment: str() }),
  },
  { title: 'RoleAssignment' },
);

const IdentityVersion = Type.Object(
  { id: str(), status: str(), updated: str(), links: Type.Array(Type.Object({ rel: str(), href: str() })), 'media-types': opt(Type.Array(Type.Object({}))) },
  { title: 'IdentityVersion' },
);

const collectionLinks = () => Type.Object({ self: str(), previous: nstr(), next: nstr() });
const list = (key: string, item: TSchema) => Type.Object({ [key]: Type.Array(item), links: collectionLinks() });
const one = (key: string, item: TSchema) => Type.Object({ [key]: item });

const res = (status: number, body?: TSchema, description?: string): OperationResponse => ({
  status,
  description: description ?? (status === 201 ? 'Created' : status === 204 ? 'No content' : status === 300 ? 'Multiple choices' : 'OK'),
  ...(body ? { body } : {}),
});

function op(id: string, method: HttpMethod, path: string, tag: string, summary: string, responses: OperationResponse[], extra: { body?: TSchema; query?: TSchema } = {}): Operation {
  const body = extra.body ? { body: titled(`${pascal(id)}Body`, extra.body) } : {};
  return { api: 'identity', id, method, path, summary, tag, responses, ...extra, ...body };
}

const pub = (...args: Parameters<typeof op>): Operation => ({ ...op(...args), public: true });

const nameQuery = Type.Object({ name: opt(str()), domain_id: opt(str()), enabled: opt(str()) });

export const identityOperations: Operation[] = [
  pub('identityVersions', 'GET', '/', 'Versions', 'List the identity API versions (also answered without the slash)', [res(300, Type.Object({ versions: Type.Object({ values: Type.Array(IdentityVersion) }) }))]),
  pub('identityVersionV3', 'GET', '/v3/', 'Versions', 'Show the v3 version document (also answered at /v3)', [res(200, Type.Object({ version: IdentityVersion }))]),
  pub('tokenIssue', 'POST', '/v3/auth/tokens', 'Tokens', 'Issue a token (password or token method); the token is in X-Subject-Token', [res(201, one('token', Token))], { body: authBody, query: Type.Object({ nocatalog: opt(str()) }) }),
  op('tokenValidate', 'GET', '/v3/auth/tokens', 'Tokens', 'Validate the token in X-Subject-Token', [res(200, one('token', Token))], { query: Type.Object({ nocatalog: opt(str()), allow_expired: opt(str()) }) }),
  op('tokenRevoke', 'DELETE', '/v3/auth/tokens', 'Tokens', 'Revoke the token in X-Subject-Token', [res(204)]),
  op('authCatalog', 'GET', '/v3/auth/catalog', 'Tokens', 'The service catalog of the caller’s token', [res(200, Type.Object({ catalog: Type.Array(Type.Object({})), links: selfLink() }))]),
  op('authProjects', 'GET', '/v3/auth/projects', 'Tokens', 'Projects the caller may scope to', [res(200, list('projects', Project))]),
  op('authDomains', 'GET', '/v3/auth/domains', 'Tokens', 'Domains the caller may scope to (none)', [res(200, list('domains', Domain))]),
  op('authSystem', 'GET', '/v3/auth/system', 'Tokens', 'System scopes the caller may use (none)', [res(200, list('system', Type.Object({})))]),
  op('domainList', 'GET', '/v3/domains', 'Domains', 'List domains', [res(200, list('domains', Domain))], { query: nameQuery }),
  op('domainShow', 'GET', '/v3/domains/{domain_id}', 'Domains', 'Show a domain', [res(200, one('domain', Domain))]),
  op('projectCreate', 'POST', '/v3/projects', 'Projects', 'Create a project', [res(201, one('project', Project))], { body: projectCreate }),
  op('projectList', 'GET', '/v3/projects', 'Projects', 'List projects', [res(200, list('projects', Project))], { query: nameQuery }),
  op('projectShow', 'GET', '/v3/projects/{project_id}', 'Projects', 'Show a project', [res(200, one('project', Project))]),
  op('projectUpdate', 'PATCH', '/v3/projects/{project_id}', 'Projects', 'Update a project', [res(200, one('project', Project))], { body: projectUpdate }),
  op('projectDelete', 'DELETE', '/v3/projects/{project_id}', 'Projects', 'Delete a project', [res(204)]),
  op('userCreate', 'POST', '/v3/users', 'Users', 'Create a user', [res(201, one('user', User))], { body: userCreate }),
  op('userList', 'GET', '/v3/users', 'Users', 'List users', [res(200, list('users', User))], { query: nameQuery }),
  op('userShow', 'GET', '/v3/users/{user_id}', 'Users', 'Show a user', [res(200, one('user', User))]),
  op('userUpdate', 'PATCH', '/v3/users/{user_id}', 'Users', 'Update a user', [res(200, one('user', User))], { body: userUpdate }),
  op('userDelete', 'DELETE', '/v3/users/{user_id}', 'Users', 'Delete a user', [res(204)]),
  op('userPasswordChange', 'POST', '/v3/users/{user_id}/password', 'Users', 'Change one’s own password', [res(204)], { body: passwordChange }),
  op('userProjects', 'GET', '/v3/users/{user_id}/projects', 'Users', 'List the projects a user has a role on', [res(200, list('projects', Project))]),
  op('roleList', 'GET', '/v3/roles', 'Roles', 'List roles', [res(200, list('roles', Role))], { query: Type.Object({ name: opt(str()) }) }),
  op('roleShow', 'GET', '/v3/roles/{role_id}', 'Roles', 'Show a role', [res(200, one('role', Role))]),
  op('grantCreate', 'PUT', '/v3/projects/{project_id}/users/{user_id}/roles/{role_id}', 'Roles', 'Grant a role to a user on a project', [res(204)]),
  op('grantCheck', 'GET', '/v3/projects/{project_id}/users/{user_id}/roles/{role_id}', 'Roles', 'Check a grant (204 when held)', [res(204)]),
  op('grantRevoke', 'DELETE', '/v3/projects/{project_id}/users/{user_id}/roles/{role_id}', 'Roles', 'Revoke a grant', [res(204)]),
  op('grantList', 'GET', '/v3/projects/{project_id}/users/{user_id}/roles', 'Roles', 'List a user’s roles on a project', [res(200, list('roles', Role))]),
  op('roleAssignmentList', 'GET', '/v3/role_assignments', 'Roles', 'List role assignments', [res(200, list('role_assignments', RoleAssignment))], {
    query: Type.Object({ 'user.id': opt(str()), 'scope.project.id': opt(str()), 'role.id': opt(str()), include_names: opt(str()), effective: opt(str()) }),
  }),
];
