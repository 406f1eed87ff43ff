import type { BackupTargetIdentity, ProjectUsage, QuotaClassStore, ServiceBinary, ServiceRow, ServiceStore } from '../../domain/ports/service-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { executor } from '../metadata-store.js';
import { prepared } from '../prepared.js';
import type { ServiceTable } from '../schema.js';

const serviceByHost = prepared<{ host: string; binary: string }, ServiceTable>((db, arg) =>
  db.selectFrom('services').selectAll().where('host', '=', arg('host')).where('binary', '=', arg('binary')),
);

const classLimitRows = prepared<{ className: string }, { resource: string; hard_limit: number }>((db, arg) =>
  db.selectFrom('quota_classes').select(['resource', 'hard_limit']).where('class_name', '=', arg('className')),
);

function toRow(r: ServiceTable): ServiceRow {
  return {
    host: r.host,
    binary: r.binary as ServiceBinary,
    availabilityZone: r.availability_zone,
    disabled: Number(r.disabled) === 1,
    disabledReason: r.disabled_reason,
    frozen: Number(r.frozen) === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    instance: r.instance ?? null,
    capacity: parseCapacity(r.capacity ?? null),
    backupTarget: parseBackupTarget(r.backup_target ?? null),
    apiUrl: r.api_url ?? null,
    stoppedAt: r.stopped_at ?? null,
  };
}

function parseBackupTarget(text: string | null): BackupTargetIdentity | null {
  if (!text) return null;
  try {
    const t = JSON.parse(text) as { name?: unknown; repo_id?: unknown; location?: unknown };
    return typeof t.name === 'string' && typeof t.repo_id === 'string' && typeof t.location === 'string'
      ? { name: t.name, repoId: t.repo_id, location: t.location }
      : null;
  } catch {
    return null;
  }
}

function parseCapacity(text: string | null): { totalGb: number; freeGb: number } | null {
  if (!text) return null;
  try {
    const c = JSON.parse(text) as { total_gb?: unknown; free_gb?: unknown };
    return typeof c.total_gb === 'number' && typeof c.free_gb === 'number' ? { totalGb: c.total_gb, freeGb: c.free_gb } : null;
  } catch {
    return null;
  }
}

