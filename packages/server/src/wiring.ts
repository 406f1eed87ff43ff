/**
 * The adapters the server runs on, chosen and opened here and nowhere else (with main.ts, which hands them to
 * the services as ports): the metadata store (SQLite or PostgreSQL) and its repositories, the object store
 * under the backup repository, the backup repository itself, the volume drivers and the task queue. The
 * offline maintenance commands (`cinderbox repo verify|gc --offline`) open the repository through here too,
 * so they and the server see the same location and key.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { withFailuresMapped, withStorageTag } from './domain/errors.js';
import { BackupRepository, isRepoError, RepoError } from './backup-repo/index.js';
import type { ServerConfig } from './config/config.js';
import { acquireDataDirLock } from './config/data-dir-lock.js';
import type { BackupsStore } from './domain/ports/backups-store.js';
import type { BlockStorageStore } from './domain/ports/block-storage-store.js';
import type { CbrStores } from './domain/ports/cbr-store.js';
import type { IdentityStore } from './domain/ports/identity-store.js';
import type { MetadataStore } from './domain/ports/metadata-store.js';
import type { RepoConsoleStore } from './domain/ports/repo-console-store.js';
import type { ChangeFeed } from './domain/ports/change-feed.js';
import type { ObjectStore } from './domain/ports/object-store.js';
import type { QuotaStore, VolumeTypeStore } from './domain/ports/quota-store.js';
import type { QuotaClassStore, ServiceStore } from './domain/ports/service-store.js';
import type { Clock } from './domain/time.js';
import { FsObjectStore } from './drivers/objects/fs/index.js';
import type { S3ObjectStore } from './drivers/objects/s3/s3-object-store.js';
import { S3StoreError } from './drivers/objects/s3/s3-options.js';
import {
  type BackupTargetInfo,
  type BackupTargets,
  backupTargetsOf,
  DATA_DIR_TARGET,
} from './domain/ports/backup-targets.js';
import type { BackupTargetSpec } from './config/backup-targets.js';
import { type OpenedVolumeDrivers, openVolumeDrivers } from './drivers/volume/open-drivers.js';
import { ADDON_PATH, addonStatus } from './drivers/volume/sparse-io.js';
import { postgresChangeFeed } from './store/change-feed-postgres.js';
import { openDatabase, type OpenedDatabase } from './store/database.js';
import { metadataStore } from './store/metadata-store.js';
import { createBackupsStore } from './store/repositories/backups.js';
import { blockStorageStore } from './store/repositories/block-storage.js';
import { cbrStores } from './store/repositories/cbr-stores.js';
import { identityRepository } from './store/repositories/identity.js';
import { taskRoutingLookup, taskStore } from './store/repositories/tasks.js';
import { quotaRepository } from './store/repositories/quotas.js';
import { repoConsoleRepository } from './store/repositories/repo-console.js';
import { quotaClassRepository, serviceRepository } from './store/repositories/services.js';
import { volumeTypeRepository } from './store/repositories/volume-types.js';
import { TaskEngine } from './tasks/task-engine.js';
import { taskRouter } from './tasks/task-routing.js';

/** The metadata store with the repositories services get as ports. */
export interface OpenedMetadata {
  /** The opened database: its kind and `close`, and the task store's handle. */
  database: OpenedDatabase;
  store: MetadataStore;
  identity: IdentityStore;
  backups: BackupsStore;
  blockStorage: BlockStorageStore;
  cbr: CbrStores;
  quotas: QuotaStore;
  volumeTypes: VolumeTypeStore;
  services: ServiceStore;
  quotaClasses: QuotaClassStore;
  /** Repository statistics, samples and jobs (the console's repository view). */
  repoConsole: RepoConsoleStore;
}

export async function openMetadata(config: Pick<ServerConfig, 'dataDir' | 'database'>, logger?: Logger): Promise<OpenedMetadata> {
  return metadataOver(await openDatabase(config, logger));
}

/** The store and its repositories over an opened database (tests open theirs with openTestDatabase). */
export function metadataOver(database: OpenedDatabase): OpenedMetadata {
  const store = metadataStore(database);
  return {
    database,
    store,
    identity: identityRepository,
    backups: createBackupsStore(),
    blockStorage: blockStorageStore(),
    cbr: cbrStores(),
    quotas: quotaRepository,
    volumeTypes: volumeTypeRepository,
    services: serviceRepository,
    quotaClasses: quotaClassRepository,
    repoConsole: repoConsoleRepository,
  };
}

/**
 * The feed that carries change events between nodes sharing a PostgreSQL store (LISTEN/NOTIFY); none on SQLite,
 * where one node holds the store.
 */
export async function openChangeFeed(config: Pick<ServerConfig, 'database'>, logger?: Logger): Promise<ChangeFeed | null> {
  return config.database.kind === 'postgres' ? postgresChangeFeed(config.database.url, logger) : null;
}

