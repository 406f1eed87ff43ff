/**
 * Backend snapshots that Cinder does not manage (yet).
 * @packageDocumentation
 */
import type { ManageableSnapshotBody } from '@cinderbox/api-schema';
import { type BaseAttributes, Resource } from '../../resource/resource.js';
import { MANAGEABLE_QUERY } from './list-query.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** ManageableSnapshot attributes. */
export interface ManageableSnapshotAttributes extends BaseAttributes {
  /** Backend reference, e.g. `{ 'source-name': '_snapshot-…' }`. */
  reference?: Record<string, unknown>;
  /** Reference of the parent backend volume. */
  sourceReference?: Record<string, unknown>;
  safeToManage?: boolean;
  reasonNotSafe?: string;
  /** Set when already managed. */
  cinderId?: string;
  size?: number;
  extraInfo?: unknown;
}

export interface ManageableSnapshot extends ManageableSnapshotAttributes {}

/**
 * An entry of `GET /manageable_snapshots[/detail]` (envelope `manageable-snapshots`).
 *
 * @example
 * ```ts
 * for await (const m of conn.blockStorage.manageableSnapshots({ host: 'node@raw#pool' })) console.log(m.reference, m.safeToManage);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class ManageableSnapshot extends Resource<ManageableSnapshotAttributes> {
  static override readonly displayName: string = 'ManageableSnapshot';
  static override readonly resourcesKey: string | undefined = 'manageable-snapshots';
  static override readonly basePath: string = '/manageable_snapshots';
  static override readonly maxMicroversion: string | undefined = '3.65';
  static override readonly allow = { create: false, fetch: false, commit: false, delete: false, list: true };
  static override readonly queryParameters = MANAGEABLE_QUERY;
  static override readonly fields = {
    ...BASE_FIELDS,
    reference: { wire: 'reference', type: 'object', readOnly: true },
    sourceReference: { wire: 'source_reference', type: 'object', readOnly: true },
    safeToManage: { wire: 'safe_to_manage', type: 'boolean', readOnly: true },
    reasonNotSafe: { wire: 'reason_not_safe', type: 'string', readOnly: true },
    cinderId: { wire: 'cinder_id', type: 'string', readOnly: true },
    size: { wire: 'size', type: 'integer', readOnly: true },
    extraInfo: { wire: 'extra_info', readOnly: true },
  } as const satisfies ContractFields<ManageableSnapshotBody, 'id' | 'name'>;
}
