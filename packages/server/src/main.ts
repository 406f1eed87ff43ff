import { hostname } from 'node:os';
import { mkdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { registerBlockStorageRoutes } from './api/block-storage/index.js';
import { registerCbrRoutes } from './api/cbr/index.js';
import { type RouteInfo, routeInventory } from './api/common/access.js';
import { createHttpApp } from './api/common/http-app.js';
import { registerConsoleRoutes } from './api/console/routes.js';
import { registerIdentityRoutes } from './api/identity/index.js';
import { registerOpenApiRoutes } from './api/openapi/index.js';
import { SERVED_OPERATIONS } from './api/openapi/operations.js';
import type { ServerConfig } from './config/config.js';
import { acquireDataDirLock } from './config/data-dir-lock.js';
import { DATA_UMASK, tightenDataDir } from './config/data-dir-permissions.js';
import { writeCloudsYaml } from './config/clouds-yaml.js';
import { systemClock, type Clock } from './domain/time.js';
import { blockSources } from './drivers/volume/block-source.js';
import { createBlockStorageServices, type BlockStorageServices } from './services/block-storage/index.js';
import { type CbrOptions, type CbrServices, createCbrServices } from './services/cbr/index.js';
import { IdentityService } from './services/identity/identity-service.js';
import { BackendStatusService } from './services/backend-status.js';
import { ServiceRegistry } from './services/service-registry.js';
import { peerNodes } from './services/peer-nodes.js';
import { ClusterWriteBarrier } from './services/cluster-barrier.js';
import { QuotaSetService } from './services/quota-sets.js';
import { ChangeEvents, observeBackupProgress, observeChanges } from './services/events.js';
import { RepoJobs } from './services/repository/repo-jobs.js';
import { RepoStats } from './services/repository/repo-stats.js';
import { QuotaService } from './services/quotas.js';
import { VolumeTypeService } from './services/volume-types.js';
import type { OpenedDatabase } from './store/database.js';
import type { TaskEngine } from './tasks/task-engine.js';
import { openBackupTargets, openChangeFeed, openDrivers, openMetadata, openTaskQueue } from './wiring.js';

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** CBR settings over the environment's (tests shrink the billing GB and drive the scheduler by hand). */
  cbr?: Partial<CbrOptions>;
  /** The web console's built files (default: packages/console/dist beside this package); tests build their own. */
  consoleDir?: string;
  /**
   * Called after the server shut itself down because another process took over its node name while it stalled.
   * Default: the process exits with status 1 (what `serve` wants: a supervisor may restart it under a free name).
   */
  onNodeNameLost?: () => void;
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
  /** The services table's keeper (heartbeats, switches). */
  serviceRegistry: ServiceRegistry;
  /** Every HTTP route the server registered (the role-matrix test walks it). */
  routes: RouteInfo[];
  close(): Promise<void>;
}

/**
 * CINDERBOX_STARTUP_TRACE=1: each start-up phase's end, in ms since the process began (module loading included),
 * written to stderr once listening — how bench/scale tells a data-bound phase from the fixed cost.
 */
function startupTrace(): { mark(phase: string): void; flush(): void } {
  if (!process.env.CINDERBOX_STARTUP_TRACE) return { mark() {}, flush() {} };
  const marks: string[] = [`startServer ${performance.now().toFixed(0)}`];
  return {
    mark: (phase) => void marks.push(`${phase} ${performance.now().toFixed(0)}`),
    flush: () => void process.stderr.write(`cinderbox startup-trace: ${marks.join(', ')}\n`),
  };
}

function exitAfterNameLost(): void {
  process.exit(1);
}

/**
 * The composition root: opens the adapters (through wiring.ts) and hands them to the services as ports. No other
 * module chooses an adapter.
 */
