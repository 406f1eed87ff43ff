import { randomUUID } from 'node:crypto';
import { frontEndQos } from '../../domain/qos-specs.js';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, notFound } from '../../domain/errors.js';
import { allows, ensureAllowed, refusal } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { snapshotLifecycle } from '../../domain/snapshot.js';
import {
  ATTACHMENT_DRIVEN_STATUSES,
  RESETTABLE_VOLUME_STATUSES,
  statusFromAttachments,
  type Volume,
  type VolumeAction,
  volumeLifecycle,
} from '../../domain/volume.js';
import { requireAdmin } from './access.js';
import type { Core } from './core.js';
import type { Microversion } from './types.js';
import type { VolumeService } from './volume-service.js';

export interface AttachInput {
  mountpoint: string;
  instanceUuid: string | null;
  hostName: string | null;
  mode: 'rw' | 'ro';
}

/** `local` for file backends; a driver's own type (RBD's `rbd`) when it supplies connectionInfo. */
export type ConnectionInfo = LocalConnectionInfo | { driver_volume_type: string; data: Record<string, unknown> };

export interface LocalConnectionInfo {
  driver_volume_type: 'local';
  data: {
    device_path: string;
    format: string;
    access_mode: 'rw' | 'ro';
    encrypted: boolean;
    /** The front-end limits of the volume type's QoS specs, per-GB ones scaled by the size; null when none. */
    qos_specs: Record<string, string | number | null> | null;
  };
}

/** What the volume's driver answers for a connection (`os-initialize_connection`, attachment update). */
export async function connectionInfo(core: Core, scope: Scope, v: Volume, accessMode: 'rw' | 'ro'): Promise<ConnectionInfo> {
  const driver = core.driver(v.driver);
  const qos = await core.repos.qosSpecs.ofType(scope, v.volume_type_id);
  // A network backend (rbd) says how consumers reach it, as its Cinder driver does; file backends hand out a path.
  if (driver.connectionInfo) {
    const info = driver.connectionInfo(v.id);
    return {
      driver_volume_type: info.driver_volume_type,
      data: { ...info.data, access_mode: accessMode, encrypted: false, qos_specs: frontEndQos(qos, v.size) },
    };
  }
  const conn = driver.volumeConnection(v.id);
  return {
    driver_volume_type: 'local',
    data: {
      device_path: conn.devicePath,
      format: conn.format,
      access_mode: accessMode,
      encrypted: false,
      qos_specs: frontEndQos(qos, v.size),
    },
  };
}

/** The `POST /volumes/{id}/action` use cases, each a guarded status transition. */
export class VolumeActions {
  constructor(
    private readonly core: Core,
    private readonly volumes: VolumeService,
  ) {}

  /** The guarded move of `action` (see `Core.moveVolume`); false when another request won. */
  private async transition(tx: Scope, id: string, action: VolumeAction, changes: Partial<Volume> = {}, to?: string): Promise<boolean> {
    return (await this.core.moveVolume(tx, id, action, changes, to)).ok;
  }

  async extend(ctx: AuthContext, mv: Microversion, id: string, newSize: number): Promise<void> {
    const core = this.core;
    const action = mv.atLeast('3.42') ? 'extendInUse' : 'extend';
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      ensureAllowed(volumeLifecycle, action, v);
      if (newSize <= v.size) {
        throw badRequest(
          `Invalid input received: New size for extend must be greater than current size. (current: ${v.size}, extended: ${newSize}).`,
        );
      }
      const typeName = await core.volumeTypeName(tx, v.volume_type_id);
      const delta = newSize - v.size;
      const deltas: Record<string, number> = { gigabytes: delta, volume_size: newSize };
      if (typeName) deltas[`gigabytes_${typeName}`] = delta;
      await core.reserveQuota(tx, v.project_id, deltas);
      const moved = await core.repos.volumes.transition(tx, id, [v.status], 'extending', {
        previous_status: v.status,
        updated_at: core.now(),
      });
      if (!moved.ok) throw badRequest(`Invalid volume: Volume ${id} status changed while extending.`);
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
    const { attachments } = core.repos;
    await core.inTx(async (tx) => {
      const v = await core.visibleVolume(ctx, id, tx);
      const changes: Partial<Volume> = {};
      let to: string | null = null;
      if (input.status !== undefined) {
        const s = input.status.toLowerCase();
        if (s === 'deleting') throw badRequest('Invalid input received: Cannot reset-state to deleting');
        if (!(RESETTABLE_VOLUME_STATUSES as readonly string[]).includes(s))
          throw badRequest(`Invalid input received: Invalid volume status: ${input.status}.`);
        if (s === 'in-use') {
          const att = await attachments.attachedTo(tx, [id]);
          if (att.length === 0 && input.attachStatus !== 'attached')
            throw badRequest('Invalid volume: Volume must have attachments to reset status to in-use.');
        }
        to = s;
      }
      if (input.attachStatus !== undefined) {
        if (input.attachStatus !== 'attached' && input.attachStatus !== 'detached') {
          throw badRequest(`Invalid input received: Invalid attach status: ${input.attachStatus}.`);
        }
        changes.attach_status = input.attachStatus;
        if (input.attachStatus === 'detached') await attachments.removeAllOf(tx, id);
      }
      if (input.migrationStatus !== undefined) {
        changes.migration_status =
          input.migrationStatus === null || input.migrationStatus.toLowerCase() === 'none'
            ? null
            : input.migrationStatus;
      }
      await core.moveVolume(tx, v.id, 'resetStatus', changes, to);
    });
  }

