import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '../../services/identity/identity-service.js';
import { caller } from './auth.js';
import { flag, queryString } from './validation.js';
import { assignmentView, collection, roleView } from './views.js';

type Grant = { Params: { projectId: string; userId: string; roleId: string } };

export function registerRoleRoutes(app: FastifyInstance, identity: IdentityService): void {
  app.get('/identity/v3/roles', async (req) => {
    const q = req.query as Record<string, unknown>;
    const roles = await identity.roles.list(caller(req), { name: queryString(q, 'name') });
    return collection(req, 'roles', roles.map((r) => roleView(req, r)));
  });

  app.get<{ Params: { id: string } }>('/identity/v3/roles/:id', async (req) => ({ role: roleView(req, await identity.roles.get(caller(req), req.params.id)) }));

  const grant = '/identity/v3/projects/:projectId/users/:userId/roles/:roleId';
  app.put<Grant>(grant, async (req, reply) => {
    const { projectId, userId, roleId } = req.params;
    await identity.roles.grant(caller(req), projectId, userId, roleId);
    reply.code(204).send();
  });
  // Keystone answers the check on both GET and HEAD.
  app.route<Grant>({
    method: ['GET', 'HEAD'],
    url: grant,
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      const { projectId, userId, roleId } = req.params;
      await identity.roles.check(caller(req), projectId, userId, roleId);
      reply.code(204).send();
    },
  });
  app.delete<Grant>(grant, async (req, reply) => {
    const { projectId, userId, roleId } = req.params;
    await identity.roles.revoke(caller(req), projectId, userId, roleId);
    reply.code(204).send();
  });

  app.get<{ Params: { projectId: string; userId: string } }>('/identity/v3/projects/:projectId/users/:userId/roles', async (req) => {
    const roles = await identity.roles.listGrants(caller(req), req.params.projectId, req.params.userId);
    return collection(req, 'roles', roles.map((r) => roleView(req, r)));
  });

  app.get('/identity/v3/role_assignments', async (req) => {
    const q = req.query as Record<string, unknown>;
    const unsupportedScope = ['group.id', 'scope.domain.id', 'scope.system', 'scope.OS-INHERIT:inherited_to'].some((k) => k in q);
    const list = await identity.roles.assignments(caller(req), {
      userId: queryString(q, 'user.id'),
      projectId: queryString(q, 'scope.project.id'),
      roleId: queryString(q, 'role.id'),
      unsupportedScope,
      effective: flag(q, 'effective'),
    });
    const names = flag(q, 'include_names');
    return collection(req, 'role_assignments', list.map((a) => assignmentView(req, a, names)));
  });
}
