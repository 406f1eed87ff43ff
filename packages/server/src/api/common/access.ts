import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { DomainError, policyForbidden } from '../../domain/errors.js';
import { canWrite } from '../../domain/roles.js';
import { denied } from '../../services/identity/policy.js';
import type { Dialect } from './errors.js';

/**
 * Who may call a route, by Keystone's default roles:
 * - `read`: any project-scoped caller (reader, member, admin); services still hide other projects' resources.
 * - `write`: member or admin; a reader is refused here, before the handler reads the body or touches a record.
 * - `admin`: admin only. A reader is refused here like on a write; members are refused by the services, after
 *   the body and microversion checks that come first in Cinder too. The role-matrix test checks they are, so the
 *   table and the services cannot drift apart unnoticed.
 * - `self`: any authenticated caller, because it only acts on the caller's own credentials (Keystone lets every
 *   user revoke its own token and change its own password, whatever its roles).
 * - `public`: no token (version documents, token issue).
 * - `action`: `POST …/action` routes, where the single key of the body names the operation; see `actions`.
 */
export type Access = 'public' | 'read' | 'write' | 'admin' | 'self' | 'action';

export interface ActionPolicy {
  access: 'read' | 'write' | 'admin';
  rule: string;
}

export interface RoutePolicy {
  access: Access;
  /** The policy rule named in a refusal: Cinder's and Keystone's own rule names where they have one. */
  rule?: string;
  /** For `action` routes: each action's policy. An action not listed is treated as a write. */
  actions?: Record<string, ActionPolicy>;
}

export type ApiFamily = 'block-storage' | 'cbr' | 'identity';

const admin = (rule: string): RoutePolicy => ({ access: 'admin', rule });
const write = (rule: string): RoutePolicy => ({ access: 'write', rule });
const self = (rule: string): RoutePolicy => ({ access: 'self', rule });
const read: RoutePolicy = { access: 'read' };
const unnamedWrite: RoutePolicy = { access: 'write' };
const publicRoute: RoutePolicy = { access: 'public' };
const volumeAction = (name: string): ActionPolicy => ({ access: 'write', rule: `volume_extension:volume_actions:${name}` });

/**
 * Every route whose policy is not its method's default (GET/HEAD read; POST/PUT/PATCH/DELETE write), plus the
 * rule name of every write, keyed `FAMILY METHOD path` with the family's prefix (`/v3/:project_id`, `/v3`,
 * `/v2/:project_id`; `/cbr/v3/:project_id`; `/identity/v3`) taken off. HEAD follows GET.
 */
