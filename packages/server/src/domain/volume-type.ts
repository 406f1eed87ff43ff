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
