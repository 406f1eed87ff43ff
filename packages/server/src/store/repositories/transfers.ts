import type { TransfersRepository } from '../../domain/ports/transfer-store.js';
import type { Transfer } from '../../domain/transfer.js';
import { executor } from '../metadata-store.js';
import type { TransferTable } from '../schema.js';

function toTransfer(r: TransferTable): Transfer {
  return {
    id: r.id,
    volume_id: r.volume_id,
    display_name: r.display_name,
    salt: r.salt,
    crypt_hash: r.crypt_hash,
    no_snapshots: Boolean(r.no_snapshots),
    source_project_id: r.source_project_id,
    destination_project_id: r.destination_project_id,
    accepted: Boolean(r.accepted),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

export const transfersRepository: TransfersRepository = {
  async get(scope, id) {
    const r = await executor(scope).selectFrom('transfers').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
    return r && toTransfer(r);
  },
  async insert(scope, t) {
    await executor(scope)
      .insertInto('transfers')
      .values({
        ...t,
        no_snapshots: t.no_snapshots ? 1 : 0,
        accepted: t.accepted ? 1 : 0,
        deleted: 0,
        deleted_at: null,
      })
      .execute();
  },
  async list(scope, projectId) {
    let q = executor(scope)
      .selectFrom('transfers')
      .innerJoin('volumes', 'volumes.id', 'transfers.volume_id')
      .selectAll('transfers')
      .where('transfers.deleted', '=', 0);
    if (projectId !== null) q = q.where('transfers.source_project_id', '=', projectId);
    const rows = await q.orderBy('transfers.created_at', 'asc').orderBy('transfers.id', 'asc').execute();
    return rows.map(toTransfer);
  },
  async close(scope, id, at, accepted) {
    const res = await executor(scope)
      .updateTable('transfers')
      .set({
        deleted: 1,
        deleted_at: at,
        updated_at: at,
        ...(accepted ? { accepted: 1, destination_project_id: accepted.destinationProjectId } : {}),
      })
      .where('id', '=', id)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },
};