export const ROUTE_POLICIES: Readonly<Record<string, RoutePolicy>> = {
  // --- Block Storage (Cinder's rule names, cinder/policies/*.py) ---
  'block-storage POST /volumes': write('volume:create'),
  'block-storage PUT /volumes/:id': write('volume:update'),
  'block-storage DELETE /volumes/:id': write('volume:delete'),
  'block-storage POST /volumes/:id/metadata': write('volume:create_volume_metadata'),
  'block-storage PUT /volumes/:id/metadata': write('volume:update_volume_metadata'),
  'block-storage PUT /volumes/:id/metadata/:key': write('volume:update_volume_metadata'),
  'block-storage DELETE /volumes/:id/metadata/:key': write('volume:delete_volume_metadata'),
  'block-storage POST /volumes/:id/action': {
    access: 'action',
    rule: 'volume:update',
    actions: {
      'os-extend': { access: 'write', rule: 'volume:extend' },
      'os-reset_status': { access: 'admin', rule: 'volume_extension:volume_admin_actions:reset_status' },
      'os-force_delete': { access: 'admin', rule: 'volume_extension:volume_admin_actions:force_delete' },
      'os-force_detach': { access: 'admin', rule: 'volume_extension:volume_admin_actions:force_detach' },
      'os-set_bootable': { access: 'write', rule: 'volume:update' },
      'os-update_readonly_flag': { access: 'write', rule: 'volume:update_readonly_flag' },
      'os-initialize_connection': volumeAction('initialize_connection'),
      'os-terminate_connection': volumeAction('terminate_connection'),
      'os-reserve': volumeAction('reserve'),
      'os-unreserve': volumeAction('unreserve'),
      'os-attach': volumeAction('attach'),
      'os-detach': volumeAction('detach'),
      'os-begin_detaching': volumeAction('begin_detaching'),
      'os-roll_detaching': volumeAction('roll_detaching'),
      revert: { access: 'write', rule: 'volume:revert_to_snapshot' },
      'os-unmanage': { access: 'admin', rule: 'volume_extension:volume_unmanage' },
      'os-retype': { access: 'write', rule: 'volume:retype' },
      'os-migrate_volume': { access: 'admin', rule: 'volume_extension:volume_admin_actions:migrate_volume' },
      // Cinder's one read-only volume action (SYSTEM_READER_OR_PROJECT_READER); listed so it stays a read if served.
      'os-show_image_metadata': { access: 'read', rule: 'volume_extension:volume_image_metadata:show' },
    },
  },
  // cinderbox-data: the bytes of a volume are written like the volume itself.
  'block-storage PUT /volumes/:id/cinderbox-data': write('volume:update'),
  'block-storage POST /snapshots': write('volume:create_snapshot'),
  'block-storage PUT /snapshots/:id': write('volume:update_snapshot'),
  'block-storage DELETE /snapshots/:id': write('volume:delete_snapshot'),
  'block-storage POST /snapshots/:id/metadata': write('volume:update_snapshot_metadata'),
  'block-storage PUT /snapshots/:id/metadata': write('volume:update_snapshot_metadata'),
  'block-storage PUT /snapshots/:id/metadata/:key': write('volume:update_snapshot_metadata'),
  'block-storage DELETE /snapshots/:id/metadata/:key': write('volume:delete_snapshot_metadata'),
  'block-storage POST /snapshots/:id/action': {
    access: 'action',
    rule: 'volume:update_snapshot',
    actions: {
      'os-reset_status': { access: 'admin', rule: 'volume_extension:snapshot_admin_actions:reset_status' },
      'os-force_delete': { access: 'admin', rule: 'volume_extension:snapshot_admin_actions:force_delete' },
      'os-update_snapshot_status': { access: 'write', rule: 'snapshot_extension:snapshot_actions:update_snapshot_status' },
      'os-unmanage': { access: 'admin', rule: 'snapshot_extension:snapshot_unmanage' },
    },
  },
  'block-storage POST /backups': write('backup:create'),
  'block-storage PUT /backups/:id': write('backup:update'),
  'block-storage DELETE /backups/:id': write('backup:delete'),
  'block-storage POST /backups/:id/restore': write('backup:restore'),
  'block-storage POST /backups/:id/action': {
    access: 'action',
    rule: 'backup:update',
    actions: {
      'os-reset_status': { access: 'admin', rule: 'volume_extension:backup_admin_actions:reset_status' },
      'os-force_delete': { access: 'admin', rule: 'volume_extension:backup_admin_actions:force_delete' },
    },
  },
  'block-storage GET /backups/:id/export_record': admin('backup:export-import'),
  'block-storage POST /backups/import_record': admin('backup:backup-import'),
  'block-storage POST /backups/export_record': admin('backup:backup-import'),
  'block-storage POST /cinderbox-repo/verify': admin('cinderbox:repo_verify'),
  'block-storage POST /cinderbox-repo/gc': admin('cinderbox:repo_gc'),
  'block-storage GET /cinderbox-repo/stats': admin('cinderbox:repo_stats'),
  'block-storage GET /cinderbox-repo/history': admin('cinderbox:repo_stats'),
  'block-storage POST /cinderbox-repo/jobs': admin('cinderbox:repo_jobs'),
  'block-storage GET /cinderbox-repo/jobs': admin('cinderbox:repo_jobs'),
  'block-storage GET /cinderbox-repo/jobs/:job_id': admin('cinderbox:repo_jobs'),
  // Any authenticated user: the stream shows a member only its own project's changes.
  'block-storage GET /cinderbox-events': read,
  'block-storage POST /os-volume-manage': admin('volume_extension:volume_manage'),
  'block-storage POST /manageable_volumes': admin('volume_extension:volume_manage'),
  'block-storage GET /os-volume-manage': admin('volume_extension:list_manageable'),
  'block-storage GET /os-volume-manage/detail': admin('volume_extension:list_manageable'),
  'block-storage GET /manageable_volumes': admin('volume_extension:list_manageable'),
  'block-storage GET /manageable_volumes/detail': admin('volume_extension:list_manageable'),
  'block-storage POST /os-snapshot-manage': admin('snapshot_extension:snapshot_manage'),
  'block-storage POST /manageable_snapshots': admin('snapshot_extension:snapshot_manage'),
  'block-storage GET /os-snapshot-manage': admin('snapshot_extension:list_manageable'),
  'block-storage GET /os-snapshot-manage/detail': admin('snapshot_extension:list_manageable'),
  'block-storage GET /manageable_snapshots': admin('snapshot_extension:list_manageable'),
  'block-storage GET /manageable_snapshots/detail': admin('snapshot_extension:list_manageable'),
  'block-storage POST /os-volume-transfer': write('volume:create_transfer'),
  'block-storage POST /os-volume-transfer/:id/accept': write('volume:accept_transfer'),
  'block-storage DELETE /os-volume-transfer/:id': write('volume:delete_transfer'),
  'block-storage POST /volume-transfers': write('volume:create_transfer'),
  'block-storage POST /volume-transfers/:id/accept': write('volume:accept_transfer'),
  'block-storage DELETE /volume-transfers/:id': write('volume:delete_transfer'),
  'block-storage DELETE /messages/:id': write('message:delete'),
  'block-storage POST /attachments': write('volume:attachment_create'),
  'block-storage PUT /attachments/:id': write('volume:attachment_update'),
  'block-storage DELETE /attachments/:id': write('volume:attachment_delete'),
  'block-storage POST /attachments/:id/action': {
    access: 'action',
    rule: 'volume:attachment_complete',
    actions: { 'os-complete': { access: 'write', rule: 'volume:attachment_complete' } },
  },
  'block-storage POST /group_types': admin('group:group_types:create'),
  'block-storage PUT /group_types/:id': admin('group:group_types:update'),
  'block-storage DELETE /group_types/:id': admin('group:group_types:delete'),
  'block-storage GET /group_types/:id/group_specs': admin('group:group_types_specs:get_all'),
  'block-storage POST /group_types/:id/group_specs': admin('group:group_types_specs:create'),
  'block-storage GET /group_types/:id/group_specs/:key': admin('group:group_types_specs:get'),
  'block-storage PUT /group_types/:id/group_specs/:key': admin('group:group_types_specs:update'),
  'block-storage DELETE /group_types/:id/group_specs/:key': admin('group:group_types_specs:delete'),
  'block-storage POST /groups': write('group:create'),
  'block-storage PUT /groups/:id': write('group:update'),
  'block-storage POST /groups/action': write('group:create'),
  'block-storage POST /groups/:id/action': {
    access: 'action',
    rule: 'group:update',
    actions: {
      delete: { access: 'write', rule: 'group:delete' },
      reset_status: { access: 'admin', rule: 'group:reset_status' },
    },
  },
  'block-storage POST /group_snapshots': write('group:create_group_snapshot'),
  'block-storage DELETE /group_snapshots/:id': write('group:delete_group_snapshot'),
  'block-storage POST /group_snapshots/:id/action': {
    access: 'action',
    rule: 'group:update_group_snapshot',
    actions: { reset_status: { access: 'admin', rule: 'group:reset_group_snapshot_status' } },
  },
  'block-storage GET /qos-specs': admin('volume_extension:qos_specs_manage:get_all'),
  'block-storage POST /qos-specs': admin('volume_extension:qos_specs_manage:create'),
  'block-storage GET /qos-specs/:id': admin('volume_extension:qos_specs_manage:get'),
  'block-storage PUT /qos-specs/:id': admin('volume_extension:qos_specs_manage:update'),
  'block-storage DELETE /qos-specs/:id': admin('volume_extension:qos_specs_manage:delete'),
  'block-storage PUT /qos-specs/:id/delete_keys': admin('volume_extension:qos_specs_manage:delete'),
  'block-storage GET /qos-specs/:id/associations': admin('volume_extension:qos_specs_manage:get_all'),
  'block-storage GET /qos-specs/:id/associate': admin('volume_extension:qos_specs_manage:update'),
  'block-storage GET /qos-specs/:id/disassociate': admin('volume_extension:qos_specs_manage:update'),
  'block-storage GET /qos-specs/:id/disassociate_all': admin('volume_extension:qos_specs_manage:update'),
  'block-storage POST /types': admin('volume_extension:type_create'),
  'block-storage PUT /types/:type_id': admin('volume_extension:type_update'),
  'block-storage DELETE /types/:type_id': admin('volume_extension:type_delete'),
  'block-storage POST /types/:type_id/extra_specs': admin('volume_extension:types_extra_specs:create'),
  'block-storage PUT /types/:type_id/extra_specs/:key': admin('volume_extension:types_extra_specs:update'),
  'block-storage DELETE /types/:type_id/extra_specs/:key': admin('volume_extension:types_extra_specs:delete'),
  'block-storage GET /types/:type_id/os-volume-type-access': admin('volume_extension:volume_type_access:get_all_for_type'),
  'block-storage POST /types/:type_id/action': {
    access: 'action',
    rule: 'volume_extension:volume_type_access',
    actions: {
      addProjectAccess: { access: 'admin', rule: 'volume_extension:volume_type_access:addProjectAccess' },
      removeProjectAccess: { access: 'admin', rule: 'volume_extension:volume_type_access:removeProjectAccess' },
    },
  },
  'block-storage GET /types/:type_id/encryption': admin('volume_extension:volume_type_encryption:get'),
  'block-storage GET /types/:type_id/encryption/:key': admin('volume_extension:volume_type_encryption:get'),
  'block-storage POST /types/:type_id/encryption': admin('volume_extension:volume_type_encryption:create'),
  'block-storage PUT /types/:type_id/encryption/:key': admin('volume_extension:volume_type_encryption:update'),
  'block-storage DELETE /types/:type_id/encryption/:key': admin('volume_extension:volume_type_encryption:delete'),
  'block-storage GET /default-types': admin('volume_extension:default_get_all'),
  'block-storage GET /default-types/:projectId': admin('volume_extension:default_get'),
  'block-storage PUT /default-types/:projectId': admin('volume_extension:default_set_or_update'),
  'block-storage DELETE /default-types/:projectId': admin('volume_extension:default_unset'),
  'block-storage PUT /os-quota-sets/:target': admin('volume_extension:quotas:update'),
  'block-storage DELETE /os-quota-sets/:target': admin('volume_extension:quotas:delete'),
  'block-storage GET /os-quota-class-sets/:name': admin('volume_extension:quota_classes:get'),
  'block-storage GET /os-services': admin('volume_extension:services:index'),
  'block-storage PUT /os-services/:action': admin('volume_extension:services:update'),
  'block-storage GET /os-hosts': admin('volume_extension:hosts'),
  'block-storage GET /os-hosts/:host': admin('volume_extension:hosts'),
  'block-storage GET /capabilities/:host': admin('volume_extension:capabilities'),
  'block-storage PUT /os-quota-class-sets/:name': admin('volume_extension:quota_classes:update'),
  'block-storage GET /scheduler-stats/get_pools': admin('scheduler_extension:scheduler_stats:get_pools'),

  // --- CBR (the IAM action names of Huawei's CBR permissions) ---
  'cbr POST /vaults': write('cbr:vaults:create'),
  'cbr PUT /vaults/:vault_id': write('cbr:vaults:update'),
  'cbr DELETE /vaults/:vault_id': write('cbr:vaults:delete'),
  'cbr POST /vaults/:vault_id/addresources': write('cbr:vaults:addResources'),
  'cbr POST /vaults/:vault_id/removeresources': write('cbr:vaults:removeResources'),
  'cbr POST /vaults/:vault_id/migrateresources': write('cbr:vaults:migrateResources'),
  'cbr POST /vaults/:vault_id/associatepolicy': write('cbr:vaults:associatePolicy'),
  'cbr POST /vaults/:vault_id/dissociatepolicy': write('cbr:vaults:dissociatePolicy'),
  'cbr POST /vault/:vault_id/tags': write('cbr:vaults:setTags'),
  'cbr POST /vault/:vault_id/tags/action': write('cbr:vaults:setTags'),
  'cbr DELETE /vault/:vault_id/tags/:key': write('cbr:vaults:deleteTags'),
  'cbr POST /policies': write('cbr:policies:create'),
  'cbr PUT /policies/:policy_id': write('cbr:policies:update'),
  'cbr DELETE /policies/:policy_id': write('cbr:policies:delete'),
  'cbr POST /checkpoints': write('cbr:vaults:backup'),
  'cbr DELETE /backups/:backup_id': write('cbr:backups:delete'),
  'cbr POST /backups/:backup_id/restore': write('cbr:backups:restore'),
  'cbr POST /backups/:backup_id/replicate': write('cbr:backups:replicate'),
  'cbr POST /checkpoints/replicate': write('cbr:checkpoints:replicate'),
  'cbr POST /backups/:backup_id/members': write('cbr:members:create'),
  'cbr PUT /backups/:backup_id/members/:member_id': write('cbr:members:update'),
  'cbr DELETE /backups/:backup_id/members/:member_id': write('cbr:members:delete'),

  // --- Identity (Keystone's rule names; printed as identity:<rule>) ---
  // Validating and revoking tokens: the services let a user do both to its own tokens, admins to any.
  'identity GET /auth/tokens': read,
  'identity DELETE /auth/tokens': self('revoke_token'),
  'identity POST /projects': admin('create_project'),
  'identity GET /projects': admin('list_projects'),
  'identity PATCH /projects/:id': admin('update_project'),
  'identity DELETE /projects/:id': admin('delete_project'),
  'identity POST /users': admin('create_user'),
  'identity GET /users': admin('list_users'),
  'identity PATCH /users/:id': admin('update_user'),
  'identity DELETE /users/:id': admin('delete_user'),
  'identity POST /users/:id/password': self('change_password'),
  'identity GET /roles': admin('list_roles'),
  'identity GET /roles/:id': admin('get_role'),
  'identity PUT /projects/:projectId/users/:userId/roles/:roleId': admin('create_grant'),
  'identity GET /projects/:projectId/users/:userId/roles/:roleId': admin('check_grant'),
  'identity DELETE /projects/:projectId/users/:userId/roles/:roleId': admin('revoke_grant'),
  'identity GET /projects/:projectId/users/:userId/roles': admin('list_grants'),

  // --- The web console's static files (api/console/routes.ts): the page is public, its data comes from the APIs
  // above with the signed-in user's token. No family prefix matches these paths, so they key as block-storage.
  'block-storage GET /console': publicRoute,
  'block-storage GET /console/*': publicRoute,
  // --- The published contract (OpenAPI documents and reference pages): public, like the version documents ---
  'block-storage GET /openapi': publicRoute,
  'block-storage GET /openapi/': publicRoute,
  'block-storage GET /openapi/block-storage.json': publicRoute,
  'block-storage GET /openapi/cbr.json': publicRoute,
  'block-storage GET /openapi/identity.json': publicRoute,
  'block-storage GET /openapi/block-storage.html': publicRoute,
  'block-storage GET /openapi/cbr.html': publicRoute,
  'block-storage GET /openapi/identity.html': publicRoute,
};

