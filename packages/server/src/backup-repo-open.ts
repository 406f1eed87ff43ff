/**
 * Where and how the server's backup repository is opened: shared by the server (main.ts) and by the offline
 * maintenance commands (`cinderbox repo verify|gc --offline`), so both see the same location and key.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BackupRepository, isRepoError, RepoError } from './backup-repo/index.js';
import type { ServerConfig } from './config/config.js';
import { acquireDataDirLock } from './config/data-dir-lock.js';
import { FsObjectStore } from './drivers/objects/fs/index.js';
import { ADDON_PATH, addonStatus } from './drivers/volume/sparse-io.js';

/** The sparse-io addon, when it loaded, for the chunk workers: aligned memory for O_DIRECT, readahead hints. */
export function chunkWorkerAddon(): { sparseAddon?: string } {
  return addonStatus().loaded ? { sparseAddon: ADDON_PATH } : {};
}

export function backupRepoDir(config: Pick<ServerConfig, 'dataDir'>): string {
  return join(config.dataDir, 'repo');
}

const KEY_SETTINGS = 'CINDERBOX_BACKUP_KEY / CINDERBOX_BACKUP_KEY_FILE';

/**
 * Opens the repository under the data directory with the configured key. A key that does not fit the
 * repository (wrong key, none for an encrypted one, one for a plain one) is a RepoError WRONG_KEY whose one-line
 * message names the settings to fix.
 */
export async function openBackupRepository(
  config: Pick<ServerConfig, 'dataDir' | 'backupKey'> & Partial<Pick<ServerConfig, 'backupCompression'>>,
  opts: { create: boolean },
): Promise<BackupRepository> {
  try {
    return await BackupRepository.open({
      store: new FsObjectStore(backupRepoDir(config)),
      create: opts.create,
      ...(config.backupKey ? { key: config.backupKey } : {}),
      ...(config.backupCompression ? { compression: config.backupCompression } : {}),
      ...chunkWorkerAddon(),
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
