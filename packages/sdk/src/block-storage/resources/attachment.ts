/**
 * Volume attachments (`/attachments`, Block Storage 3.27+; `os-complete` 3.44, `mode` 3.54).
 * @packageDocumentation
 */
import type { Attachment as AttachmentSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import { PAGING_QUERY } from './list-query.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** The first microversion that serves attachments; below it the server answers 404. */
export const ATTACHMENTS_MIN_MICROVERSION = '3.27';
/** `os-complete` needs this. */
export const ATTACHMENT_COMPLETE_MICROVERSION = '3.44';

/** What a host tells the volume service about itself when it connects (os-brick's connector properties). */
export interface AttachmentConnector {
  host?: string;
  initiator?: string;
  ip?: string;
  platform?: string;
  os_type?: string;
  multipath?: boolean;
  mountpoint?: string;
  /** `rw` or `ro`; an attachment created with a mode (3.54) keeps that one. */
  mode?: string;
  [key: string]: unknown;
}

/** Attachment attributes. */
export interface AttachmentAttributes extends BaseAttributes {
  /** The attached volume (sent as `volume_uuid` on create). */
  volumeId?: string;
  /** The server (or any consumer's id) the volume is attached to; `instance_uuid` on create. */
  instance?: string | null;
  /** `reserved`, `attaching`, `attached` or `detaching`. */
  status?: string;
  /** `rw`, `ro`, or `null` (a string) until a connector decides it. */
  attachMode?: string;
  /** 3.54+: the mode to attach with (create only). */
  mode?: 'rw' | 'ro';
  /** Create only: connect at once. */
  connector?: AttachmentConnector | null;
  /** What the driver answered for the connector; `{}` before one was given. */
  connectionInfo?: Record<string, unknown>;
  /** '' until connected. */
  attachedAt?: string;
  detachedAt?: string;
}

export interface Attachment extends AttachmentAttributes {}

/**
 * A volume attachment (Cinder's new attach flow): create reserves the volume for a consumer, update with a
 * connector returns the connection information, `complete` marks it attached, delete detaches. The legacy
 * `os-attach`/`os-detach` volume actions work on the same records.
 *
 * @example
 * ```ts
 * const a = await bs.createAttachment({ volumeId: vol.id, instance: serverId });
 * const connected = await bs.updateAttachment(a, { host: 'compute-1', initiator: 'iqn…' });
 * await bs.completeAttachment(a);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Attachment extends Resource<AttachmentAttributes> {
  static override readonly displayName: string = 'Attachment';
  static override readonly resourceKey: string | undefined = 'attachment';
  static override readonly resourcesKey: string | undefined = 'attachments';
  static override readonly basePath: string = '/attachments';
  static override readonly maxMicroversion: string | undefined = '3.54';
  static override readonly allow = { create: true, fetch: true, commit: false, delete: true, list: true };
  static override readonly queryParameters = {
    ...PAGING_QUERY,
    volumeId: 'volume_id',
    instanceId: 'instance_id',
    status: 'status',
    projectId: 'project_id',
    allProjects: 'all_tenants',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    volumeId: { wire: 'volume_id', createWire: 'volume_uuid', type: 'string' },
    instance: { wire: 'instance', createWire: 'instance_uuid', type: 'string' },
    status: { wire: 'status', type: 'string', readOnly: true },
    attachMode: { wire: 'attach_mode', type: 'string', readOnly: true },
    mode: { wire: 'mode', type: 'string', minMicroversion: '3.54' },
    connector: { wire: 'connector', type: 'object' },
    connectionInfo: { wire: 'connection_info', type: 'object', readOnly: true },
    attachedAt: { wire: 'attached_at', type: 'string', readOnly: true },
    detachedAt: { wire: 'detached_at', type: 'string', readOnly: true },
  } as const satisfies ContractFields<Static<typeof AttachmentSchema>, 'name' | 'mode' | 'connector'>;

  /** GET the attachment; refused before sending below 3.27. */
  override fetch(options: OperationOptions = {}): Promise<this> {
    return super.fetch({ ...options, minMicroversion: ATTACHMENTS_MIN_MICROVERSION } as OperationOptions);
  }

  /** DELETE (detach) the attachment; refused before sending below 3.27. */
  override delete(options: OperationOptions & { query?: Record<string, string | boolean> } = {}): Promise<this> {
    return super.delete({ ...options, minMicroversion: ATTACHMENTS_MIN_MICROVERSION } as OperationOptions);
  }

  /**
   * PUT a connector: the server records and answers the connection information (`connectionInfo`).
   *
   * @example
   * ```ts
   * const info = (await a.connect({ host: 'compute-1' })).connectionInfo;
   * ```
   */
  async connect(connector: AttachmentConnector, options: OperationOptions = {}): Promise<this> {
    const res = await this.send('PUT', this.itemPath(options), {
      ...options,
      body: { attachment: { connector } },
      minMicroversion: ATTACHMENTS_MIN_MICROVERSION,
      operation: 'update Attachment',
    });
    return this.applyResponse(res);
  }

  /**
   * `os-complete` (3.44): the attachment is `attached` and the volume `in-use`.
   *
   * @example
   * ```ts
   * await a.complete();
   * ```
   */
  async complete(options: OperationOptions = {}): Promise<void> {
    await this.action('os-complete', null, { ...options, minMicroversion: ATTACHMENT_COMPLETE_MICROVERSION });
  }
}