export async function startServer(configIn: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? pino({ level: configIn.logLevel, redact: ['req.headers["x-auth-token"]', 'password'] });
  const clock = opts.clock ?? systemClock;
  const trace = startupTrace();
  // Before the first file: the database, volumes, snapshots, chunks, manifests and temporaries are the server's
  // user's alone (children such as qemu-img inherit the mask).
  process.umask(DATA_UMASK);
  mkdirSync(configIn.dataDir, { recursive: true, mode: 0o700 });
  await tightenDataDir(configIn.dataDir, logger);
  const lock = await acquireDataDirLock(configIn.dataDir);
  const closers: (() => Promise<void>)[] = [async () => lock.release()];
  let closing: Promise<void> | null = null;
  const shutdown = (): Promise<void> =>
    (closing ??= (async () => {
      for (const c of closers) await c().catch((err) => logger.error({ err }, 'shutdown step failed'));
    })());
  try {
    // First, so a wrong backup key or an unusable backup target refuses before anything else is touched. Opening
    // sweeps the temporaries of writers that crashed; closed after the tasks that use them stop.
    const backupTargets = await openBackupTargets(configIn, { create: true });
    closers.unshift(() => backupTargets.close());
    trace.mark('backupTargets');

    // Services write through stores that also tell the event stream what changed (services/events.ts).
    const events = new ChangeEvents(clock);
    const metadata = observeChanges(await openMetadata(configIn, logger), events);
    const database: OpenedDatabase = metadata.database;
    closers.unshift(() => database.close());
    trace.mark('metadata');
    // Nodes sharing a PostgreSQL store pass their changes to each other's event streams.
    const feed = await openChangeFeed(configIn, logger);
    if (feed) {
      events.connect(feed);
      closers.unshift(() => feed.close());
    }
    trace.mark('changeFeed');
    const { db } = database;
    const { store } = metadata;
    // Before the drivers and the bootstrap touch anything: a second process under a live node's name stops here.
    await new ServiceRegistry({ store, services: metadata.services, clock, config: configIn, logger }).checkNodeName();
    trace.mark('checkNodeName');

    // Backends only existing volumes still name join the configured ones; the services see the result.
    const { drivers, backends } = await openDrivers(configIn, metadata, logger);
    const config: ServerConfig = { ...configIn, backends };
    trace.mark('drivers');

    // Every target's repository keeps the console's counters as it works (services/repository/repo-stats.ts).
    const repoStats = new RepoStats({ store, repo: metadata.repoConsole, clock, logger });
    const targets = repoStats.counted(backupTargets.targets);

    // The registry is built below (after the identity bootstrap); until then no poll runs, so nothing is declined.
    let registry: ServiceRegistry | null = null;
    const tasks = openTaskQueue(metadata, {
      clock,
      logger,
      leaseSeconds: config.taskLeaseSeconds,
      pollMs: config.taskPollMs,
      config,
      declinedKinds: () => registry?.declinedTaskKinds() ?? [],
      paused: () => registry !== null && !registry.mayTakeWork(),
    });
    closers.unshift(() => tasks.stop());
    const identity = new IdentityService({ store, identityStore: metadata.identity, clock, config, logger });
    const bootstrap = await identity.bootstrap();
    trace.mark('bootstrap');
    const quotas = new QuotaService(
      store,
      metadata.quotas,
      config.quotaDefaults,
      new VolumeTypeService(store, metadata.volumeTypes, { clock, projects: metadata.identity.projects }),
      metadata.quotaClasses,
    );
    // The services table first: scheduling reads it, and the API lists this node from its first answer.
    const defaultTarget = backupTargets.targets.info(backupTargets.targets.defaultName);
    const serviceRegistry = new ServiceRegistry({
      store,
      services: metadata.services,
      clock,
      config,
      logger,
      // A process that stalled past the down time and finds its name taken stops at once: the new holder runs this
      // node's local tasks and writes its heartbeats now; going on would run them twice.
      onNodeNameLost: () => {
        void (async () => {
          await tasks.stop().catch(() => {});
          await shutdown();
          (opts.onNodeNameLost ?? exitAfterNameLost)();
        })();
      },
      // Nodes compare their default targets' repository ids at start (a node-local one among shared ones warns).
      ...(defaultTarget
        ? {
            backupTarget: {
              name: defaultTarget.name,
              repoId: backupTargets.targets.repo(defaultTarget.name).repoId,
              location: defaultTarget.location,
            },
          }
        : {}),
    });
    await serviceRegistry.start();
    registry = serviceRegistry;
    closers.unshift(() => serviceRegistry.stop());
    trace.mark('serviceRegistry');
    if (store.kind === 'postgres' && config.defaultBackupTarget === 'default') {
      // Another node cannot read this node's data-directory repository: such backups are bound to this node.
      logger.warn('backups go to the data directory by default; with several nodes, give them a shared --backup-target');
    }
    const repos = metadata.blockStorage;
    const services = createBlockStorageServices({
      store,
      repos,
      backupsStore: metadata.backups,
      clock,
      config,
      logger,
      drivers,
      tasks,
      quotas,
      backupTargets: targets,
      blockSources,
      availability: serviceRegistry,
      ...(store.kind === 'postgres' ? { peers: peerNodes({ store, services: metadata.services, tokens: identity.tokens }) } : {}),
    });
    if (feed) {
      // Nodes sharing the store also write shared (RBD) volumes through their own data API: group snapshots and
      // checkpoints hold those writes through the cluster's barrier, not only this process's gates.
      const gates = services.core.writeGates;
      const barrier = new ClusterWriteBarrier({
        store,
        services: metadata.services,
        feed,
        gates,
        node: config.serviceHost,
        liveNodes: async () =>
          (await serviceRegistry.entries()).filter((s) => s.binary === 'cinder-scheduler' && s.state === 'up').map((s) => s.host),
        clock,
        logger,
      });
      barrier.start();
      gates.acrossNodes = (ids, fn) => barrier.hold(ids, fn);
      closers.unshift(() => barrier.stop());
    }
    // Replication between repositories of different formats goes through volume-sized temporaries here; one left
    // by a crash belongs to a copy that was failed, not resumed, so whatever is there at start is garbage.
    const replicationScratch = join(config.dataDir, 'replication-tmp');
    await rm(replicationScratch, { recursive: true, force: true });
    await mkdir(replicationScratch, { recursive: true, mode: 0o700 });
    trace.mark('replicationScratch');
    // CBR runs on the block-storage core built above (one core, one set of drivers, one volume repository).
    const cbr = createCbrServices({
      core: services.core,
      volumes: repos.volumes,
      metadata: store,
      stores: metadata.cbr,
      tasks,
      backupTargets: targets,
      backupData: services.backupData,
      messages: services.messages,
      options: opts.cbr,
      regions: config.regions,
      scratchDir: replicationScratch,
    });
    trace.mark('cbrServices');
    // A single SQLite node holds the data directory's lock, so whatever was running when it last stopped is orphaned.
    await tasks.start(store.kind === 'sqlite');
    trace.mark('tasks');
    if (store.kind === 'sqlite') {
      const interrupted = await services.volumeData.recoverInterruptedUploads();
      if (interrupted.length) logger.warn({ volumes: interrupted }, 'uploads interrupted by the last stop: volumes set to error');
    }
    await cbr.scheduler.start();
    trace.mark('cbrScheduler');
    closers.unshift(() => cbr.scheduler.stop());
    observeBackupProgress(services.backups.progressTracker, events);
    const repoJobs = new RepoJobs({ store, repo: metadata.repoConsole, targets, stats: repoStats, clock, events, node: config.serviceHost, logger });
    await repoJobs.recover(store.kind === 'sqlite');
    trace.mark('repoJobs');
    closers.unshift(() => repoJobs.stop());
    repoStats.start();
    closers.unshift(async () => repoStats.stop());
    services.messages.start();
    closers.unshift(async () => services.messages.stop());

    const app = createHttpApp({ logger, publicUrl: config.publicUrl, tokens: identity });
    registerIdentityRoutes(app, { identity, config });
    registerBlockStorageRoutes(app, {
      ...services,
      quotas,
      quotaSets: new QuotaSetService(quotas),
      // The injected clock, so a test that moves time sees services' updated_at move with it.
      backendStatus: new BackendStatusService(config, clock, serviceRegistry, { store, services: metadata.services, drivers }),
      serviceRegistry,
      config,
      repoConsole: { repoStats, repoJobs, events },
    });
    registerCbrRoutes(app, cbr);
    registerConsoleRoutes(app, opts.consoleDir !== undefined ? { dir: opts.consoleDir } : {});
    registerOpenApiRoutes(app, SERVED_OPERATIONS);
    trace.mark('routes');
    await app.listen({ host: config.host, port: config.port });
    trace.mark('listen');
    closers.unshift(() => app.close());

    const port = (app.server.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    const publicBase = config.publicUrl ?? url;
    if (store.kind === 'postgres') {
      // A wildcard listening address names no host another node could dial: the machine's name stands in for it.
      const wildcard = config.host === '0.0.0.0' || config.host === '::';
      await serviceRegistry.recordApiUrl(config.advertiseUrl ?? (wildcard ? `http://${hostname()}:${port}` : url));
    }
    const cloudsYamlPath = await writeCloudsYaml(config.dataDir, {
      authUrl: `${publicBase}/identity/v3`,
      region: config.region,
      adminPassword: bootstrap?.adminPassword ?? null,
    });
    trace.mark('cloudsYaml');
    trace.flush();

    return {
      url,
      port,
      config,
      bootstrap,
      cloudsYamlPath,
      services,
      cbr,
      tasks,
      serviceRegistry,
      routes: routeInventory(app),
      close: shutdown,
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => {});
    throw err;
  }
}
