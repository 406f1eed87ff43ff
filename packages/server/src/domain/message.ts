/**
 * User messages (Cinder's `messages` table and cinder/message/message_field.py): a record, readable by the
 * project's users, of an asynchronous operation that failed. The event id encodes what failed:
 * `VOLUME_<resource type>_<action id>_<detail id>`; the text a user reads is built from the action and the detail
 * (`"<action>: <detail>"`), so it is never stored and the same ids always read the same way.
 */
import { getOwn } from './own.js';
import { spaceFailure } from './errors.js';

export interface Message {
  id: string;
  project_id: string;
  /** The request that started the failed operation (Cinder's `req-…` id). */
  request_id: string;
  /** `VOLUME`, `VOLUME_SNAPSHOT` or `VOLUME_BACKUP`. */
  resource_type: string | null;
  resource_uuid: string | null;
  event_id: string;
  action_id: string;
  detail_id: string;
  message_level: 'ERROR';
  created_at: string;
  /** Cinder's `expires_at`, shown as `guaranteed_until`: the message may be reaped from then on. */
  expires_at: string;
}

/** Cinder's `message_field.Resource`. */
export const MessageResource = {
  VOLUME: 'VOLUME',
  VOLUME_SNAPSHOT: 'VOLUME_SNAPSHOT',
  VOLUME_BACKUP: 'VOLUME_BACKUP',
} as const;
export type MessageResourceType = (typeof MessageResource)[keyof typeof MessageResource];

/** Cinder's `message_field.Action`: id and the words a user reads. */
export const MessageAction = {
  SCHEDULE_ALLOCATE_VOLUME: ['001', 'schedule allocate volume'],
  ATTACH_VOLUME: ['002', 'attach volume'],
  COPY_VOLUME_TO_IMAGE: ['003', 'copy volume to image'],
  UPDATE_ATTACHMENT: ['004', 'update attachment'],
  COPY_IMAGE_TO_VOLUME: ['005', 'copy image to volume'],
  UNMANAGE_VOLUME: ['006', 'unmanage volume'],
  EXTEND_VOLUME: ['007', 'extend volume'],
  CREATE_VOLUME_FROM_BACKEND: ['008', 'create volume from backend storage'],
  SNAPSHOT_CREATE: ['009', 'create snapshot'],
  SNAPSHOT_DELETE: ['010', 'delete snapshot'],
  SNAPSHOT_UPDATE: ['011', 'update snapshot'],
  SNAPSHOT_METADATA_UPDATE: ['012', 'update snapshot metadata'],
  BACKUP_CREATE: ['013', 'create backup'],
  BACKUP_DELETE: ['014', 'delete backup'],
  BACKUP_RESTORE: ['015', 'restore backup'],
} as const satisfies Record<string, readonly [string, string]>;
export type MessageActionName = keyof typeof MessageAction;

