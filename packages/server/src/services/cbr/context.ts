import type { BackupStore } from '../../domain/ports/backup-store.js';
import type { AuthContext } from '../../domain/auth-context.js';
import { storedTime } from '../../domain/time.js';
import type { Executor } from '../../store/database.js';
import type { CbrVaultTable } from '../../store/schema.js';
import { type LegacyCore as Core, GiB, UUID_RE } from '../block-storage/legacy-core.js';
import { cbrError, invalid, vaultNotFound } from './errors.js';

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

/** Shared plumbing of the CBR services: the block-storage core (lookups, transactions), the repository, options. */
export class CbrContext {
  constructor(
    readonly core: Core,
    readonly repo: BackupStore,
    readonly options: CbrOptions,
  ) {}

  get db() {
    return this.core.db;
  }

  now(): string {
    return this.core.now();
  }

  nowDate(): Date {
    return this.core.deps.clock.now();
  }

  /** CBR objects belong to the token's project (the path project always equals it). */
  project(ctx: AuthContext): string {
    if (!ctx.projectId) throw cbrError('forbidden', '8600', 'A project-scoped token is required.');
    return ctx.projectId;
  }

  async vault(exec: Executor, projectId: string, id: string): Promise<CbrVaultTable> {
    const v = UUID_RE.test(id)
      ? await exec
          .selectFrom('cbr_vaults')
          .selectAll()
          .where('id', '=', id)
          .where('project_id', '=', projectId)
          .executeTakeFirst()
      : undefined;
    if (!v) throw vaultNotFound(id);
    return v;
  }

  /** Real stored bytes of the vault: the repository bytes its backups added (dedup attributes a chunk once). */
  async usedBytes(exec: Executor, vaultId: string): Promise<number> {
    const r = await exec
      .selectFrom('cbr_backups')
      .select((eb) => eb.fn.sum<number>('stored_bytes').as('n'))
      .where('vault_id', '=', vaultId)
      .where('status', '<>', 'error')
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  capacityBytes(v: CbrVaultTable): number {
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

/** Query times arrive as `YYYY-MM-DDTHH:MM:SS[.ffffff][Z]`; stored times are compared as text. */
export function queryTime(value: string, name: string): string {
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]00:00)?$/.test(value))
    throw invalid(`${name} must look like 2024-01-31T12:00:00Z.`);
  const iso = value.replace(' ', 'T').replace(/(Z|[+-]00:00)$/, '');
  const d = new Date(`${iso}Z`);
  if (Number.isNaN(d.getTime())) throw invalid(`${name} is not a valid time.`);
  return storedTime(d);
}

export function jsonParse<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
