import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, notFound } from '../../domain/errors.js';
import { refusal } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import {
  ATTACHMENT_DRIVEN_STATUSES,
  statusFromAttachments,
  type Volume, type VolumeAttachment, volumeLifecycle } from '../../domain/volume.js';
import { callerProject, canSee } from './access.js';
import { type Core, UUID_RE } from './core.js';
import { connectionInfo } from './volume-actions.js';

/** An attachment as the API shows it: the volume's project decides who sees it. */
export type AttachmentRecord = VolumeAttachment & { project_id: string };

/** `attach_mode` before a connector is given and without 3.54's `mode`: Cinder's marker for "take the connector's". */
export const UNSET_MODE = 'null';

export interface AttachmentCreateInput {
  volumeId: string;
  instanceUuid: string | null;
  connector: Record<string, unknown> | null;
  mode: 'rw' | 'ro' | typeof UNSET_MODE;
}

export interface AttachmentListInput {
  allTenants: boolean;
  volumeId?: string;
  instanceUuid?: string;
  status?: string;
}

const attachmentNotFound = (id: string) =>
  notFound(`Volume attachment could not be found with filter: attachment_id = ${id}.`);

/**
 * The attachments API (cinder/volume/api.py `attachment_*`): reserve, connect, complete, delete. It shares the one
 * `volume_attachments` table with the legacy `os-attach`/`os-detach` actions, so either API sees the other's
 * attachments and the volume's status always follows from the attachments that remain.
 */
export class AttachmentService {
  constructor(private readonly core: Core) {}

  private async visible(ctx: AuthContext, id: string, tx: Scope): Promise<AttachmentRecord> {
    const att = UUID_RE.test(id) ? await this.core.repos.attachments.get(tx, id) : undefined;
    if (!att || !canSee(ctx, att.project_id)) throw attachmentNotFound(id);
    return att;
  }

  private async volumeOf(tx: Scope, att: AttachmentRecord): Promise<Volume> {
    const v = await this.core.volumeRow(tx, att.volume_id);
    if (!v) throw attachmentNotFound(att.id);
    return v;
  }

  /** Reserve (and, with a connector, connect) an attachment; the volume moves to `reserved` (or `attaching`). */
  async create(ctx: AuthContext, input: AttachmentCreateInput): Promise<AttachmentRecord> {
    const core = this.core;
    const id = randomUUID();
    return core.inTx(async (tx) => {
      const v = await core.visibleVolume(ctx, input.volumeId, tx);
      if (v.status.includes('error')) {
        throw badRequest(
          `Invalid volume: Volume attachments can not be created if the volume is in an error state. The Volume ${v.id} currently has a status of: ${v.status} `,
        );
      }
      const action = v.multiattach ? 'attachmentReserveMultiattach' : 'attachmentReserve';
      const moved = await core.moveVolume(tx, v.id, action);
      if (!moved.ok) {
        // The same instance may attach again (a server moving between hosts, LP 1694530); nobody else may.
        const now = (await core.volumeRow(tx, v.id)) ?? v;
        const same =
          input.instanceUuid !== null &&
          ['in-use', 'reserved'].includes(now.status) &&
          (await core.repos.attachments.ofVolume(tx, v.id)).some((a) => a.instance_uuid === input.instanceUuid);
        if (!same) throw refusal(volumeLifecycle, action, now);
      }
      const amd = await core.repos.metadata.read(tx, 'volume_admin', v.id);
      const att: VolumeAttachment = {
        id,
        volume_id: v.id,
        instance_uuid: input.instanceUuid,
        host_name: null,
        mountpoint: null,
        // The deprecated readonly admin metadata still wins over the requested mode, as in Cinder.
        attach_mode: amd.readonly === 'True' ? 'ro' : input.mode,
        attach_status: 'reserved',
        attached_at: null,
        connector: null,
        connection_info: null,
        created_at: core.now(),
      };
      await core.repos.attachments.insert(tx, att);
      if (input.connector !== null) await this.connect(tx, moved.ok ? moved.record : v, att, input.connector);
      return (await core.repos.attachments.get(tx, id))!;
    });
  }

  /** Give a reserved (or connected) attachment a connector: the driver's `connection_info` is recorded and returned. */
  async update(ctx: AuthContext, id: string, connector: Record<string, unknown>): Promise<AttachmentRecord> {
    const core = this.core;
    return core.inTx(async (tx) => {
      const att = await this.visible(ctx, id, tx);
      const v = await this.volumeOf(tx, att);
      if (v.status.includes('error')) {
        throw conflict(
          `Volume attachments can not be updated if the volume is in an error state. The Volume ${v.id} currently has a status of: ${v.status} `,
        );
      }
      if (!v.multiattach) {
        const others = (await core.repos.attachments.ofVolume(tx, v.id)).filter((a) => a.id !== att.id);
        if (others.some((a) => a.connection_info !== null))
          throw conflict(`duplicate connectors detected on volume ${v.id}`);
      }
      await this.connect(tx, v, att, connector);
      return (await core.repos.attachments.get(tx, id))!;
    });
  }

