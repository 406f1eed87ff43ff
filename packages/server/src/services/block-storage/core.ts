import type { Logger } from 'pino';
import { type BackendConfig, backendHostName, type ServerConfig } from '../../config/config.js';
import type { AuthContext } from '../../domain/auth-context.js';
import { notFound } from '../../domain/errors.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { type Clock, storedTime } from '../../domain/time.js';
import type { Db, Executor, Tx } from '../../store/database.js';
import type { SnapshotTable, VolumeTable } from '../../store/schema.js';
import type { TaskQueue } from '../../domain/ports/task-queue.js';
import type { QuotaService } from '../quotas.js';
import { canSee } from './access.js';
import { readMetadata, readMetadataMany } from './metadata-store.js';
import type { SnapshotRecord, VolumeRecord } from './types.js';

export const GiB = 1024 * 1024 * 1024;
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface CoreDeps {
  db: Db;
  clock: Clock;
  config: ServerConfig;
  logger: Logger;
  drivers: Map<string, VolumeDriver>;
  tasks: TaskQueue;
  quotas: QuotaService;
}

/** Shared plumbing of the volume and snapshot services: lookups with visibility, records, transactions + dispatch. */
export class Core {
  constructor(readonly deps: CoreDeps) {}

  get db(): Db {
    return this.deps.db;
  }

  now(): string {
    return storedTime(this.deps.clock.now());
  }

  backend(): BackendConfig {
    const b = this.deps.config.backends[0];
    if (!b) throw new Error('no volume backend configured');
    return b;
  }

  hostOf(b: BackendConfig): string {
    return backendHostName(this.deps.config, b);
  }

  driver(name: string): VolumeDriver {
    const d = this.deps.drivers.get(name);
    if (!d) throw new Error(`volume driver ${name} is not loaded`);
    return d;
  }

  /** Runs `fn` in a transaction, then dispatches the tasks it enqueued once they are committed. */
  async inTx<T>(
    fn: (
      tx: Tx,
      enqueue: (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>,
    ) => Promise<T>,
  ): Promise<T> {
    const taskIds: string[] = [];
    const result = await this.db.transaction().execute(async (tx) =>
      fn(tx, async (kind, resourceType, resourceId, payload) => {
        taskIds.push(await this.deps.tasks.enqueue(tx, { kind, resourceType, resourceId, payload }));
      }),
    );
    for (const id of taskIds) this.deps.tasks.dispatch(id);
    return result;
  }

  async volumeRow(exec: Executor, id: string): Promise<VolumeTable | undefined> {
    if (!UUID_RE.test(id)) return undefined;
    return exec.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The volume if the caller may see it, else Cinder's VolumeNotFound (404). */
  async visibleVolume(ctx: AuthContext, id: string, exec: Executor = this.db): Promise<VolumeTable> {
    const row = await this.volumeRow(exec, id);
    if (!row || !canSee(ctx, row.project_id)) throw notFound(`Volume ${id} could not be found.`);
    return row;
  }

  async snapshotRow(exec: Executor, id: string): Promise<SnapshotTable | undefined> {
    if (!UUID_RE.test(id)) return undefined;
    return exec.selectFrom('snapshots').selectAll().where('id', '=', id).where('hidden', '=', 0).executeTakeFirst();
  }

  async visibleSnapshot(ctx: AuthContext, id: string, exec: Executor = this.db): Promise<SnapshotTable> {
    const row = await this.snapshotRow(exec, id);
    if (!row || !canSee(ctx, row.project_id)) throw notFound(`Snapshot ${id} could not be found.`);
    return row;
  }

  async volumeRecords(rows: VolumeTable[], exec: Executor = this.db): Promise<VolumeRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [md, amd, attachments, types] = await Promise.all([
      readMetadataMany(exec, 'volume', ids),
      readMetadataMany(exec, 'volume_admin', ids),
      exec
        .selectFrom('volume_attachments')
        .selectAll()
        .where('volume_id', 'in', ids)
        .where('attach_status', '=', 'attached')
        .orderBy('attached_at')
        .execute(),
      exec
        .selectFrom('volume_types')
        .select(['id', 'name'])
        .where('id', 'in', [...new Set(rows.map((r) => r.volume_type_id))])
        .execute(),
    ]);
    const typeName = new Map(types.map((t) => [t.id, t.name]));
    return rows.map((row) => ({
      row,
      metadata: md.get(row.id) ?? {},
      adminMetadata: amd.get(row.id) ?? {},
      attachments: attachments.filter((a) => a.volume_id === row.id),
      volumeTypeName: typeName.get(row.volume_type_id) ?? row.volume_type_id,
    }));
  }

  async volumeRecord(row: VolumeTable, exec: Executor = this.db): Promise<VolumeRecord> {
    return (await this.volumeRecords([row], exec))[0]!;
  }

  async snapshotRecord(row: SnapshotTable, exec: Executor = this.db): Promise<SnapshotRecord> {
    return { row, metadata: await readMetadata(exec, 'snapshot', row.id) };
  }

  async snapshotRecords(rows: SnapshotTable[], exec: Executor = this.db): Promise<SnapshotRecord[]> {
    const md = await readMetadataMany(
      exec,
      'snapshot',
      rows.map((r) => r.id),
    );
    return rows.map((row) => ({ row, metadata: md.get(row.id) ?? {} }));
  }

  async volumeTypeName(exec: Executor, typeId: string | null): Promise<string | null> {
    if (typeId === null) return null;
    const t = await exec.selectFrom('volume_types').select('name').where('id', '=', typeId).executeTakeFirst();
    return t?.name ?? null;
  }

  /** Quota deltas of a volume of `size` GiB of type `typeName`, including the per-type resources. */
  volumeQuota(size: number, typeName: string | null): Record<string, number> {
    const d: Record<string, number> = { volumes: 1, gigabytes: size };
    if (typeName) {
      d[`volumes_${typeName}`] = 1;
      d[`gigabytes_${typeName}`] = size;
    }
    return d;
  }

  snapshotQuota(size: number, typeName: string | null): Record<string, number> {
    const d: Record<string, number> = { snapshots: 1, gigabytes: size };
    if (typeName) {
      d[`snapshots_${typeName}`] = 1;
      d[`gigabytes_${typeName}`] = size;
    }
    return d;
  }
}
