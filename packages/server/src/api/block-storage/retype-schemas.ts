/** Bodies of `os-retype` and `os-migrate_volume` (cinder/api/schemas/volume_actions.py, admin_actions.py). */

export const retypeAction = {
  type: 'object',
  properties: {
    new_type: { type: 'string' },
    migration_policy: { type: ['string', 'null'], enum: ['on-demand', 'never'] },
  },
  required: ['new_type'],
  additionalProperties: false,
};

const booleanParam = { type: ['boolean', 'string'] };

export const migrateVolumeAction = {
  type: 'object',
  properties: {
    host: { type: 'string', maxLength: 255 },
    force_host_copy: booleanParam,
    lock_volume: booleanParam,
  },
  required: ['host'],
  additionalProperties: false,
};

/** 3.16: a cluster instead of a host (exactly one of them, checked by the handler). */
export const migrateVolumeActionV316 = {
  type: 'object',
  properties: {
    host: { type: ['string', 'null'], maxLength: 255 },
    cluster: { type: ['string', 'null'], maxLength: 255 },
    force_host_copy: booleanParam,
    lock_volume: booleanParam,
  },
  additionalProperties: false,
};