  private async connect(tx: Scope, v: Volume, att: VolumeAttachment, connector: Record<string, unknown>): Promise<void> {
    const core = this.core;
    const asked = connector.mode === 'ro' || connector.mode === 'rw' ? connector.mode : 'rw';
    const mode = att.attach_mode === 'rw' || att.attach_mode === 'ro' ? att.attach_mode : asked;
    const info = await connectionInfo(core, tx, v, mode);
    // Cinder's attachment connection_info is the driver's `data` with the other keys beside it.
    const flat = { ...info.data, driver_volume_type: info.driver_volume_type, attachment_id: att.id, enforce_multipath: connector.enforce_multipath ?? false };
    const moved = await core.moveVolume(tx, v.id, 'attachmentConnect', { attach_status: 'attaching' });
    if (!moved.ok) throw refusal(volumeLifecycle, 'attachmentConnect', (await core.volumeRow(tx, v.id)) ?? v);
    const updated = await core.repos.attachments.update(tx, att.id, {
      attach_status: 'attaching',
      attach_mode: mode,
      connector: { ...connector, mode },
      connection_info: flat,
      host_name: typeof connector.host === 'string' ? connector.host : null,
      mountpoint: typeof connector.mountpoint === 'string' ? connector.mountpoint : null,
      attached_at: core.now(),
    });
    if (!updated) throw attachmentNotFound(att.id);
    await core.repos.metadata.write(tx, 'volume_admin', v.id, { attached_mode: mode }, false);
  }

  /** `os-complete` (3.44): the attachment is `attached`, the volume `in-use`. */
  async complete(ctx: AuthContext, id: string): Promise<void> {
    const core = this.core;
    await core.inTx(async (tx) => {
      const att = await this.visible(ctx, id, tx);
      const v = await this.volumeOf(tx, att);
      const moved = await core.moveVolume(tx, v.id, 'attachmentComplete', { attach_status: 'attached' });
      if (!moved.ok) throw refusal(volumeLifecycle, 'attachmentComplete', v);
      const changes: Partial<VolumeAttachment> = { attach_status: 'attached' };
      if (att.attached_at === null) changes.attached_at = core.now();
      if (!(await core.repos.attachments.update(tx, id, changes))) throw attachmentNotFound(id);
    });
  }

  /** Remove an attachment; the volume's status follows from those that remain, which are returned. */
  async delete(ctx: AuthContext, id: string): Promise<AttachmentRecord[]> {
    const core = this.core;
    return core.inTx(async (tx) => {
      const att = await this.visible(ctx, id, tx);
      const v = await this.volumeOf(tx, att);
      if (!(await core.repos.attachments.remove(tx, id))) throw attachmentNotFound(id);
      const remaining = await core.repos.attachments.ofVolume(tx, v.id);
      const next = statusFromAttachments(remaining);
      const to = ATTACHMENT_DRIVEN_STATUSES.includes(v.status) ? next.status : v.status;
      const moved = await core.repos.volumes.transition(tx, v.id, [v.status], to, {
        attach_status: next.attachStatus,
        updated_at: core.now(),
      });
      if (!moved.ok) throw conflict(`Volume ${v.id} changed status while detaching.`);
      if (next.attachStatus === 'detached') await core.repos.metadata.deleteKey(tx, 'volume_admin', v.id, 'attached_mode');
      return remaining.map((a) => ({ ...a, project_id: att.project_id }));
    });
  }

  async get(ctx: AuthContext, id: string): Promise<AttachmentRecord> {
    return this.visible(ctx, id, this.core.store.root);
  }

  /** The caller's project's attachments; an admin's `all_tenants` lists everyone's. */
  async list(ctx: AuthContext, input: AttachmentListInput): Promise<AttachmentRecord[]> {
    const projectId = ctx.isAdmin && input.allTenants ? null : callerProject(ctx);
    return this.core.repos.attachments.list(this.core.store.root, {
      projectId,
      ...(input.volumeId !== undefined ? { volumeId: input.volumeId } : {}),
      ...(input.instanceUuid !== undefined ? { instanceUuid: input.instanceUuid } : {}),
      ...(input.status !== undefined ? { attachStatus: input.status } : {}),
    });
  }
}
