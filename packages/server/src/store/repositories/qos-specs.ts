import type { QosSpecsRepository } from '../../domain/ports/qos-specs-store.js';
import { setOwn } from '../../domain/own.js';
import { DEFAULT_QOS_CONSUMER, isQosConsumer, type QosSpecs } from '../../domain/qos-specs.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { executor } from '../metadata-store.js';
import { isUniqueViolation } from './identity.js';
import type { QosSpecsTable } from '../schema.js';

/** The specs of each id, in one query (list pages and single gets alike). */
async function keysOf(scope: Scope, ids: readonly string[]): Promise<Map<string, Record<string, string | null>>> {
  const out = new Map<string, Record<string, string | null>>(ids.map((id) => [id, {}]));
  if (ids.length === 0) return out;
  const rows = await executor(scope)
    .selectFrom('qos_specs_keys')
    .selectAll()
    .where('specs_id', 'in', ids)
    .orderBy('key')
    .execute();
  for (const r of rows) {
    const specs = out.get(r.specs_id);
    if (specs) setOwn(specs, r.key, r.value);
  }
  return out;
}

function toQos(r: QosSpecsTable, specs: Record<string, string | null>): QosSpecs {
  return {
    id: r.id,
    name: r.name,
    consumer: isQosConsumer(r.consumer) ? r.consumer : DEFAULT_QOS_CONSUMER,
    specs,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

async function withKeys(scope: Scope, rows: QosSpecsTable[]): Promise<QosSpecs[]> {
  const keys = await keysOf(
    scope,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toQos(r, keys.get(r.id) ?? {}));
}

async function writeKeys(scope: Scope, id: string, specs: Record<string, string | null>): Promise<void> {
  const entries = Object.entries(specs);
  if (entries.length === 0) return;
  // An upsert (SQLite and PostgreSQL both have ON CONFLICT): two concurrent sets of one new key cannot collide.
  await executor(scope)
    .insertInto('qos_specs_keys')
    .values(entries.map(([key, value]) => ({ specs_id: id, key, value })))
    .onConflict((oc) => oc.columns(['specs_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
    .execute();
}

export const qosSpecsRepository: QosSpecsRepository = {
  async get(scope, id) {
    const r = await executor(scope).selectFrom('qos_specs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && (await withKeys(scope, [r]))[0];
  },

  async byName(scope, name) {
    const r = await executor(scope).selectFrom('qos_specs').selectAll().where('name', '=', name).executeTakeFirst();
    return r && (await withKeys(scope, [r]))[0];
  },

  async insert(scope, q) {
    try {
      await executor(scope)
        .insertInto('qos_specs')
        .values({ id: q.id, name: q.name, consumer: q.consumer, created_at: q.created_at, updated_at: q.updated_at })
        .execute();
    } catch (e) {
      // Another create of the same name committed after this one looked: a duplicate, not a failure.
      if (isUniqueViolation(e)) return false;
      throw e;
    }
    await writeKeys(scope, q.id, q.specs);
    return true;
  },

  async update(scope, id, changes, at) {
    const res = await executor(scope)
      .updateTable('qos_specs')
      .set({ updated_at: at, ...(changes.consumer ? { consumer: changes.consumer } : {}) })
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    await writeKeys(scope, id, changes.specs);
    return true;
  },

  async deleteKeys(scope, id, keys, at) {
    if (keys.length === 0) return [];
    const ex = executor(scope);
    const present = new Set(
      (
        await ex
          .selectFrom('qos_specs_keys')
          .select('key')
          .where('specs_id', '=', id)
          .where('key', 'in', [...keys])
          .execute()
      ).map((r) => r.key),
    );
    if (present.size > 0) {
      await ex
        .deleteFrom('qos_specs_keys')
        .where('specs_id', '=', id)
        .where('key', 'in', [...present])
        .execute();
      await ex.updateTable('qos_specs').set({ updated_at: at }).where('id', '=', id).execute();
    }
    return keys.filter((k) => !present.has(k));
  },

  async remove(scope, id) {
    const ex = executor(scope);
    await ex.deleteFrom('qos_specs_keys').where('specs_id', '=', id).execute();
    await ex.deleteFrom('qos_specs').where('id', '=', id).execute();
  },

  async list(scope, q) {
    let query = executor(scope).selectFrom('qos_specs').selectAll();
    if (q.filters.id !== undefined) query = query.where('id', '=', q.filters.id);
    if (q.filters.name !== undefined) query = query.where('name', '=', q.filters.name);
    if (q.filters.consumer !== undefined) query = query.where('consumer', '=', q.filters.consumer);
    for (const o of q.order) query = query.orderBy(o.column, o.dir);
    if (!q.order.some((o) => o.column === 'id')) query = query.orderBy('id', q.order[0]?.dir ?? 'asc');
    // Specs are an operator's short catalogue: page in memory, so a marker works with any sort.
    const rows = await query.execute();
    let start = q.offset;
    if (q.marker !== null) {
      const at = rows.findIndex((r) => r.id === q.marker);
      if (at < 0) return { ok: false };
      start += at + 1;
    }
    const page = q.limit === null ? rows.slice(start) : rows.slice(start, start + q.limit);
    return { ok: true, items: await withKeys(scope, page) };
  },

  async associations(scope, id) {
    return executor(scope)
      .selectFrom('volume_types')
      .select(['id', 'name'])
      .where('qos_specs_id', '=', id)
      .orderBy('name')
      .orderBy('id')
      .execute();
  },

  async typeQosId(scope, typeId) {
    const r = await executor(scope).selectFrom('volume_types').select('qos_specs_id').where('id', '=', typeId).executeTakeFirst();
    return r ? r.qos_specs_id : undefined;
  },

  async setTypeQos(scope, typeId, qosId, onlyFrom) {
    let u = executor(scope).updateTable('volume_types').set({ qos_specs_id: qosId }).where('id', '=', typeId);
    if (onlyFrom !== undefined) u = u.where('qos_specs_id', '=', onlyFrom);
    await u.execute();
  },

  async clearAll(scope, qosId) {
    await executor(scope).updateTable('volume_types').set({ qos_specs_id: null }).where('qos_specs_id', '=', qosId).execute();
  },

  async ofType(scope, typeId) {
    const id = await this.typeQosId(scope, typeId);
    return id ? this.get(scope, id) : undefined;
  },
};
