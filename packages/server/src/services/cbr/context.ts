import type { ServerConfig } from '../../config/config.js';
import type { Volume } from '../../domain/volume.js';
import type { BackupTargets } from '../../domain/ports/backup-targets.js';
import type { BackupStore } from '../../domain/ports/backup-store.js';
import type { AuthContext } from '../../domain/auth-context.js';
import type { Vault } from '../../domain/cbr.js';
import type { VolumesRepository } from '../../domain/ports/block-storage-store.js';
import type { CbrDiskAccess, CbrStores } from '../../domain/ports/cbr-store.js';
import type { MetadataStore, Scope } from '../../domain/ports/metadata-store.js';
import type { TaskQueue } from '../../domain/ports/task-queue.js';
import type { WriteGates } from '../block-storage/write-gates.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { type Clock, storedTime } from '../../domain/time.js';
import { GiB, UUID_RE } from '../../domain/units.js';
import type { BackupDataPath } from '../backup-data-path.js';
import { cbrDiskAccess } from './disks.js';
import { cbrError, invalid, vaultNotFound } from './errors.js';
import type { FailureEvent } from '../../domain/message.js';

export { GiB, UUID_RE };

export interface CbrOptions {
  /** Sharing disk backups with other projects (a cinderbox extension; OTC shares server backups only). */
  shareDiskBackups: boolean;
  /** Bytes of one billing GB (vault capacity, `allocated`); a MB is 1/1024 of it. Tests shrink it. */
  gigabyte: number;
  /** How often the scheduler looks for due policies (ms). */
  schedulerIntervalMs: number;
  /** A run that starts this long after its trigger time is reported as late. */
  lateAfterMs: number;
}

export function cbrOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CbrOptions {
  const flag = (env.CINDERBOX_CBR_SHARE_DISK_BACKUPS ?? '').toLowerCase();
  return {
    shareDiskBackups: ['1', 'true', 'yes', 'on'].includes(flag),
    gigabyte: GiB,
    schedulerIntervalMs: 30_000,
    lateAfterMs: 5 * 60_000,
  };
}

export const DISK_TYPE = 'OS::Cinder::Volume';
export const SERVER_TYPE = 'OS::Nova::Server';
export const DISK_PROVIDER_ID = 'd1603440-187d-4516-af25-121250c7cc97';
export const SERVER_PROVIDER_ID = '0daac4c5-6707-4851-97ba-169e36266b66';
export const TURBO_PROVIDER_ID = '3f3c3220-245c-4805-b811-758870015881';

export function providerOf(objectType: string): string {
  return objectType === 'server' ? SERVER_PROVIDER_ID : objectType === 'turbo' ? TURBO_PROVIDER_ID : DISK_PROVIDER_ID;
}

/** What CBR uses of block storage's `Core`: its drivers, clock and logger (the one core, shared). */
export interface CbrBlockStorageCore {
  readonly deps: {
    readonly clock: Clock;
    readonly logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
    /** Which store (several nodes only on PostgreSQL) and backends: a checkpoint's disks must share one node. */
    readonly config: Pick<ServerConfig, 'database' | 'backends'>;
  };
  driver(name: string): VolumeDriver;
  /** A disk's Cinder record (its host names the node of a local backend), undefined when gone. */
  volumeRow(scope: Scope, id: string): Promise<Pick<Volume, 'host' | 'driver'> | undefined | null>;
  /** Hooks run in a new volume's create transaction (auto_bind adds one). */
  readonly volumeCreatedHooks: ((tx: Scope, volume: { id: string; project_id: string; name: string | null }, metadata: Record<string, string>) => Promise<void>)[];
  /** A checkpoint of several disks freezes them all behind these (block-storage/write-gates.ts). */
  readonly writeGates: WriteGates;
}

