/** Cinder's `default_volume_type`; the row is created by migration 0002. */
export const DEFAULT_VOLUME_TYPE_NAME = '__DEFAULT__';

/** A volume type as the store keeps it (column names; `is_public` a boolean, `extra_specs` parsed). */
export interface VolumeType {
  id: string;
  name: string;
  description: string | null;
  is_public: boolean;
  extra_specs: Record<string, string>;
  created_at: string;
  /** The associated QoS specs, if any (optional so records built before migration 0011's column still type-check). */
  qos_specs_id?: string | null;
}

/** A type's encryption spec (Cinder's `encryption` row; one per type). */
export interface VolumeTypeEncryption {
  volume_type_id: string;
  encryption_id: string;
  provider: string;
  control_location: string;
  cipher: string | null;
  key_size: number | null;
  created_at: string;
  updated_at: string | null;
}

/** A project's default type (3.62). */
export interface DefaultVolumeType {
  project_id: string;
  volume_type_id: string;
}

/** Cinder's extra spec naming the backend (`volume_backend_name` of a backend's configuration). */
export const BACKEND_NAME_SPEC = 'volume_backend_name';

/**
 * What every backend reports as its vendor and protocol (the pools' capabilities in `GET /scheduler-stats/get_pools`),
 * and so what the `vendor_name` and `storage_protocol` extra specs of a type are matched against.
 */
export const BACKEND_VENDOR_NAME = 'Open Source';
export const BACKEND_STORAGE_PROTOCOL = 'local';

/** Cinder's `VolumeType.is_multiattach`: the extra spec `multiattach` reads `<is> True` (any case). */
export function isMultiattachType(type: Pick<VolumeType, 'extra_specs'>): boolean {
  return (Object.hasOwn(type.extra_specs, 'multiattach') ? type.extra_specs.multiattach! : '').toLowerCase() === '<is> true';
}
