import type { AttachmentChanges, AttachmentsRepository } from '../../domain/ports/block-storage-store.js';
import type { VolumeAttachment } from '../../domain/volume.js';
import { executor } from '../metadata-store.js';
import type { VolumeAttachmentTable } from '../schema.js';
import { Params, dialectOf, runRaw } from '../raw-sql.js';

function parsed(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function toAttachment(r: VolumeAttachmentTable): VolumeAttachment {
  return { ...r, connector: parsed(r.connector), connection_info: parsed(r.connection_info) };
}

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

function toRow(c: AttachmentChanges): Partial<VolumeAttachmentTable> {
  const { connector, connection_info, ...rest } = c;
  const out: Partial<VolumeAttachmentTable> = { ...rest };
  if ('connector' in c) out.connector = json(connector);
  if ('connection_info' in c) out.connection_info = json(connection_info);
  return out;
}

const ATTACHMENT_COLUMNS = [
  'volume_attachments.id',
  'volume_attachments.volume_id',
  'volume_attachments.instance_uuid',
  'volume_attachments.host_name',
  'volume_attachments.mountpoint',
  'volume_attachments.attach_mode',
  'volume_attachments.attach_status',
  'volume_attachments.attached_at',
  'volume_attachments.connector',
  'volume_attachments.connection_info',
  'volume_attachments.created_at',
  'volumes.project_id',
] as const;

export const attachmentsRepository: AttachmentsRepository = {
  async attachedTo(scope, volumeIds) {
    if (volumeIds.length === 0) return [];
    // One statement whatever the page size (store/raw-sql.ts): the volume detail list asks this for every page.
    const exec = executor(scope);
    const p = new Params(dialectOf(exec));
    const rows = await runRaw<VolumeAttachmentTable>(
      exec,
      `select * from "volume_attachments" where ${p.inList('"volume_id"', volumeIds)} and "attach_status" = 'attached' order by "attached_at"`,
      p.values,
    );
    return rows.map(toAttachment);
  },
  async ofVolume(scope, volumeId) {
    const rows = await executor(scope)
      .selectFrom('volume_attachments')
      .selectAll()
      .where('volume_id', '=', volumeId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toAttachment);
  },
  async get(scope, id) {
    const row = await executor(scope)
      .selectFrom('volume_attachments')
      .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
      .select(ATTACHMENT_COLUMNS)
      .where('volume_attachments.id', '=', id)
      .executeTakeFirst();
    return row ? { ...toAttachment(row), project_id: row.project_id } : undefined;
  },
  async list(scope, f) {
    let q = executor(scope)
      .selectFrom('volume_attachments')
      .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
      .select(ATTACHMENT_COLUMNS);
    if (f.projectId !== null) q = q.where('volumes.project_id', '=', f.projectId);
    if (f.volumeId !== undefined) q = q.where('volume_attachments.volume_id', '=', f.volumeId);
    if (f.instanceUuid !== undefined) q = q.where('volume_attachments.instance_uuid', '=', f.instanceUuid);
    if (f.attachStatus !== undefined) q = q.where('volume_attachments.attach_status', '=', f.attachStatus);
    const rows = await q.orderBy('volume_attachments.created_at', 'desc').orderBy('volume_attachments.id', 'desc').execute();
    return rows.map((r) => ({ ...toAttachment(r), project_id: r.project_id }));
  },
  async insert(scope, a) {
    await executor(scope)
      .insertInto('volume_attachments')
      .values({ ...a, connector: json(a.connector), connection_info: json(a.connection_info) })
      .execute();
  },
  async update(scope, id, changes) {
    const r = await executor(scope).updateTable('volume_attachments').set(toRow(changes)).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },
  async remove(scope, id) {
    const r = await executor(scope).deleteFrom('volume_attachments').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },
  async removeAllOf(scope, volumeId) {
    await executor(scope).deleteFrom('volume_attachments').where('volume_id', '=', volumeId).execute();
  },
};
