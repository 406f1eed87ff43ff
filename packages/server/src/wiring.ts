/**
 * The adapters the server runs on, chosen and opened here and nowhere else (with main.ts, which hands them to
 * the services as ports): the metadata store (SQLite or PostgreSQL) and its repositories, the object store
 * under the backup repository, the backup repository itself, the volume drivers and the task queue. The
 * offline maintenance commands (`cinderbox repo verify|gc --offline`) open the repository through here too,
 * so they and the server see the same location and key.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { withStorageTag } from './domain/errors.js';
import { BackupRepository, isRepoError, RepoError } from './backup-repo/index.js';
import type { ServerConfig } from './config/config.js';
import { acquireDataDirLock } from './config/data-dir-lock.js';
import type { BackupsStore } from './domain/ports/backups-store.js';
import type { BlockStorageStore } from './domain/ports/block-storage-store.js';
import type { CbrStores } from './domain/ports/cbr-store.js';
import type { IdentityStore } from './domain/ports/identity-store.js';
import type { MetadataStore } from './domain/ports/metadata-store.js';
import type { ObjectStore } from './domain/ports/object-store.js';
import type { QuotaStore, VolumeTypeStore } from './domain/ports/quota-store.js';
import type { Clock } from './domain/time.js';
import { FsObjectStore } from './drivers/objects/fs/index.js';
import { type OpenedVolumeDrivers, openVolumeDrivers } from './drivers/volume/open-drivers.js';
import { ADDON_PATH, addonStatus } from './drivers/volume/sparse-io.js';
import { openDatabase, type OpenedDatabase } from './store/database.js';
import { metadataStore } from './store/metadata-store.js';
import { createBackupsStore } from './store/repositories/backups.js';
import { blockStorageStore } from './store/repositories/block-storage.js';
import { cbrStores } from './store/repositories/cbr-stores.js';
import { identityRepository } from './store/repositories/identity.js';
import { taskStore } from './store/repositories/tasks.js';
import { quotaRepository } from './store/repositories/quotas.js';
import { volumeTypeRepository } from './store/repositories/volume-types.js';
import { TaskEngine } from './tasks/task-engine.js';

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
  };
}

/** One driver per configured backend, plus those only existing volumes still name. */
export async function openDrivers(config: ServerConfig, metadata: OpenedMetadata, logger: Logger): Promise<OpenedVolumeDrivers> {
  return openVolumeDrivers(config, await metadata.blockStorage.volumes.driversInUse(metadata.store.root), logger);
}

export function openTaskQueue(metadata: OpenedMetadata, opts: { clock: Clock; logger: Logger; leaseSeconds: number }): TaskEngine {
  return new TaskEngine({ store: taskStore(metadata.database), ...opts });
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
  config: Pick<ServerConfig, 'dataDir' | 'backupKey'>,
): Promise<OfflineRepository> {
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