/** One driver per configured backend, plus those only existing volumes still name. */
export async function openDrivers(config: ServerConfig, metadata: OpenedMetadata, logger: Logger): Promise<OpenedVolumeDrivers> {
  return openVolumeDrivers(config, await metadata.blockStorage.volumes.driversInUse(metadata.store.root), logger);
}

/**
 * The task engine. On PostgreSQL, where several nodes may share the tasks table, new tasks are bound to the node
 * owning the node-local volume they touch (tasks/task-routing.ts); RBD backends are shared, every node reaches
 * their images. SQLite is one node's store, so nothing is bound there (a node renamed between two starts still
 * runs its old volumes' tasks).
 */
export function openTaskQueue(
  metadata: OpenedMetadata,
  opts: {
    clock: Clock;
    logger: Logger;
    leaseSeconds: number;
    pollMs?: number;
    config?: Pick<ServerConfig, 'serviceHost' | 'backends'>;
    declinedKinds?: () => readonly string[];
    paused?: () => boolean;
  },
): TaskEngine {
  const { config, ...rest } = opts;
  const cluster = config && metadata.database.kind === 'postgres';
  return new TaskEngine({
    store: taskStore(metadata.database),
    ...rest,
    ...(cluster
      ? {
          node: config.serviceHost,
          route: taskRouter(taskRoutingLookup, new Set(config.backends.filter((b) => b.driver === 'rbd').map((b) => b.name))),
        }
      : {}),
  });
}

/** The sparse-io addon, when it loaded, for the chunk workers: aligned memory for O_DIRECT, readahead hints. */
export function chunkWorkerAddon(): { sparseAddon?: string } {
  return addonStatus().loaded ? { sparseAddon: ADDON_PATH } : {};
}

export function backupRepoDir(config: Pick<ServerConfig, 'dataDir'>): string {
  return join(config.dataDir, 'repo');
}

/** Where backup chunks and manifests live: files under the data directory. */
export function openBackupObjectStore(config: Pick<ServerConfig, 'dataDir'>): ObjectStore {
  return withStorageTag(new FsObjectStore(backupRepoDir(config)), 'The backup repository');
}

const KEY_SETTINGS = 'CINDERBOX_BACKUP_KEY / CINDERBOX_BACKUP_KEY_FILE';

/**
 * Opens the repository under the data directory with the configured key. A key that does not fit the
 * repository (wrong key, none for an encrypted one, one for a plain one) is a RepoError WRONG_KEY whose one-line
 * message names the settings to fix.
 */
export async function openBackupRepository(
  config: Pick<ServerConfig, 'dataDir' | 'backupKey'> & Partial<Pick<ServerConfig, 'backupCompression'>>,
  opts: { create: boolean; store?: ObjectStore },
): Promise<BackupRepository> {
  try {
    return await BackupRepository.open({
      // Another object store (an S3 bucket) instead of the data directory's: where backup targets plug in.
      store: opts.store ?? openBackupObjectStore(config),
      create: opts.create,
      ...(config.backupKey ? { key: config.backupKey } : {}),
      ...(config.backupCompression ? { compression: config.backupCompression } : {}),
      ...chunkWorkerAddon(),
      // Node-local, rebuilt from the store when missing or stale: which chunks the store holds (no request each).
      indexDir: join(config.dataDir, 'repo-index'),
    });
  } catch (e) {
    if (isRepoError(e, 'WRONG_KEY')) {
      throw new RepoError('WRONG_KEY', `cannot open the backup repository: ${e.message} (settings: ${KEY_SETTINGS})`);
    }
    throw e;
  }
}

/** The open repositories of every backup target, and how to close them. */
export interface OpenedBackupTargets {
  targets: BackupTargets;
  /** The data directory's repository (target `default`). */
  dataDirRepo: BackupRepository;
  close(): Promise<void>;
}

/**
 * `target`'s store with every S3 failure's message starting with the target's name (listings included: their
 * failures surface while iterating), so a backup's fail_reason and an API error say which configured target
 * failed, not only its bucket.
 */
function namedTargetStore<T extends object>(store: T, name: string): T {
  return withFailuresMapped(store, (e) => renamed(e, name), { iterables: true });
}

function renamed(e: unknown, name: string): unknown {
  if (!(e instanceof S3StoreError) || e.message.startsWith('backup target ')) return e;
  return new S3StoreError(e.reason, `backup target ${JSON.stringify(name)}: ${e.message}`, e.cause);
}

