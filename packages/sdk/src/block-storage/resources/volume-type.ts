/**
 * Volume types and availability zones (read-only catalogue data).
 * @packageDocumentation
 */
import { type BaseAttributes, Resource } from '../../resource/resource.js';

/** VolumeType attributes. */
export interface VolumeTypeAttributes extends BaseAttributes {
  description?: string;
  isPublic?: boolean;
  extraSpecs?: Record<string, string>;
  /** Admin only. */
  qosSpecsId?: string;
}

export interface VolumeType extends VolumeTypeAttributes {}

/**
 * A volume type (`/types`).
 *
 * @example
 * ```ts
 * for await (const t of conn.blockStorage.volumeTypes()) console.log(t.name, t.extraSpecs);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class VolumeType extends Resource<VolumeTypeAttributes> {
  static override readonly displayName: string = 'VolumeType';
  static override readonly resourceKey: string | undefined = 'volume_type';
  static override readonly resourcesKey: string | undefined = 'volume_types';
  static override readonly basePath: string = '/types';
  static override readonly allow = { create: false, fetch: true, commit: false, delete: false, list: true };
  static override readonly queryParameters = { limit: 'limit', marker: 'marker', isPublic: 'is_public' };
  static override readonly fields = {
    ...Resource.fields,
    description: { wire: 'description', type: 'string' },
    isPublic: { wire: 'is_public', type: 'boolean' },
    extraSpecs: { wire: 'extra_specs', type: 'object' },
    qosSpecsId: { wire: 'qos_specs_id', type: 'string', readOnly: true },
  } as const;
}

/** AvailabilityZone attributes. */
export interface AvailabilityZoneAttributes extends BaseAttributes {
  /** Wire `zoneName`. */
  name?: string;
  /** Wire `zoneState`, e.g. `{ available: true }`. */
  state?: { available?: boolean };
}

export interface AvailabilityZone extends AvailabilityZoneAttributes {}

/**
 * A block-storage availability zone (`/os-availability-zone`, envelope `availabilityZoneInfo`).
 *
 * @example
 * ```ts
 * const zones = await conn.blockStorage.availabilityZones().toArray();
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class AvailabilityZone extends Resource<AvailabilityZoneAttributes> {
  static override readonly displayName: string = 'AvailabilityZone';
  static override readonly resourcesKey: string | undefined = 'availabilityZoneInfo';
  static override readonly basePath: string = '/os-availability-zone';
  static override readonly allow = { create: false, fetch: false, commit: false, delete: false, list: true };
  static override readonly queryParameters = {};
  static override readonly fields = {
    id: { wire: 'id', type: 'string', readOnly: true },
    name: { wire: 'zoneName', type: 'string', readOnly: true },
    state: { wire: 'zoneState', type: 'object', readOnly: true },
  } as const;
}
