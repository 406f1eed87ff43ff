import type { FastifyInstance } from 'fastify';
import type { BlockStorageDeps } from '../index.js';
import { registerAvailabilityZoneRoutes } from './availability-zones.js';
import { registerExtensionRoutes } from './extensions.js';
import { registerLimitRoutes } from './limits.js';
import { registerQuotaRoutes } from './quotas.js';
import { registerResourceFilterRoutes } from './resource-filters.js';
import { registerServiceRoutes } from './services.js';
import { registerTypeRoutes } from './types.js';

/**
 * The smaller Block Storage resources: extensions, limits, quotas, availability zones, volume types,
 * services, pools and resource filters. Registered once per URL form (`/v3/{project_id}`, `/v3`, `/v2/{project_id}`).
 */
export function registerMiscRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { quotaSets } = deps;
  registerExtensionRoutes(scope);
  registerLimitRoutes(scope, quotaSets);
  registerQuotaRoutes(scope, quotaSets);
  registerAvailabilityZoneRoutes(scope, deps.config);
  registerTypeRoutes(scope, deps.quotas.volumeTypes);
  registerServiceRoutes(scope, deps.backendStatus, deps.serviceRegistry);
  registerResourceFilterRoutes(scope);
}
