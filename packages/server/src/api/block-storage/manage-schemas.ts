/** Bodies of the manage requests (Cinder's `cinder/api/schemas/snapshot_manage.py` and `volume_manage.py`). */
import { metadataSchema } from './schemas.js';
import { DESCRIPTION_PATTERN, NAME_PATTERN } from '../common/validation.js';

const nullableString = { type: ['string', 'null'], maxLength: 255 };
const metadataAllowsNull = { ...metadataSchema, type: ['object', 'null'] };
const uuid = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' };
/** `host`, `host@backend` or `host@backend#pool` (Cinder's `parameter_types.cinder_host`). */
const cinderHost = {
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 255,
  pattern: '^[a-zA-Z0-9._\\-]+(@[a-zA-Z0-9._\\-]+)?(#[^\\s]+)?$',
};

export const snapshotManageBody = {
  type: 'object',
  properties: {
    snapshot: {
      type: 'object',
      properties: {
        volume_id: uuid,
        ref: { type: ['object', 'string', 'null'] },
        name: { ...nullableString, pattern: NAME_PATTERN },
        description: { ...nullableString, pattern: DESCRIPTION_PATTERN },
        metadata: metadataAllowsNull,
      },
      required: ['volume_id', 'ref'],
      additionalProperties: false,
    },
  },
  required: ['snapshot'],
  additionalProperties: false,
};

const volumeManageProps = {
  description: { ...nullableString, pattern: DESCRIPTION_PATTERN },
  availability_zone: nullableString,
  bootable: { type: ['boolean', 'string'] },
  volume_type: nullableString,
  name: { ...nullableString, pattern: NAME_PATTERN },
  host: cinderHost,
  ref: { type: ['object', 'string'] },
  metadata: metadataAllowsNull,
};

export const volumeManageBody = {
  type: 'object',
  properties: {
    volume: { type: 'object', properties: volumeManageProps, required: ['ref'], additionalProperties: false },
  },
  required: ['volume'],
  additionalProperties: false,
};

/** 3.16 lets a cluster name the backend. */
export const volumeManageBodyV316 = {
  ...volumeManageBody,
  properties: {
    volume: {
      type: 'object',
      properties: { ...volumeManageProps, cluster: nullableString },
      required: ['ref'],
      additionalProperties: false,
    },
  },
};
