import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../../config/config.js';
import type { BlockStorageServices } from '../../services/block-storage/index.js';
import type { BackendStatusService } from '../../services/backend-status.js';
import type { ServiceRegistry } from '../../services/service-registry.js';
import type { QuotaSetService } from '../../services/quota-sets.js';
import type { QuotaService } from '../../services/quotas.js';
import { registerAttachmentRoutes } from './attachments.js';
import { registerBackupRoutes } from './backups.js';
import { registerGroupRoutes } from './groups.js';
import { registerManageRoutes } from './manage-routes.js';
import { registerMessageRoutes } from './messages.js';
import { registerMiscRoutes } from './misc/index.js';
import { registerVersionRoutes } from './misc/versions.js';
import { registerQosSpecsRoutes } from './qos-specs.js';
import { type RepoConsoleDeps, registerRepoConsoleRoutes } from './repository.js';
import { registerSnapshotRoutes } from './snapshots.js';
import { registerTransferRoutes } from './transfers.js';
import { registerVolumeRoutes } from './volumes.js';

export type BlockStorageDeps = BlockStorageServices & {
  quotas: QuotaService;
  quotaSets: QuotaSetService;
  backendStatus: BackendStatusService;
  /** The services table: heartbeats and the operator's switches (`os-services` updates). */
  serviceRegistry: ServiceRegistry;
  config: ServerConfig;
  /** The console's repository statistics, jobs and event stream (absent: those routes are not served). */
  repoConsole?: RepoConsoleDeps;
};

/**
 * Every resource is routed three times, as Cinder does: `/v3/{project_id}/…`, the project-less `/v3/…`
 * (3.67), and the legacy `/v2/{project_id}/…`. Handlers tell the forms apart by `request.url`.
 */
export function registerBlockStorageRoutes(app: FastifyInstance, deps: BlockStorageDeps): void {
  registerVersionRoutes(app, deps);
  for (const prefix of ['/v3/:project_id', '/v3', '/v2/:project_id']) {
    app.register(
      async (scope) => {
        registerVolumeRoutes(scope, deps);
        registerSnapshotRoutes(scope, deps);
        registerBackupRoutes(scope, deps);
        registerManageRoutes(scope, deps);
        registerTransferRoutes(scope, deps);
        registerAttachmentRoutes(scope, deps);
        registerMessageRoutes(scope, deps);
        registerQosSpecsRoutes(scope, deps);
        registerGroupRoutes(scope, deps);
        registerMiscRoutes(scope, deps);
        if (deps.repoConsole) registerRepoConsoleRoutes(scope, deps.repoConsole);
      },
      { prefix },
    );
  }
}