/** The object store of a configured target (not yet checked). */
async function targetObjectStore(spec: BackupTargetSpec): Promise<{ store: ObjectStore; destroy(): void; location: string }> {
  if (spec.kind === 'file') {
    try {
      mkdirSync(spec.path, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new Error(`backup target ${JSON.stringify(spec.name)} (${spec.path}): ${(e as Error).message}`, { cause: e });
    }
    const store = withStorageTag(new FsObjectStore(spec.path), `Backup target "${spec.name}"`);
    return { store, destroy: () => {}, location: spec.path };
  }
  // The AWS SDK only when a target uses S3: importing it costs a fifth of the start-up (bench/scale).
  const { S3ObjectStore } = await import('./drivers/objects/s3/s3-object-store.js');
  const s3 = new S3ObjectStore(spec.s3);
  return { store: namedTargetStore(s3, spec.name), destroy: () => s3.destroy(), location: s3.description };
}

/**
 * Opens the data directory's repository (target `default`) and every configured target's, each with the
 * server's key and compression. A target that cannot be reached, refuses the credentials, lacks its bucket or
 * holds a repository of another key fails the whole start with an error naming it: backups must never discover
 * that at 3 a.m.
 */
export async function openBackupTargets(
  config: Pick<ServerConfig, 'dataDir' | 'backupKey' | 'backupTargets' | 'defaultBackupTarget'> &
    Partial<Pick<ServerConfig, 'backupCompression'>>,
  opts: { create: boolean },
): Promise<OpenedBackupTargets> {
  const opened: Array<BackupTargetInfo & { repo: BackupRepository; destroy(): void }> = [];
  const closeAll = async () => {
    for (const t of opened.reverse()) {
      await t.repo.close().catch(() => {});
      t.destroy();
    }
  };
  try {
    const dataDirRepo = await openBackupRepository(config, { create: opts.create });
    opened.push({ name: DATA_DIR_TARGET, kind: 'file', location: backupRepoDir(config), repo: dataDirRepo, destroy: () => {} });
    for (const spec of config.backupTargets) {
      const t = await targetObjectStore(spec);
      try {
        if (spec.kind === 's3') await (t.store as unknown as S3ObjectStore).probe();
        const repo = await openBackupRepository(config, { create: opts.create, store: t.store });
        opened.push({
          name: spec.name,
          kind: spec.kind,
          location: t.location,
          ...(spec.lockDays !== undefined ? { lockDays: spec.lockDays } : {}),
          repo,
          destroy: t.destroy,
        });
      } catch (e) {
        t.destroy();
        const why = e instanceof Error ? e.message : String(e);
        throw new Error(
          why.startsWith('backup target ') ? why : `backup target ${JSON.stringify(spec.name)} (${t.location}): ${why}`,
          { cause: e },
        );
      }
    }
    const targets = backupTargetsOf(opened, config.defaultBackupTarget);
    return { targets, dataDirRepo, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** The repository opened by a maintenance command while it holds the data directory's lock. */
export interface OfflineRepository {
  repo: BackupRepository;
  /** Stops the repository's workers and releases the lock. */
  close(): Promise<void>;
}

/**
 * Takes the data directory's lock (the one a running server holds, so a server and an offline command never
 * share the repository, and `serve` refuses while this is open), then opens the existing repository.
 */
export async function openOfflineRepository(
  config: Pick<ServerConfig, 'dataDir' | 'backupKey'> & Partial<Pick<ServerConfig, 'backupTargets'>>,
  opts: { target?: string } = {},
): Promise<OfflineRepository> {
  const target = opts.target ?? DATA_DIR_TARGET;
  const spec = config.backupTargets?.find((t) => t.name === target);
  if (target !== DATA_DIR_TARGET && !spec) {
    const known = [DATA_DIR_TARGET, ...(config.backupTargets ?? []).map((t) => t.name)].join(', ');
    throw new Error(`backup target ${JSON.stringify(target)} is not configured (CINDERBOX_BACKUP_TARGETS; configured: ${known})`);
  }
  if (!existsSync(config.dataDir)) throw new Error(`no cinderbox data directory at ${config.dataDir}`);
  let lock: Awaited<ReturnType<typeof acquireDataDirLock>>;
  try {
    lock = await acquireDataDirLock(config.dataDir);
  } catch (e) {
    throw new Error(
      `cannot open the repository offline: ${(e as Error).message}; while the server runs, use the command without --offline`,
    );
  }
  try {
    if (spec) {
      const t = await targetObjectStore(spec);
      let repo: BackupRepository;
      try {
        repo = await openBackupRepository(config, { create: false, store: t.store });
      } catch (e) {
        t.destroy();
        throw new Error(`backup target ${JSON.stringify(target)} (${t.location}): ${(e as Error).message}`, { cause: e });
      }
      return {
        repo,
        async close() {
          try {
            await repo.close();
            t.destroy();
          } finally {
            await lock.release();
          }
        },
      };
    }
    if (!existsSync(join(backupRepoDir(config), 'config'))) {
      throw new Error(`no backup repository in ${config.dataDir} (the server creates it on its first start)`);
    }
    const repo = await openBackupRepository(config, { create: false });
    return {
      repo,
      async close() {
        try {
          await repo.close();
        } finally {
          await lock.release();
        }
      },
    };
  } catch (e) {
    await lock.release();
    throw e;
  }
}
