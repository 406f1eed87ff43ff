import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../../config/config.js';
import type { IdentityService } from '../../services/identity/identity-service.js';
import { registerAuthRoutes } from './auth.js';
import { registerDomainRoutes } from './domains.js';
import { registerProjectRoutes } from './projects.js';
import { registerRoleRoutes } from './roles.js';
import { registerUserRoutes } from './users.js';
import { registerVersionRoutes } from './versions.js';

export interface IdentityRouteDeps {
  identity: IdentityService;
  config: ServerConfig;
}

/** The Keystone v3 subset under /identity. Handlers stay thin: the identity service holds rules and policy. */
export function registerIdentityRoutes(app: FastifyInstance, deps: IdentityRouteDeps): void {
  registerVersionRoutes(app);
  registerAuthRoutes(app, deps);
  registerDomainRoutes(app, deps.identity);
  registerProjectRoutes(app, deps.identity);
  registerUserRoutes(app, deps.identity);
  registerRoleRoutes(app, deps.identity);
}
