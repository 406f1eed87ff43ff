import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, notFound } from '../../domain/errors.js';
import type { Tx } from '../../store/database.js';
import type { VolumeTable } from '../../store/schema.js';
import { requireAdmin } from './access.js';
import type { Core } from './core.js';
import { readMetadata, writeMetadata } from './metadata-store.js';
import type { Microversion } from './types.js';
import type { VolumeService } from './volume-service.js';

export const VOLUME_STATUSES = [
  'creating',
  'available',
  'deleting',
  'error',
  'error_deleting',
  'error_managing',
  'managing',
  'attaching',
  'in-use',
  'detaching',
  'maintenance',
  'restoring-backup',
  'error_restoring',
  'reserved',
  'awaiting-transfer',
  'backing-up',
  'error_backing-up',
  'error_extending',
  'downloading',
  'uploading',
  'retyping',
  'extending',
];

export interface AttachInput {
  mountpoint: string;
  instanceUuid: string | null;
  hostName: string | null;
  mode: 'rw' | 'ro';
}

export interface ConnectionInfo {
  driver_volume_type: 'local';
  data: { device_path: string; format: string; access_mode: 'rw' | 'ro'; encrypted: boolean };
}

/** The `POST /volumes/{id}/action` use cases, each a guarded status transition. */
export class VolumeActions {
  constructor(
    private readonly core: Core,
    private readonly volumes: VolumeService,
  ) {}

