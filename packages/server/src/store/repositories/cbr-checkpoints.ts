import type { Checkpoint } from '../../domain/cbr.js';
import type { CheckpointRepository, Transition } from '../../domain/ports/cbr-store.js';
import { guardedTransition } from '../guarded.js';
import { executor } from '../metadata-store.js';
import type { CbrCheckpointTable } from '../schema.js';
import { checkpointOf, checkpointRow } from './cbr-rows.js';

export function cbrCheckpointRepository(): CheckpointRepository {
  return {
    async get(scope, projectId, id) {
      const r = await executor(scope)
        .selectFrom('cbr_checkpoints')
        .selectAll()
        .where('id', '=', id)
        .where('project_id', '=', projectId)
        .executeTakeFirst();
      return r && checkpointOf(r);
    },

    async byId(scope, id) {
      const r = await executor(scope).selectFrom('cbr_checkpoints').selectAll().where('id', '=', id).executeTakeFirst();
      return r && checkpointOf(r);
    },

    async insert(scope, checkpoint) {
      await executor(scope).insertInto('cbr_checkpoints').values(checkpointRow(checkpoint) as CbrCheckpointTable).execute();
    },

    async transition(scope, id, from, to, changes = {}): Promise<Transition<Checkpoint>> {
      const t = await guardedTransition(executor(scope), 'cbr_checkpoints', id, from, to, checkpointRow(changes));
      return t.ok ? { ok: true, record: checkpointOf(t.record) } : t;
    },
  };
}