/** The task queue as CBR uses it: its handlers are registered once, at start. */
export type Enqueue = (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>;

export interface CbrDeps {
  /** The block-storage core built by `createBlockStorageServices`. */
  core: CbrBlockStorageCore;
  /** Block storage's volume repository: CBR reads and claims disks through it. */
  volumes: VolumesRepository;
  metadata: MetadataStore;
  stores: CbrStores;
  tasks: TaskQueue;
  /** The backup targets; a vault's backups go to the vault's. */
  backupTargets: BackupTargets;
  /** Block storage's backup data path and base bookkeeping: CBR backups read and keep bases the same way. */
  backupData: BackupDataPath;
  /** Block storage's user messages: a failed CBR restore is a failure of a Cinder volume its users see there. */
  messages?: CbrMessages;
}

export interface CbrMessages {
  record(scope: Scope, event: FailureEvent): Promise<unknown>;
}

/** Shared plumbing of the CBR services: the store and its repositories, disks, drivers, the repository, options. */
export class CbrContext {
  readonly metadata: MetadataStore;
  readonly stores: CbrStores;
  readonly disks: CbrDiskAccess;
  readonly core: CbrBlockStorageCore;
  /** The default target's repository. */
  readonly repo: BackupStore;
  readonly targets: BackupTargets;
  readonly data: BackupDataPath;
  readonly messages: CbrMessages | null;

  constructor(
    private readonly deps: CbrDeps,
    readonly options: CbrOptions,
  ) {
    this.metadata = deps.metadata;
    this.stores = deps.stores;
    this.disks = cbrDiskAccess(deps.volumes, () => this.now());
    this.core = deps.core;
    this.targets = deps.backupTargets;
    this.repo = deps.backupTargets.repo(deps.backupTargets.defaultName);
    this.data = deps.backupData;
    this.messages = deps.messages ?? null;
  }

  /** The repository of the target a backup record names. */
  repoOf(b: { backup_target: string }): BackupStore {
    return this.targets.repo(b.backup_target);
  }

  /** The store outside any transaction. */
  get root(): Scope {
    return this.metadata.root;
  }

  get logger() {
    return this.core.deps.logger;
  }

  now(): string {
    return storedTime(this.core.deps.clock.now());
  }

  nowDate(): Date {
    return this.core.deps.clock.now();
  }

  /** Runs `fn` in a transaction, then dispatches the tasks it enqueued once they are committed. */
  async inTx<T>(fn: (tx: Scope, enqueue: Enqueue) => Promise<T>): Promise<T> {
    let taskIds: string[] = [];
    const result = await this.metadata.transaction((tx) => {
      // A retried transaction starts over: only the tasks of the attempt that committed are dispatched.
      taskIds = [];
      return fn(tx, async (kind, resourceType, resourceId, payload) => {
        taskIds.push(await this.deps.tasks.enqueue(tx, { kind, resourceType, resourceId, payload }));
      });
    });
    for (const id of taskIds) this.deps.tasks.dispatch(id);
    return result;
  }

  /** CBR objects belong to the token's project (the path project always equals it). */
  project(ctx: AuthContext): string {
    if (!ctx.projectId) throw cbrError('forbidden', '8600', 'A project-scoped token is required.');
    return ctx.projectId;
  }

  async vault(scope: Scope, projectId: string, id: string): Promise<Vault> {
    const v = UUID_RE.test(id) ? await this.stores.vaults.get(scope, projectId, id) : undefined;
    if (!v) throw vaultNotFound(id);
    return v;
  }

  usedBytes(scope: Scope, vaultId: string): Promise<number> {
    return this.stores.backups.usedBytes(scope, vaultId);
  }

  capacityBytes(v: Vault): number {
    return v.size * this.options.gigabyte;
  }

  /** MB as the API reports `used` and `backup_size`. */
  toMb(bytes: number): number {
    return Math.ceil(bytes / (this.options.gigabyte / 1024));
  }

  toGb(bytes: number): number {
    return Math.ceil(bytes / this.options.gigabyte);
  }
}

/**
 * Query times arrive as `YYYY-MM-DDTHH:MM:SS[.ffffff][Z]` (the contract's pattern); stored times are compared as
 * text. A date the pattern lets through but the calendar does not (month 13) is refused here.
 */
export function queryTime(value: string, name: string): string {
  const iso = value.replace(' ', 'T').replace(/(Z|[+-]00:00)$/, '');
  const d = new Date(`${iso}Z`);
  if (Number.isNaN(d.getTime())) throw invalid(`${name} is not a valid time.`);
  return storedTime(d);
}
