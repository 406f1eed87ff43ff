/**
 * Block Storage v2 proxy (no microversions; `/v2/{project_id}` URLs).
 * @packageDocumentation
 */
import type { ServiceClient } from '../../service/service-client.js';
import type { CallOptions } from '../../transport/types.js';
import { BlockStorageProxyBase } from '../proxy-base.js';

/**
 * Block Storage v2: the same snapshot/backup/volume/quota methods as v3 minus the microversioned
 * ones (no backup update, no `/manageable_snapshots`; manage uses `/os-snapshot-manage`).
 *
 * @example
 * ```ts
 * for await (const s of conn.blockStorageV2.snapshots()) console.log(s.progressPercent, s.projectId);
 * ```
 */
export class BlockStorageV2 extends BlockStorageProxyBase {
  /** Major API version. */
  readonly version = 2 as const;

  constructor(client: ServiceClient) {
    super(client);
  }

  protected async managePath(_options: CallOptions, kind: 'snapshot' | 'volume' = 'snapshot'): Promise<string> {
    return `/os-${kind}-manage`;
  }

  protected async manageableListPath(
    details: boolean,
    _options: CallOptions,
    kind: 'snapshot' | 'volume' = 'snapshot',
  ): Promise<{ path: string }> {
    return { path: details ? `/os-${kind}-manage/detail` : `/os-${kind}-manage` };
  }
}