/** Cinder's `message_field.Detail`. */
export const MessageDetail = {
  UNKNOWN_ERROR: ['001', 'An unknown error occurred.'],
  DRIVER_NOT_INITIALIZED: ['002', 'Driver is not initialized at present.'],
  NO_BACKEND_AVAILABLE: ['003', 'Could not find any available weighted backend.'],
  FAILED_TO_UPLOAD_VOLUME: ['004', 'Failed to upload volume to image at backend.'],
  VOLUME_ATTACH_MODE_INVALID: ['005', "Volume's attach mode is invalid."],
  QUOTA_EXCEED: ['006', 'Not enough quota resource for operation.'],
  NOT_ENOUGH_SPACE_FOR_IMAGE: ['007', 'Image used for creating volume exceeds available space.'],
  UNMANAGE_ENC_NOT_SUPPORTED: ['008', 'Unmanaging encrypted volumes is not supported.'],
  NOTIFY_COMPUTE_SERVICE_FAILED: ['009', 'Compute service failed to extend volume.'],
  DRIVER_FAILED_EXTEND: ['010', 'Volume Driver failed to extend volume.'],
  SIGNATURE_VERIFICATION_FAILED: ['011', 'Image signature verification failed.'],
  DRIVER_FAILED_CREATE: ['012', 'Driver failed to create the volume.'],
  SNAPSHOT_CREATE_ERROR: ['013', 'Snapshot failed to create.'],
  SNAPSHOT_UPDATE_METADATA_FAILED: ['014', 'Volume snapshot update metadata failed.'],
  SNAPSHOT_IS_BUSY: ['015', 'Snapshot is busy.'],
  SNAPSHOT_DELETE_ERROR: ['016', 'Snapshot failed to delete.'],
  BACKUP_INVALID_STATE: ['017', 'Backup status is invalid.'],
  BACKUP_SERVICE_DOWN: ['018', 'Backup service is down.'],
  BACKUP_CREATE_DEVICE_ERROR: ['019', 'Failed to get backup device from the volume service.'],
  BACKUP_CREATE_DRIVER_ERROR: ['020', 'Backup driver failed to create backup.'],
  ATTACH_ERROR: ['021', 'Failed to attach volume.'],
  DETACH_ERROR: ['022', 'Failed to detach volume.'],
  BACKUP_CREATE_CLEANUP_ERROR: ['023', 'Cleanup of temporary volume/snapshot failed.'],
  BACKUP_SCHEDULE_ERROR: ['024', 'Backup failed to schedule. Service not found for creating backup.'],
  BACKUP_DELETE_DRIVER_ERROR: ['025', 'Backup driver failed to delete backup.'],
  BACKUP_RESTORE_ERROR: ['026', 'Backup driver failed to restore backup.'],
  VOLUME_INVALID_STATE: ['027', 'Volume status is invalid.'],
} as const satisfies Record<string, readonly [string, string]>;
export type MessageDetailName = keyof typeof MessageDetail;

const ACTION_TEXT: Record<string, string> = Object.fromEntries(Object.values(MessageAction));
const DETAIL_TEXT: Record<string, string> = Object.fromEntries(Object.values(MessageDetail));

/** Cinder's `VOLUME_%s_%s_%s` (the leading `VOLUME` is the service, not the resource). */
export function eventId(resourceType: string, actionId: string, detailId: string): string {
  return `VOLUME_${resourceType}_${actionId}_${detailId}`;
}

/** `translate_action`, `translate_detail`: an unknown id reads as Cinder reads it. */
export function userMessage(actionId: string, detailId: string): string {
  const action = getOwn(ACTION_TEXT, actionId) ?? 'unknown action';
  const detail = getOwn(DETAIL_TEXT, detailId) ?? MessageDetail.UNKNOWN_ERROR[1];
  return `${action}: ${detail}`;
}

/** What a failure path reports: the action that failed, on what, and the detail it would give without a cause. */
export interface FailureEvent {
  projectId: string;
  resourceType: MessageResourceType;
  resourceUuid: string;
  action: MessageActionName;
  detail: MessageDetailName;
  /** The task's or request's id; a new `req-…` id when none is known. */
  requestId?: string;
}

/** `translate_detail_id`: a cause Cinder names gets its own detail (a quota refusal), anything else `fallback`. */
export function detailFor(fallback: MessageDetailName, cause: unknown): MessageDetailName {
  if ((cause as { kind?: unknown } | null | undefined)?.kind === 'overLimit') return 'QUOTA_EXCEED';
  return fallback;
}

/**
 * The volume-create event for `cause`. Out of space has no detail of its own in Cinder: its capacity filter
 * finds no backend with room, so a create that ran out of space says what Cinder's scheduler would.
 */
export function volumeCreateFailure(cause: unknown): { action: MessageActionName; detail: MessageDetailName } {
  if (spaceFailure(cause) !== null) return { action: 'SCHEDULE_ALLOCATE_VOLUME', detail: 'NO_BACKEND_AVAILABLE' };
  if ((cause as { code?: unknown } | null | undefined)?.code === 'NoValidBackend')
    return { action: 'SCHEDULE_ALLOCATE_VOLUME', detail: 'NO_BACKEND_AVAILABLE' };
  return { action: 'CREATE_VOLUME_FROM_BACKEND', detail: detailFor('DRIVER_FAILED_CREATE', cause) };
}