const FAMILY_PREFIXES: [ApiFamily, RegExp][] = [
  ['cbr', /^\/cbr\/v3\/:project_id(?=\/|$)/],
  ['identity', /^\/identity(?:\/v3)?(?=\/|$)/],
  ['block-storage', /^\/v[23](?:\/:project_id)?(?=\/|$)/],
];

/** The table key of a registered route: its family, its method (HEAD as GET) and its path under the family prefix. */
export function policyKey(method: string, url: string): string {
  const m = method === 'HEAD' ? 'GET' : method;
  for (const [family, prefix] of FAMILY_PREFIXES) {
    if (prefix.test(url)) return `${family} ${m} ${url.replace(prefix, '') || '/'}`;
  }
  return `block-storage ${m} ${url}`;
}

/** The policy of a route: its table entry, else its method's default. */
export function policyOf(method: string, url: string, isPublic: boolean): RoutePolicy {
  if (isPublic) return publicRoute;
  const entry = ROUTE_POLICIES[policyKey(method, url)];
  if (entry) return entry;
  return method === 'GET' || method === 'HEAD' ? read : unnamedWrite;
}

export interface RouteInfo {
  method: string;
  url: string;
  policy: RoutePolicy;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set for every route as it is registered (see installAccessPolicy). */
    access?: RoutePolicy;
  }
}

