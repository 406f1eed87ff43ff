/**
 * Backend volumes that Cinder does not manage (yet).
 * @packageDocumentation
 */
import type { ManageableVolumeBody } from '@cinderbox/api-schema';
import { type BaseAttributes, Resource } from '../../resource/resource.js';
import { MANAGEABLE_QUERY } from './list-query.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** ManageableVolume attributes. */
export interface ManageableVolumeAttributes extends BaseAttributes {
  /** Backend reference, e.g. `{ 'source-name': 'volume-…' }`. */
  reference?: Record<string, unknown>;
  safeToManage?: boolean;
  reasonNotSafe?: string;
  /** Set when already managed. */
  cinderId?: string;
  size?: number;
  extraInfo?: unknown;
}

export interface ManageableVolume extends ManageableVolumeAttributes {}

/**
 * An entry of `GET /manageable_volumes[/detail]` (envelope `manageable-volumes`).
 *
 * @example
 * ```ts
 * for await (const m of conn.blockStorage.manageableSnapshots({ host: 'node@raw#pool' })) console.log(m.reference, m.safeToManage);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class ManageableVolume extends Resource<ManageableVolumeAttributes> {
  static override readonly displayName: string = 'ManageableVolume';
  static override readonly resourcesKey: string | undefined = 'manageable-volumes';
  static override readonly basePath: string = '/manageable_volumes';
  static override readonly maxMicroversion: string | undefined = '3.65';
  static override readonly allow = { create: false, fetch: false, commit: false, delete: false, list: true };
  static override readonly queryParameters = MANAGEABLE_QUERY;
  static override readonly fields = {
    ...BASE_FIELDS,
    reference: { wire: 'reference', type: 'object', readOnly: true },
    safeToManage: { wire: 'safe_to_manage', type: 'boolean', readOnly: true },
    reasonNotSafe: { wire: 'reason_not_safe', type: 'string', readOnly: true },
    cinderId: { wire: 'cinder_id', type: 'string', readOnly: true },
    size: { wire: 'size', type: 'integer', readOnly: true },
    extraInfo: { wire: 'extra_info', readOnly: true },
  } as const satisfies ContractFields<ManageableVolumeBody, 'id' | 'name'>;
}