  /** Moves `id` from one of `from` to `to` inside `tx`; false when another request won. */
  private async transition(tx: Tx, id: string, from: string[], set: Partial<VolumeTable>): Promise<boolean> {
    const res = await tx
      .updateTable('volumes')
      .set({ ...set, updated_at: this.core.now() })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async extend(ctx: AuthContext, mv: Microversion, id: string, newSize: number): Promise<void> {
    const core = this.core;
    const allowed = mv.atLeast('3.42') ? ['available', 'in-use'] : ['available'];
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      if (!allowed.includes(v.status)) {
        throw badRequest(
          `Invalid volume: Volume ${id} status must be ${allowed.join(' or ')} to extend, currently ${v.status}.`,
        );
      }
      if (newSize <= v.size) {
        throw badRequest(
          `Invalid input received: New size for extend must be greater than current size. (current: ${v.size}, extended: ${newSize}).`,
        );
      }
      const typeName = await core.volumeTypeName(tx, v.volume_type_id);
      const delta = newSize - v.size;
      const deltas: Record<string, number> = { gigabytes: delta, volume_size: newSize };
      if (typeName) deltas[`gigabytes_${typeName}`] = delta;
      await core.deps.quotas.reserve(tx, v.project_id, deltas);
      if (!(await this.transition(tx, id, [v.status], { status: 'extending', previous_status: v.status }))) {
        throw badRequest(`Invalid volume: Volume ${id} status changed while extending.`);
      }
      await enqueue('volume.extend', 'volume', id, { newSize, oldSize: v.size, previousStatus: v.status, typeName });
    });
  }

  async resetStatus(
    ctx: AuthContext,
    id: string,
    input: { status?: string; attachStatus?: string; migrationStatus?: string | null },
  ): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_admin_actions:reset_status');
    const core = this.core;
    await core.inTx(async (tx) => {
      const v = await core.visibleVolume(ctx, id, tx);
      const set: Partial<VolumeTable> = { updated_at: core.now() };
      if (input.status !== undefined) {
        const s = input.status.toLowerCase();
        if (s === 'deleting') throw badRequest('Invalid input received: Cannot reset-state to deleting');
        if (!VOLUME_STATUSES.includes(s))
          throw badRequest(`Invalid input received: Invalid volume status: ${input.status}.`);
        if (s === 'in-use') {
          const att = await tx
            .selectFrom('volume_attachments')
            .select('id')
            .where('volume_id', '=', id)
            .where('attach_status', '=', 'attached')
            .executeTakeFirst();
          if (!att && input.attachStatus !== 'attached')
            throw badRequest('Invalid volume: Volume must have attachments to reset status to in-use.');
        }
        set.status = s;
      }
      if (input.attachStatus !== undefined) {
        if (input.attachStatus !== 'attached' && input.attachStatus !== 'detached') {
          throw badRequest(`Invalid input received: Invalid attach status: ${input.attachStatus}.`);
        }
        set.attach_status = input.attachStatus;
        if (input.attachStatus === 'detached')
          await tx.deleteFrom('volume_attachments').where('volume_id', '=', id).execute();
      }
      if (input.migrationStatus !== undefined) {
        set.migration_status =
          input.migrationStatus === null || input.migrationStatus.toLowerCase() === 'none'
            ? null
            : input.migrationStatus;
      }
      await tx.updateTable('volumes').set(set).where('id', '=', v.id).execute();
    });
  }

  async forceDelete(ctx: AuthContext, id: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_admin_actions:force_delete');
    await this.volumes.delete(ctx, id, { cascade: false, force: true });
  }

  async setBootable(ctx: AuthContext, id: string, bootable: boolean): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      if (v.status === 'maintenance') throw badRequest(`Invalid volume: Volume ${id} is in maintenance.`);
      await tx
        .updateTable('volumes')
        .set({ bootable: bootable ? 1 : 0, updated_at: this.core.now() })
        .where('id', '=', id)
        .execute();
    });
  }

  async updateReadonly(ctx: AuthContext, id: string, readonly: boolean): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      if (v.status !== 'available')
        throw badRequest('Invalid volume: Volume status must be available to update readonly flag.');
      await writeMetadata(tx, 'volume_admin', id, { readonly: readonly ? 'True' : 'False' }, false);
      await tx.updateTable('volumes').set({ updated_at: this.core.now() }).where('id', '=', id).execute();
    });
  }

  async initializeConnection(ctx: AuthContext, id: string): Promise<ConnectionInfo> {
    const v = await this.core.visibleVolume(ctx, id);
    if (['creating', 'deleting', 'error', 'error_deleting', 'maintenance'].includes(v.status)) {
      throw badRequest(`Invalid volume: Volume ${id} status must not be ${v.status} to initialize a connection.`);
    }
    const amd = await readMetadata(this.core.db, 'volume_admin', id);
    const conn = this.core.driver(v.driver).volumeConnection(v.id);
    return {
      driver_volume_type: 'local',
      data: {
        device_path: conn.devicePath,
        format: conn.format,
        access_mode: amd.readonly === 'True' ? 'ro' : 'rw',
        encrypted: false,
      },
    };
  }

  async terminateConnection(ctx: AuthContext, id: string): Promise<void> {
    await this.core.visibleVolume(ctx, id);
  }

  async reserve(ctx: AuthContext, id: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      const from = v.multiattach ? ['available', 'in-use'] : ['available'];
      if (!(await this.transition(tx, id, from, { status: 'attaching' }))) {
        throw badRequest(
          `Invalid volume: Volume status must be ${from.join(' or ')} to reserve, but the status is ${v.status}.`,
        );
      }
    });
  }

  async unreserve(ctx: AuthContext, id: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      await this.core.visibleVolume(ctx, id, tx);
      const att = await this.attachedCount(tx, id);
      // Not reserved: nothing to do, as in Cinder.
      await this.transition(tx, id, ['attaching'], { status: att > 0 ? 'in-use' : 'available' });
    });
  }

  private async attachedCount(tx: Tx, id: string): Promise<number> {
    const rows = await tx
      .selectFrom('volume_attachments')
      .select('id')
      .where('volume_id', '=', id)
      .where('attach_status', '=', 'attached')
      .execute();
    return rows.length;
  }

  async attach(ctx: AuthContext, id: string, input: AttachInput): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      const amd = await readMetadata(tx, 'volume_admin', id);
      if (input.mode === 'rw' && amd.readonly === 'True')
        throw badRequest(`Invalid attaching mode 'rw' for volume ${id}.`);
      const from = v.multiattach ? ['available', 'attaching', 'in-use'] : ['available', 'attaching'];
      if (!(await this.transition(tx, id, from, { status: 'in-use', attach_status: 'attached' }))) {
        throw badRequest(
          `Invalid volume: Volume ${id} status must be available or attaching to attach, but the status is ${v.status}.`,
        );
      }
      await tx
        .insertInto('volume_attachments')
        .values({
          id: randomUUID(),
          volume_id: id,
          instance_uuid: input.instanceUuid,
          host_name: input.hostName,
          mountpoint: input.mountpoint,
          attach_mode: input.mode,
          attach_status: 'attached',
          attached_at: this.core.now(),
          connector: null,
        })
        .execute();
      await writeMetadata(tx, 'volume_admin', id, { attached_mode: input.mode }, false);
    });
  }

  async beginDetaching(ctx: AuthContext, id: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      await this.core.visibleVolume(ctx, id, tx);
      const res = await tx
        .updateTable('volumes')
        .set({ status: 'detaching', updated_at: this.core.now() })
        .where('id', '=', id)
        .where('status', '=', 'in-use')
        .where('attach_status', '=', 'attached')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) {
        throw badRequest(
          "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.",
        );
      }
    });
  }

  async rollDetaching(ctx: AuthContext, id: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      await this.core.visibleVolume(ctx, id, tx);
      await this.transition(tx, id, ['detaching'], { status: 'in-use' });
    });
  }

  async detach(ctx: AuthContext, id: string, attachmentId: string | null): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      const atts = await tx
        .selectFrom('volume_attachments')
        .selectAll()
        .where('volume_id', '=', id)
        .where('attach_status', '=', 'attached')
        .execute();
      if (!['in-use', 'detaching'].includes(v.status) || atts.length === 0) {
        throw badRequest('Invalid volume: Volume must be attached in order to detach.');
      }
      let target = atts[0]!;
      if (attachmentId !== null) {
        const found = atts.find((a) => a.id === attachmentId);
        if (!found)
          throw notFound(`Volume attachment could not be found with filter: attachment_id = ${attachmentId}.`);
        target = found;
      } else if (atts.length > 1) {
        throw badRequest(
          'Invalid volume: Detach volume failed: More than one attachment, but no attachment_id provided.',
        );
      }
      await tx.deleteFrom('volume_attachments').where('id', '=', target.id).execute();
      const remaining = atts.length - 1;
      const ok = await this.transition(
        tx,
        id,
        [v.status],
        remaining > 0 ? { status: 'in-use' } : { status: 'available', attach_status: 'detached' },
      );
      if (!ok) throw conflict(`Volume ${id} changed status while detaching.`);
      if (remaining === 0)
        await tx
          .deleteFrom('volume_admin_metadata')
          .where('volume_id', '=', id)
          .where('key', '=', 'attached_mode')
          .execute();
    });
  }

  /** revert (3.40): only to the volume's latest snapshot, and only while sizes match. */
  async revert(ctx: AuthContext, id: string, snapshotId: string): Promise<void> {
    const core = this.core;
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      const snap = await core.visibleSnapshot(ctx, snapshotId, tx);
      const latest = await tx
        .selectFrom('snapshots')
        .selectAll()
        .where('volume_id', '=', v.id)
        .where('hidden', '=', 0)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!latest || latest.id !== snap.id) {
        throw badRequest(
          `Invalid input received: Specified snapshot ${snapshotId} is not the latest one of volume ${id}.`,
        );
      }
      if (latest.size !== v.size)
        throw badRequest(`Invalid input received: Volume ${id}'s size has changed since snapshot was taken.`);
      if (!(await this.transition(tx, id, ['available'], { status: 'reverting', previous_status: v.status }))) {
        throw conflict(`Volume ${id} status must be available to revert, but the status is ${v.status}.`);
      }
      const s = await tx
        .updateTable('snapshots')
        .set({ status: 'restoring', updated_at: core.now() })
        .where('id', '=', snap.id)
        .where('status', '=', 'available')
        .executeTakeFirst();
      if (Number(s.numUpdatedRows) === 0)
        throw conflict(`Snapshot ${snap.id} status must be available to revert, but the status is ${snap.status}.`);
      await enqueue('volume.revert', 'volume', id, { snapshotId: snap.id });
    });
  }
}
