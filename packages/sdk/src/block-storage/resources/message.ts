/**
 * User messages (`/messages`, Block Storage 3.3+): what went wrong in an asynchronous operation of the project.
 * @packageDocumentation
 */
import type { Message as MessageSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import { PAGING_QUERY } from './list-query.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** The first microversion that serves messages; below it the server answers 404. */
export const MESSAGES_MIN_MICROVERSION = '3.3';

/** Message attributes (all read-only: messages are written by the server). */
export interface MessageAttributes extends BaseAttributes {
  /** `VOLUME_<resource type>_<action id>_<detail id>`, e.g. `VOLUME_VOLUME_001_003`. */
  eventId?: string;
  /** The words a user reads: `"<action>: <detail>"`. */
  userMessage?: string;
  /** `ERROR`. */
  messageLevel?: string;
  /** `VOLUME`, `VOLUME_SNAPSHOT` or `VOLUME_BACKUP`. */
  resourceType?: string;
  resourceUuid?: string;
  /** The request that started the failed operation. */
  requestId?: string;
  createdAt?: string;
  /** Kept at least until then; it may be deleted (reaped) afterwards. */
  guaranteedUntil?: string;
}

export interface Message extends MessageAttributes {}

/**
 * A user message: a record, readable by the project's users, of an asynchronous operation that failed (a
 * volume create, a snapshot, a backup or a restore).
 *
 * @example
 * ```ts
 * for await (const m of bs.messages({ resourceUuid: volume.id })) console.log(m.eventId, m.userMessage);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Message extends Resource<MessageAttributes> {
  static override readonly displayName: string = 'Message';
  static override readonly resourceKey: string | undefined = 'message';
  static override readonly resourcesKey: string | undefined = 'messages';
  static override readonly basePath: string = '/messages';
  /** Filters, sort and paging are read from 3.5 on. */
  static override readonly maxMicroversion: string | undefined = '3.5';
  static override readonly allow = { create: false, fetch: true, commit: false, delete: true, list: true };
  static override readonly queryParameters = {
    ...PAGING_QUERY,
    resourceUuid: 'resource_uuid',
    resourceType: 'resource_type',
    eventId: 'event_id',
    requestId: 'request_id',
    messageLevel: 'message_level',
    projectId: 'project_id',
    allProjects: 'all_tenants',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    eventId: { wire: 'event_id', type: 'string', readOnly: true },
    userMessage: { wire: 'user_message', type: 'string', readOnly: true },
    messageLevel: { wire: 'message_level', type: 'string', readOnly: true },
    resourceType: { wire: 'resource_type', type: 'string', readOnly: true },
    resourceUuid: { wire: 'resource_uuid', type: 'string', readOnly: true },
    requestId: { wire: 'request_id', type: 'string', readOnly: true },
    createdAt: { wire: 'created_at', type: 'string', readOnly: true },
    guaranteedUntil: { wire: 'guaranteed_until', type: 'string', readOnly: true },
  } as const satisfies ContractFields<Static<typeof MessageSchema>, 'name'>;

  /** GET the message; refused before sending when the server does not reach 3.3. */
  override fetch(options: OperationOptions = {}): Promise<this> {
    return super.fetch({ ...options, minMicroversion: MESSAGES_MIN_MICROVERSION } as OperationOptions);
  }

  /** DELETE the message; refused before sending when the server does not reach 3.3. */
  override delete(options: OperationOptions & { query?: Record<string, string | boolean> } = {}): Promise<this> {
    return super.delete({ ...options, minMicroversion: MESSAGES_MIN_MICROVERSION } as OperationOptions);
  }
}
