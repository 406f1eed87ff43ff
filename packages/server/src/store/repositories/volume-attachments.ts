import type { AttachmentsRepository } from '../../domain/ports/block-storage-store.js';
import type { VolumeAttachment } from '../../domain/volume.js';
import { executor } from '../metadata-store.js';
import type { VolumeAttachmentTable } from '../schema.js';

function toAttachment(r: VolumeAttachmentTable): VolumeAttachment {
  let connector: unknown = null;
  if (r.connector !== null) {
    try {
      connector = JSON.parse(r.connector);
    } catch {
      connector = null;
    }
  }
  return { ...r, connector };
}

export const attachmentsRepository: AttachmentsRepository = {
  async attachedTo(scope, volumeIds) {
    if (volumeIds.length === 0) return [];
    const rows = await executor(scope)
      .selectFrom('volume_attachments')
      .selectAll()
      .where('volume_id', 'in', [...volumeIds])
      .where('attach_status', '=', 'attached')
      .orderBy('attached_at')
      .execute();
    return rows.map(toAttachment);
  },
  async insert(scope, a) {
    await executor(scope)
      .insertInto('volume_attachments')
      .values({ ...a, connector: a.connector === null || a.connector === undefined ? null : JSON.stringify(a.connector) })
      .execute();
  },
  async remove(scope, id) {
    await executor(scope).deleteFrom('volume_attachments').where('id', '=', id).execute();
  },
  async removeAllOf(scope, volumeId) {
    await executor(scope).deleteFrom('volume_attachments').where('volume_id', '=', volumeId).execute();
  },
};
