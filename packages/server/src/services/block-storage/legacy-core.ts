/**
 * TEMPORARY bridge, to be deleted when the backup and CBR services are merged in their repository form (issue
 * #14): the kysely-shaped `Core` they were written against (`db`, `inTx` with a kysely transaction, table rows),
 * on top of the new store-free `Core`. Nothing else may import this module.
 */
import type { AuthContext } from '../../domain/auth-context.js';
import { notFound } from '../../domain/errors.js';
import type { ListFilter, ListWhere } from '../../domain/ports/block-storage-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { Db, Executor, Tx } from '../../store/database.js';
import { type ListTableSpec, listRows as storeListRows } from '../../store/list-query.js';
import { asScope, executor } from '../../store/metadata-store.js';
import { toVolume } from '../../store/repositories/volumes.js';
import type { SnapshotTable, VolumeTable } from '../../store/schema.js';
import { canSee } from './access.js';
import { Core, type CoreDeps, UUID_RE } from './core.js';
import { listQuery } from './listing.js';
import type { ListRequest, VolumeRecord } from './types.js';

export { GiB, UUID_RE } from './core.js';
export {
  deleteAllMetadata,
  deleteMetadataKey,
  readMetadata,
  readMetadataMany,
  writeMetadata,
} from '../../store/repositories/metadata.js';

export type Filter = ListFilter;
export type ListScope = ListWhere;

/** The old list-table description (backups): the store spec plus the API sort keys. */
export interface ListTable extends ListTableSpec {
  sortColumns: Readonly<Record<string, string>>;
}

export async function listRows(
  exec: Executor,
  t: ListTable,
  scope: ListScope,
  req: ListRequest,
  markerNotFound: (marker: string) => Error = (m) => notFound(`Marker ${m} could not be found.`),
): Promise<{ rows: Record<string, unknown>[]; count: number | null; limit: number }> {
  const q = listQuery(t, scope, req);
  const page = await storeListRows(exec, t, q);
  if (!page) throw markerNotFound(req.marker!);
  return { rows: page.rows, count: page.count, limit: q.limit };
}

export class LegacyCore {
  constructor(readonly core: Core) {}

  get deps(): CoreDeps {
    return this.core.deps;
  }

  get db(): Db {
    return executor(this.core.store.root) as Db;
  }

  now(): string {
    return this.core.now();
  }

  backend() {
    return this.core.backend();
  }

  hostOf(b: Parameters<Core['hostOf']>[0]): string {
    return this.core.hostOf(b);
  }

  driver(name: string) {
    return this.core.driver(name);
  }

  inTx<T>(
    fn: (tx: Tx, enqueue: (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    return this.core.inTx((scope, enqueue) => fn(executor(scope) as Tx, enqueue));
  }

  async volumeRow(exec: Executor, id: string): Promise<VolumeTable | undefined> {
    if (!UUID_RE.test(id)) return undefined;
    return exec.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst();
  }

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

  volumeRecord(row: VolumeTable, exec: Executor = this.db): Promise<VolumeRecord> {
    return this.core.volumeRecord(toVolume(row), asScope(exec));
  }

  volumeTypeName(exec: Executor, typeId: string | null): Promise<string | null> {
    return this.core.volumeTypeName(asScope(exec), typeId);
  }

  volumeQuota(size: number, typeName: string | null): Record<string, number> {
    return this.core.volumeQuota(size, typeName);
  }

  snapshotQuota(size: number, typeName: string | null): Record<string, number> {
    return this.core.snapshotQuota(size, typeName);
  }
}

/** For services/cbr (which still builds its own core). */
export function legacyCore(deps: CoreDeps): LegacyCore {
  return new LegacyCore(new Core(deps));
}

/** The kysely transaction behind a scope handed out by the new `Core.inTx`. */
export function legacyTx(scope: Scope): Tx {
  return executor(scope) as Tx;
}