  async forceDelete(ctx: AuthContext, id: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_admin_actions:force_delete');
    await this.volumes.delete(ctx, id, { cascade: false, force: true });
  }

  async setBootable(ctx: AuthContext, id: string, bootable: boolean): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      ensureAllowed(volumeLifecycle, 'setBootable', v);
      await this.core.repos.volumes.update(tx, id, { bootable, updated_at: this.core.now() });
    });
  }

  async updateReadonly(ctx: AuthContext, id: string, readonly: boolean): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      ensureAllowed(volumeLifecycle, 'updateReadonly', v);
      await this.core.repos.metadata.write(tx, 'volume_admin', id, { readonly: readonly ? 'True' : 'False' }, false);
      await this.core.repos.volumes.update(tx, id, { updated_at: this.core.now() });
    });
  }

  async initializeConnection(ctx: AuthContext, id: string): Promise<ConnectionInfo> {
    const v = await this.core.visibleVolume(ctx, id);
    ensureAllowed(volumeLifecycle, 'initializeConnection', v);
    const amd = await this.core.repos.metadata.read(this.core.store.root, 'volume_admin', id);
    return connectionInfo(this.core, this.core.store.root, v, amd.readonly === 'True' ? 'ro' : 'rw');
  }

  async terminateConnection(ctx: AuthContext, id: string): Promise<void> {
    await this.core.visibleVolume(ctx, id);
  }

  async reserve(ctx: AuthContext, id: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      const action = v.multiattach ? 'reserveMultiattach' : 'reserve';
      if (!(await this.transition(tx, id, action))) throw refusal(volumeLifecycle, action, v);
    });
  }

  async unreserve(ctx: AuthContext, id: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      await this.core.visibleVolume(ctx, id, tx);
      const att = await this.core.repos.attachments.attachedTo(tx, [id]);
      // Not reserved: nothing to do, as in Cinder.
      await this.transition(tx, id, 'unreserve', {}, att.length > 0 ? 'in-use' : 'available');
    });
  }

  async attach(ctx: AuthContext, id: string, input: AttachInput): Promise<void> {
    const { metadata, attachments } = this.core.repos;
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      const amd = await metadata.read(tx, 'volume_admin', id);
      if (input.mode === 'rw' && amd.readonly === 'True')
        throw badRequest(`Invalid attaching mode 'rw' for volume ${id}.`);
      const action = v.multiattach ? 'attachMultiattach' : 'attach';
      if (!(await this.transition(tx, id, action, { attach_status: 'attached' }))) throw refusal(volumeLifecycle, action, v);
      await attachments.insert(tx, {
        id: randomUUID(),
        volume_id: id,
        instance_uuid: input.instanceUuid,
        host_name: input.hostName,
        mountpoint: input.mountpoint,
        attach_mode: input.mode,
        attach_status: 'attached',
        attached_at: this.core.now(),
        connector: null,
        connection_info: null,
        created_at: this.core.now(),
      });
      await metadata.write(tx, 'volume_admin', id, { attached_mode: input.mode }, false);
    });
  }

  async beginDetaching(ctx: AuthContext, id: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      // Also only while attached: checked before the move and on the moved record (a racing detach rolls back).
      if (v.attach_status !== 'attached') throw refusal(volumeLifecycle, 'beginDetaching', v);
      const moved = await this.core.moveVolume(tx, id, 'beginDetaching');
      if (!moved.ok || moved.record.attach_status !== 'attached') throw refusal(volumeLifecycle, 'beginDetaching', v);
    });
  }

  async rollDetaching(ctx: AuthContext, id: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      await this.core.visibleVolume(ctx, id, tx);
      await this.transition(tx, id, 'rollDetaching');
    });
  }

  async detach(ctx: AuthContext, id: string, attachmentId: string | null): Promise<void> {
    const { attachments, metadata } = this.core.repos;
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      // Every attachment counts, those the attachments API reserved or connected too: it is one table.
      const atts = await attachments.ofVolume(tx, id);
      if (!allows(volumeLifecycle, 'detach', v.status) || atts.length === 0) throw refusal(volumeLifecycle, 'detach', v);
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
      if (!(await attachments.remove(tx, target.id))) throw conflict(`Volume ${id} changed status while detaching.`);
      const next = statusFromAttachments(atts.filter((a) => a.id !== target.id));
      const moved = await this.core.repos.volumes.transition(tx, id, [v.status], next.status, {
        attach_status: next.attachStatus,
        updated_at: this.core.now(),
      });
      if (!moved.ok) throw conflict(`Volume ${id} changed status while detaching.`);
      if (next.attachStatus === 'detached') await metadata.deleteKey(tx, 'volume_admin', id, 'attached_mode');
    });
  }

  /**
   * `os-force_detach` (admin): rolls back a bad detach. Unlike `os-detach` it works whatever the status (but
   * maintenance); an attachment id that names nothing only sets the volume's status right, as Cinder's
   * `finish_detach` does, and a volume without attachments is detached.
   */
  async forceDetach(ctx: AuthContext, id: string, attachmentId: string | null): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_admin_actions:force_detach');
    const { attachments, metadata } = this.core.repos;
    await this.core.inTx(async (tx) => {
      const v = await this.core.visibleVolume(ctx, id, tx);
      if (v.status === 'maintenance') throw badRequest('Invalid volume: The volume cannot be detached in maintenance mode.');
      const atts = await attachments.ofVolume(tx, id);
      let target = attachmentId === null ? atts[0] : atts.find((a) => a.id === attachmentId);
      if (attachmentId === null && atts.length > 1) {
        throw badRequest(
          'Invalid volume: Detach volume failed: More than one attachment, but no attachment_id provided.',
        );
      }
      if (target && !(await attachments.remove(tx, target.id))) target = undefined;
      const next = statusFromAttachments(atts.filter((a) => a.id !== target?.id));
      const to = ATTACHMENT_DRIVEN_STATUSES.includes(v.status) ? next.status : v.status;
      const moved = await this.core.repos.volumes.transition(tx, id, [v.status], to, {
        attach_status: next.attachStatus,
        updated_at: this.core.now(),
      });
      if (!moved.ok) throw conflict(`Volume ${id} changed status while detaching.`);
      if (next.attachStatus === 'detached') await metadata.deleteKey(tx, 'volume_admin', id, 'attached_mode');
    });
  }

  /** revert (3.40): only to the volume's latest snapshot, and only while sizes match. */
  async revert(ctx: AuthContext, id: string, snapshotId: string): Promise<void> {
    const core = this.core;
    const { snapshots } = core.repos;
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      const snap = await core.visibleSnapshot(ctx, snapshotId, tx);
      const latest = await snapshots.latestOfVolume(tx, v.id);
      if (!latest || latest.id !== snap.id) {
        throw badRequest(
          `Invalid input received: Specified snapshot ${snapshotId} is not the latest one of volume ${id}.`,
        );
      }
      if (latest.size !== v.size)
        throw badRequest(`Invalid input received: Volume ${id}'s size has changed since snapshot was taken.`);
      const moved = await core.moveVolume(tx, id, 'revert', { previous_status: v.status });
      if (!moved.ok) throw refusal(volumeLifecycle, 'revert', v);
      const s = await core.moveSnapshot(tx, snap.id, 'revert');
      if (!s.ok) throw refusal(snapshotLifecycle, 'revert', snap);
      await enqueue('volume.revert', 'volume', id, { snapshotId: snap.id });
    });
  }
}
