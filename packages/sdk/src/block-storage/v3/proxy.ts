/**
 * Block Storage v3 proxy.
 * @packageDocumentation
 */

import type { ResourceInput } from '../../resource/resource.js';
import type { ServiceClient } from '../../service/service-client.js';
import type { CallOptions } from '../../transport/types.js';
import { BlockStorageProxyBase, type Ref } from '../proxy-base.js';
import { Backup } from '../resources/backup.js';
import { Snapshot } from '../resources/snapshot.js';
import { Volume } from '../resources/volume.js';

/**
 * Block Storage v3 with microversion negotiation: every call sends `min(resource cap, server max)`
 * (or the configured default) and per-operation minimums are checked before sending.
 *
 * @example
 * ```ts
 * const bs = conn.blockStorage;
 * console.log(await bs.negotiatedMicroversion());
 * const b = await bs.updateBackup(backup, { name: 'weekly' }); // needs 3.9
 * ```
 */
export class BlockStorageV3 extends BlockStorageProxyBase {
  /** Major API version. */
  readonly version = 3 as const;

  constructor(client: ServiceClient) {
    super(client);
  }

  /** The microversion sent for a resource type (default: Volume's cap). @example `await bs.negotiatedMicroversion()` */
  negotiatedMicroversion(
    cap: string | undefined = Volume.maxMicroversion,
    options: CallOptions = {},
  ): Promise<string | undefined> {
    return this.client.negotiatedMicroversion(cap, options.signal);
  }

  /** Whether the server (and the resource cap) reach `version`. @example `await bs.supportsMicroversion('3.8')` */
  supportsMicroversion(
    version: string,
    cap: string | undefined = Volume.maxMicroversion,
    options: CallOptions = {},
  ): Promise<boolean> {
    return this.client.supportsMicroversion(version, cap, options.signal);
  }

  /**
   * Updates a backup's name/description (3.9+) or metadata (3.43+); only changed fields are sent.
   *
   * @example
   * ```ts
   * await bs.updateBackup(b, { description: 'monthly', metadata: { keep: 'true' } });
   * ```
   */
  updateBackup(backup: Ref<Backup>, attrs: ResourceInput<Backup>, options: CallOptions = {}): Promise<Backup> {
    return this.ref(Backup, backup).update(attrs).commit(options);
  }

  /** Reverts a volume to its latest snapshot (3.40+). @example `await bs.revertVolumeToSnapshot(vol, snap)` */
  revertVolumeToSnapshot(volume: Ref<Volume>, snapshot: Ref<Snapshot>, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).revertToSnapshot(this.idOf(snapshot), options);
  }

  protected async managePath(options: CallOptions, kind: 'snapshot' | 'volume' = 'snapshot'): Promise<string> {
    const cap = kind === 'snapshot' ? Snapshot.maxMicroversion : Volume.maxMicroversion;
    return (await this.client.supportsMicroversion('3.8', cap, options.signal))
      ? `/manageable_${kind}s`
      : `/os-${kind}-manage`;
  }

  protected async manageableListPath(
    details: boolean,
    options: CallOptions,
    kind: 'snapshot' | 'volume' = 'snapshot',
  ): Promise<{ path: string }> {
    const base = await this.managePath(options, kind);
    return { path: details ? `${base}/detail` : base };
  }
}
