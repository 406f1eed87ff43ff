import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { registerBlockStorageRoutes } from './api/block-storage/index.js';
import { registerCbrRoutes } from './api/cbr/index.js';
import { createHttpApp } from './api/common/http-app.js';
import { openBackupRepository } from './backup-repo-open.js';
import { registerIdentityRoutes } from './api/identity/index.js';
import type { ServerConfig } from './config/config.js';
import { acquireDataDirLock } from './config/data-dir-lock.js';
import { writeCloudsYaml } from './config/clouds-yaml.js';
import { systemClock, type Clock } from './domain/time.js';
import { openVolumeDrivers } from './drivers/volume/open-drivers.js';
import { createBlockStorageServices, type BlockStorageServices } from './services/block-storage/index.js';
import { type CbrOptions, type CbrServices, createCbrServices } from './services/cbr/index.js';
import { IdentityService } from './services/identity/identity-service.js';
import { QuotaService } from './services/quotas.js';
import { VolumeTypeService } from './services/volume-types.js';
import { openDatabase } from './store/database.js';
import { taskStore } from './store/repositories/tasks.js';
import { TaskEngine } from './tasks/task-engine.js';

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** CBR settings over the environment's (tests shrink the billing GB and drive the scheduler by hand). */
  cbr?: Partial<CbrOptions>;
}

export interface RunningServer {
  /** Where the server listens, e.g. http://127.0.0.1:8776 */
  url: string;
  port: number;
  config: ServerConfig;
  /** Set on the first start of an empty store: the admin password (generated when not configured). */
  bootstrap: { adminPassword: string; generated: boolean } | null;
  cloudsYamlPath: string;
  services: BlockStorageServices;
  cbr: CbrServices;
  tasks: TaskEngine;
  close(): Promise<void>;
}

/** The composition root: the only place that names concrete adapters. */
export async function startServer(config: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? pino({ level: config.logLevel, redact: ['req.headers["x-auth-token"]', 'password'] });
  const clock = opts.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true });
  const lock = await acquireDataDirLock(config.dataDir);
  const closers: (() => Promise<void>)[] = [async () => lock.release()];
  try {
    // First, so a wrong backup key refuses before anything else is touched. Opening sweeps the temporaries of
    // writers that crashed; closed after the tasks that use it stop.
    const backupRepo = await openBackupRepository(config, { create: true });
    closers.unshift(() => backupRepo.close());

    const database = await openDatabase(config, logger);
    closers.unshift(() => database.close());
    const { db } = database;

    const drivers = await openVolumeDrivers(config, db, logger);

    const tasks = new TaskEngine({ store: taskStore(database), clock, logger, leaseSeconds: config.taskLeaseSeconds });
    closers.unshift(() => tasks.stop());
    const identity = new IdentityService({ db, clock, config, logger });
    const bootstrap = await identity.bootstrap();
    const quotas = new QuotaService(db, config.quotaDefaults, new VolumeTypeService(db));
    const services = createBlockStorageServices({ db, clock, config, logger, drivers, tasks, quotas, backupRepo });
    const cbr = createCbrServices({ db, clock, config, logger, drivers, tasks, quotas, backupRepo, options: opts.cbr });
    // A single SQLite node holds the data directory's lock, so whatever was running when it last stopped is orphaned.
    await tasks.start(database.kind === 'sqlite');
    await cbr.scheduler.start();
    closers.unshift(() => cbr.scheduler.stop());

    const app = createHttpApp({ logger, publicUrl: config.publicUrl, tokens: identity });
    registerIdentityRoutes(app, { identity, config });
    registerBlockStorageRoutes(app, { ...services, quotas, config });
    registerCbrRoutes(app, cbr);
    await app.listen({ host: config.host, port: config.port });
    closers.unshift(() => app.close());

    const port = (app.server.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    const publicBase = config.publicUrl ?? url;
    const cloudsYamlPath = await writeCloudsYaml(config.dataDir, {
      authUrl: `${publicBase}/identity/v3`,
      region: config.region,
      adminPassword: bootstrap?.adminPassword ?? null,
    });

    let closed = false;
    return {
      url,
      port,
      config,
      bootstrap,
      cloudsYamlPath,
      services,
      cbr,
      tasks,
      async close() {
        if (closed) return;
        closed = true;
        for (const c of closers) await c().catch((err) => logger.error({ err }, 'shutdown step failed'));
      },
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => {});
    throw err;
  }
}