const INVENTORY = Symbol('cinderbox.routes');

function refusal(dialect: Dialect, rule: string): DomainError {
  switch (dialect) {
    case 'keystone':
      return denied(rule);
    case 'cbr':
      return new DomainError('forbidden', `Policy doesn't allow ${rule} to be performed.`, { code: 'BackupService.8600' });
    default:
      return policyForbidden(rule);
  }
}

function fallbackRule(method: string, url: string): string {
  return `${method.toLowerCase()} ${url}`;
}

function refuse(request: FastifyRequest, reply: FastifyReply, rule: string): DomainError {
  // A refused upload's body is never read: close the connection rather than drain it.
  const h = request.headers;
  if ((h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined) {
    reply.header('Connection', 'close');
  }
  return refusal(request.cb.dialect, rule);
}

/** The single action key of an action body; undefined when the body does not name exactly one. */
function actionName(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  return keys.length === 1 ? keys[0] : undefined;
}

/**
 * Records each route's policy as it is registered, and refuses, before any handler runs, writes by callers that
 * may only read. The write check runs inside the request hook that authenticates (checkRoutePolicy, called by
 * http-app once `request.cb.auth` is set): one hook per request instead of two. Actions are told apart by their
 * body, so the routes that take them, and only those, get a preValidation hook of their own.
 */
export function installAccessPolicy(app: FastifyInstance): void {
  const routes: RouteInfo[] = [];
  (app as unknown as Record<symbol, RouteInfo[]>)[INVENTORY] = routes;

  app.addHook('onRoute', (opts: RouteOptions) => {
    const methods = Array.isArray(opts.method) ? opts.method : [opts.method];
    const isPublic = Boolean(opts.config?.public);
    const policies = methods.map((m) => policyOf(m, opts.url, isPublic));
    // One policy per route: a GET+POST route would let the write through as a read.
    if (policies.some((p) => p !== policies[0])) throw new Error(`${methods.join('+')} ${opts.url}: register one route per method`);
    opts.config = { ...opts.config, access: policies[0]! };
    if (policies[0]!.access === 'action') {
      const own = opts.preValidation;
      opts.preValidation = [checkAction, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])] as RouteOptions['preValidation'];
    }
    methods.forEach((m, i) => routes.push({ method: m, url: opts.url, policy: policies[i]! }));
  });
}

/**
 * Throws the refusal when the authenticated caller may not use this route at all (a write or admin route for a
 * read-only caller). Called by the request hook right after authentication.
 */
export function checkRoutePolicy(request: FastifyRequest, reply: FastifyReply): void {
  const policy = request.routeOptions.config.access;
  const auth = request.cb.auth;
  if (!policy || !auth) return; // public or unknown route
  if ((policy.access === 'write' || policy.access === 'admin') && !canWrite(auth)) {
    throw refuse(request, reply, policy.rule ?? fallbackRule(request.method, request.routeOptions.url ?? request.url));
  }
}

function checkAction(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
  const policy = request.routeOptions.config.access;
  const auth = request.cb.auth;
  if (policy?.access !== 'action' || !auth || canWrite(auth)) return done();
  const name = actionName(request.body);
  const action = name === undefined ? undefined : policy.actions?.[name];
  if (action?.access === 'read') return done();
  done(refuse(request, reply, action?.rule ?? policy.rule ?? fallbackRule(request.method, request.routeOptions.url ?? request.url)));
}

export function routeInventory(app: FastifyInstance): RouteInfo[] {
  return [...((app as unknown as Record<symbol, RouteInfo[]>)[INVENTORY] ?? [])];
}