export const serviceRepository: ServiceStore = {
  async list(scope: Scope) {
    const rows = await executor(scope).selectFrom('services').selectAll().orderBy('binary').orderBy('host').execute();
    return rows.map(toRow);
  },

  async get(scope: Scope, host: string, binary: string) {
    const r = (await serviceByHost(executor(scope), { host, binary }))[0];
    return r ? toRow(r) : null;
  },

  async heartbeat(scope: Scope, host: string, binary: ServiceBinary, zone: string, now: string, instance: string | null = null, capacity = null) {
    const cap = capacity ? JSON.stringify({ total_gb: capacity.totalGb, free_gb: capacity.freeGb }) : null;
    await executor(scope)
      .insertInto('services')
      .values({ host, binary, availability_zone: zone, disabled: 0, disabled_reason: null, frozen: 0, created_at: now, updated_at: now, instance, capacity: cap, stopped_at: null })
      .onConflict((oc) => oc.columns(['host', 'binary']).doUpdateSet({ updated_at: now, availability_zone: zone, instance, capacity: cap, stopped_at: null }))
      .execute();
  },

  async claimNode(scope, c) {
    // INSERT … ON CONFLICT DO UPDATE … WHERE: PostgreSQL locks the conflicting row and checks the condition against
    // its latest committed version, so a racing claim that committed first makes this one update nothing.
    const res = await executor(scope)
      .insertInto('services')
      .values({
        host: c.host,
        binary: 'cinder-scheduler',
        availability_zone: c.zone,
        disabled: 0,
        disabled_reason: null,
        frozen: 0,
        created_at: c.now,
        updated_at: c.now,
        instance: c.instance,
        capacity: null,
        stopped_at: null,
      })
      .onConflict((oc) =>
        oc
          .columns(['host', 'binary'])
          .doUpdateSet({ instance: c.instance, updated_at: c.now, availability_zone: c.zone, stopped_at: null })
          .where((eb) =>
            eb.or([
              eb('services.instance', 'is', null),
              eb('services.instance', '=', c.instance),
              eb('services.updated_at', 'is', null),
              eb('services.updated_at', '<', c.staleBefore),
              ...(c.deadInstance ? [eb('services.instance', '=', c.deadInstance)] : []),
            ]),
          ),
      )
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  async beatIfHeld(scope, host, instance, now) {
    const res = await executor(scope)
      .updateTable('services')
      .set({ updated_at: now, instance, stopped_at: null })
      .where('host', '=', host)
      .where('binary', '=', 'cinder-scheduler')
      // A row naming nobody was released by a clean stop (this process's own, or a later holder's): the name is
      // free, as a claim would find it, so the beat takes it back.
      .where((eb) => eb.or([eb('instance', '=', instance), eb('instance', 'is', null)]))
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) > 0) return true;
    // No row at all: nobody claimed the name (the heartbeat that follows creates it); a row naming another
    // process is a name this process no longer holds.
    const row = await executor(scope).selectFrom('services').select('host').where('host', '=', host).where('binary', '=', 'cinder-scheduler').executeTakeFirst();
    return row === undefined;
  },

  async openBarrier(scope, b) {
    if (b.volumeIds.length === 0) return;
    await executor(scope)
      .insertInto('write_barriers')
      .values([...new Set(b.volumeIds)].map((volume_id) => ({ id: b.id, volume_id, node: b.node, expires_at: b.expiresAt })))
      .execute();
  },

  async activeBarriers(scope, now) {
    const rows = await executor(scope).selectFrom('write_barriers').selectAll().where('expires_at', '>', now).orderBy('id').execute();
    const out = new Map<string, { id: string; node: string; volumeIds: string[]; expiresAt: string }>();
    for (const r of rows) {
      const b = out.get(r.id) ?? { id: r.id, node: r.node, volumeIds: [], expiresAt: r.expires_at };
      b.volumeIds.push(r.volume_id);
      out.set(r.id, b);
    }
    return [...out.values()];
  },

  async renewBarrier(scope, id, expiresAt) {
    await executor(scope).updateTable('write_barriers').set({ expires_at: expiresAt }).where('id', '=', id).execute();
  },

  async ackBarrier(scope, id, node, now) {
    await executor(scope)
      .insertInto('write_barrier_acks')
      .values({ barrier_id: id, node, acked_at: now })
      .onConflict((oc) => oc.columns(['barrier_id', 'node']).doNothing())
      .execute();
  },

  async barrierAcks(scope, id) {
    const rows = await executor(scope).selectFrom('write_barrier_acks').select('node').where('barrier_id', '=', id).execute();
    return rows.map((r) => r.node);
  },

  async liftBarrier(scope, id, now) {
    const db = executor(scope);
    const expired = (await db.selectFrom('write_barriers').select('id').distinct().where('expires_at', '<=', now).execute()).map((r) => r.id);
    const ids = [id, ...expired];
    await db.deleteFrom('write_barrier_acks').where('barrier_id', 'in', ids).execute();
    await db.deleteFrom('write_barriers').where('id', 'in', ids).execute();
  },

  async setBackupTarget(scope: Scope, host: string, target: BackupTargetIdentity | null) {
    const text = target ? JSON.stringify({ name: target.name, repo_id: target.repoId, location: target.location }) : null;
    await executor(scope).updateTable('services').set({ backup_target: text }).where('host', '=', host).where('binary', '=', 'cinder-backup').execute();
  },

  async setApiUrl(scope: Scope, host: string, url: string | null) {
    await executor(scope).updateTable('services').set({ api_url: url }).where('host', '=', host).where('binary', '=', 'cinder-scheduler').execute();
  },

  async releaseInstance(scope: Scope, instance: string, now: string) {
    const res = await executor(scope).updateTable('services').set({ instance: null, stopped_at: now }).where('instance', '=', instance).executeTakeFirst();
    return Number(res.numUpdatedRows);
  },

  async setDisabled(scope: Scope, host: string, binary: string, disabled: boolean, reason: string | null) {
    const res = await executor(scope)
      .updateTable('services')
      .set({ disabled: disabled ? 1 : 0, disabled_reason: reason })
      .where('host', '=', host)
      .where('binary', '=', binary)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  async setFrozen(scope: Scope, host: string, frozen: boolean) {
    const res = await executor(scope)
      .updateTable('services')
      .set(frozen ? { frozen: 1, disabled: 1, disabled_reason: 'frozen' } : { frozen: 0, disabled: 0, disabled_reason: '' })
      .where('host', '=', host)
      .where('binary', '=', 'cinder-volume')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  async hostUsage(scope: Scope, host: string) {
    const exec = executor(scope);
    // `host` itself or `host#pool`; substr keeps `%` and `_` in a host name from acting as LIKE wildcards.
    const onHost = await exec
      .selectFrom('volumes')
      .select(['project_id', 'size'])
      .where((eb) => eb.or([eb('host', '=', host), eb(eb.fn('substr', ['host', eb.val(1), eb.val(host.length + 1)]), '=', `${host}#`)]))
      .execute();
    const projectIds = [...new Set(onHost.map((v) => v.project_id))].sort();
    const projects: ProjectUsage[] = [];
    for (const projectId of projectIds) {
      const vols = await exec.selectFrom('volumes').select(['size']).where('project_id', '=', projectId).execute();
      const snaps = await exec.selectFrom('snapshots').select(['size']).where('project_id', '=', projectId).execute();
      projects.push({
        projectId,
        volumeCount: vols.length,
        volumeGb: vols.reduce((a, v) => a + Number(v.size), 0),
        snapshotCount: snaps.length,
        snapshotGb: snaps.reduce((a, v) => a + Number(v.size), 0),
      });
    }
    return { volumeCount: onHost.length, volumeGb: onHost.reduce((a, v) => a + Number(v.size), 0), projects };
  },

  async allocatedGbByHost(scope: Scope) {
    const rows = await executor(scope)
      .selectFrom('volumes')
      .select((eb) => ['host', eb.fn.sum<number | string>('size').as('gb')])
      .groupBy('host')
      .execute();
    const out = new Map<string, number>();
    for (const r of rows) {
      if (!r.host) continue;
      const service = r.host.split('#')[0]!;
      out.set(service, (out.get(service) ?? 0) + Number(r.gb));
    }
    return out;
  },
};

export const quotaClassRepository: QuotaClassStore = {
  async limits(scope: Scope, className: string) {
    const rows = await classLimitRows(executor(scope), { className });
    const out: Record<string, number> = {};
    for (const r of rows) out[r.resource] = Number(r.hard_limit);
    return out;
  },

  async setLimit(scope: Scope, className: string, resource: string, limit: number) {
    await executor(scope)
      .insertInto('quota_classes')
      .values({ class_name: className, resource, hard_limit: limit })
      .onConflict((oc) => oc.columns(['class_name', 'resource']).doUpdateSet({ hard_limit: limit }))
      .execute();
  },
};
