import type { FastifyInstance } from 'fastify';
import { notFound } from '../../../domain/errors.js';
import { queryOf, versionOf } from './request.js';

/** Cinder's default `resource_filters.json`: what a non-admin may filter each resource on (3.31+). */
export const RESOURCE_FILTERS: Readonly<Record<string, readonly string[]>> = {
  volume: ['name', 'status', 'metadata', 'bootable', 'migration_status', 'availability_zone', 'group_id', 'size', 'created_at', 'updated_at', 'consumes_quota'],
  backup: ['name', 'status', 'volume_id'],
  snapshot: ['name', 'status', 'volume_id', 'metadata', 'availability_zone', 'consumes_quota'],
  group: ['name'],
  group_snapshot: ['name', 'status', 'group_id'],
  attachment: ['volume_id', 'status', 'instance_id', 'attach_status'],
  message: ['resource_uuid', 'resource_type', 'event_id', 'request_id', 'message_level'],
  pool: ['name', 'volume_type'],
  volume_type: ['is_public', 'extra_specs'],
};

/** `GET /resource_filters` (3.33+); `?resource=x` narrows to one resource, an unknown one lists nothing. */
export function registerResourceFilterRoutes(scope: FastifyInstance): void {
  scope.get('/resource_filters', async (request) => {
    if (!versionOf(request).atLeast('3.33')) throw notFound('The resource could not be found.');
    const resource = queryOf(request).resource;
    const entries = resource ? (RESOURCE_FILTERS[resource] ? [[resource, RESOURCE_FILTERS[resource]] as const] : []) : Object.entries(RESOURCE_FILTERS);
    return { resource_filters: entries.map(([r, filters]) => ({ resource: r, filters: [...filters] })) };
  });
}
