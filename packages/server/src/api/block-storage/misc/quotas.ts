import {
  quotaClassSetUpdate as CLASS_UPDATE_SCHEMA,
  quotaSetUpdate as UPDATE_SCHEMA,
} from '@cinderbox/api-schema';
import type { FastifyInstance } from 'fastify';
import type { QuotaSetService } from '../../../services/quota-sets.js';
import { parseBoolean, validateBody } from '../../common/validation.js';
import { callerOf, queryOf } from './request.js';

// The target project is `:target`, not `:project_id`: the shell compares `project_id` with the token's project.
type Target = { Params: { target: string } };

/** `os-quota-sets` (show, usage, defaults, update, delete) and `os-quota-class-sets` (show, update). */
export function registerQuotaRoutes(scope: FastifyInstance, quotaSets: QuotaSetService): void {
  scope.get<Target>('/os-quota-sets/:target', async (request) => {
    const ctx = callerOf(request);
    const target = request.params.target;
    const usage = queryOf(request).usage;
    if (usage !== undefined && parseBoolean(usage, 'usage')) {
      return { quota_set: { ...(await quotaSets.showUsage(ctx, target)), id: target } };
    }
    return { quota_set: { ...(await quotaSets.show(ctx, target)), id: target } };
  });

  scope.get<Target>('/os-quota-sets/:target/defaults', async (request) => {
    const target = request.params.target;
    return { quota_set: { ...(await quotaSets.defaultsFor(callerOf(request), target)), id: target } };
  });

  scope.put<Target>('/os-quota-sets/:target', async (request) => {
    const body = validateBody<{ quota_set: Record<string, unknown> }>(UPDATE_SCHEMA, request.body);
    return { quota_set: await quotaSets.update(callerOf(request), request.params.target, body.quota_set) };
  });

  scope.delete<Target>('/os-quota-sets/:target', async (request, reply) => {
    await quotaSets.reset(callerOf(request), request.params.target);
    // Cinder answers 200 with an empty body (Tempest checks the 200).
    reply.code(200);
    return reply.send();
  });

  scope.get<{ Params: { name: string } }>('/os-quota-class-sets/:name', async (request) => ({
    quota_class_set: { ...(await quotaSets.showClass(callerOf(request), request.params.name)), id: request.params.name },
  }));

  scope.put<{ Params: { name: string } }>('/os-quota-class-sets/:name', async (request) => {
    const body = validateBody<{ quota_class_set: Record<string, unknown> }>(CLASS_UPDATE_SCHEMA, request.body);
    return { quota_class_set: await quotaSets.updateClass(callerOf(request), request.params.name, body.quota_class_set) };
  });
}
