/**
 * Request body schemas (Cinder's `cinder/api/schemas/*`, re-expressed). ajv runs with unicode regexes, so
 * a literal hyphen inside a character class is escaped.
 */
import { DESCRIPTION_PATTERN, NAME_PATTERN } from '../common/validation.js';

const nullableString = (max = 255) => ({ type: ['string', 'null'], maxLength: max });
const optionalUuid = {
  type: ['string', 'null'],
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
};

const METADATA_KEY = '^[a-zA-Z0-9\\-_:. /]{1,255}$';
export const metadataSchema = {
  type: 'object',
  patternProperties: { [METADATA_KEY]: { type: 'string', maxLength: 255 } },
  additionalProperties: false,
};
const metadataAllowsNull = { ...metadataSchema, type: ['object', 'null'] };

const volumeSize = { type: ['integer', 'string', 'null'], pattern: '^[0-9]+$', minimum: 1, maximum: 2147483647 };

const volumeCreateProps = {
  name: { ...nullableString(), pattern: NAME_PATTERN },
  description: { ...nullableString(), pattern: DESCRIPTION_PATTERN },
  display_name: { ...nullableString(), pattern: NAME_PATTERN },
  display_description: { ...nullableString(), pattern: DESCRIPTION_PATTERN },
  size: volumeSize,
  availability_zone: nullableString(),
  source_volid: optionalUuid,
  snapshot_id: optionalUuid,
  backup_id: optionalUuid,
  volume_type: nullableString(),
  metadata: metadataAllowsNull,
  imageRef: { type: ['string', 'null'] },
  image_id: { type: ['string', 'null'] },
  consistencygroup_id: optionalUuid,
  group_id: optionalUuid,
  multiattach: { type: ['boolean', 'null'] },
  source_replica: { type: ['string', 'null'] },
};

const hints = { type: ['object', 'null'] };

/** Below 3.53 Cinder ignores unknown keys and clients (cinderclient 9.1) send null for everything unset. */
export const volumeCreateLenient = {
  type: 'object',
  properties: { volume: { type: 'object', properties: volumeCreateProps }, 'OS-SCH-HNT:scheduler_hints': hints },
  required: ['volume'],
};

export const volumeCreateStrict = {
  type: 'object',
  properties: {
    volume: { type: 'object', properties: volumeCreateProps, additionalProperties: false },
    'OS-SCH-HNT:scheduler_hints': hints,
    'os:scheduler_hints': hints,
  },
  required: ['volume'],
  additionalProperties: false,
};

const volumeUpdateProps = {
  name: { ...nullableString(), pattern: NAME_PATTERN },
  description: { ...nullableString(), pattern: DESCRIPTION_PATTERN },
  display_name: { ...nullableString(), pattern: NAME_PATTERN },
  display_description: { ...nullableString(), pattern: DESCRIPTION_PATTERN },
  metadata: metadataSchema,
};

export const volumeUpdateLenient = {
  type: 'object',
  properties: { volume: { type: 'object', properties: volumeUpdateProps } },
  required: ['volume'],
};

export const volumeUpdateStrict = {
  type: 'object',
  properties: {
    volume: { type: 'object', properties: volumeUpdateProps, additionalProperties: false, minProperties: 1 },
  },
  required: ['volume'],
  additionalProperties: false,
};

const boolish = { type: ['boolean', 'string'] };

export const snapshotCreate = {
  type: 'object',
  properties: {
    snapshot: {
      type: 'object',
      properties: {
        volume_id: optionalUuid,
        name: { ...nullableString(), pattern: NAME_PATTERN },
        display_name: { ...nullableString(), pattern: NAME_PATTERN },
        description: { ...nullableString(), pattern: DESCRIPTION_PATTERN },
        force: boolish,
        metadata: metadataAllowsNull,
      },
      required: ['volume_id'],
      additionalProperties: false,
    },
  },
  required: ['snapshot'],
  additionalProperties: false,
};

export const snapshotUpdate = {
  type: 'object',
  properties: {
    snapshot: {
      type: 'object',
      properties: {
        name: { ...nullableString(), pattern: NAME_PATTERN },
        description: { ...nullableString(), pattern: DESCRIPTION_PATTERN },
        display_name: { ...nullableString(), pattern: NAME_PATTERN },
        display_description: { ...nullableString(), pattern: DESCRIPTION_PATTERN },
      },
      additionalProperties: false,
      anyOf: [
        { required: ['name'] },
        { required: ['description'] },
        { required: ['display_name'] },
        { required: ['display_description'] },
      ],
    },
  },
  required: ['snapshot'],
  additionalProperties: false,
};

export const volumeMetadataBody = { type: 'object', properties: { metadata: metadataSchema }, required: ['metadata'] };
export const volumeMetaItemBody = {
  type: 'object',
  properties: { meta: { ...metadataSchema, minProperties: 1, maxProperties: 1 } },
  required: ['meta'],
};

// ---- actions ----

export const extendAction = {
  type: 'object',
  properties: { new_size: volumeSize },
  required: ['new_size'],
  additionalProperties: false,
};

export const resetVolumeStatusAction = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    attach_status: { type: 'string', enum: ['attached', 'detached'] },
    migration_status: { type: ['string', 'null'] },
  },
  anyOf: [{ required: ['status'] }, { required: ['attach_status'] }, { required: ['migration_status'] }],
  additionalProperties: false,
};

export const attachAction = {
  type: 'object',
  properties: {
    instance_uuid: optionalUuid,
    mountpoint: { type: 'string', minLength: 1, maxLength: 255 },
    host_name: nullableString(),
    mode: { type: 'string', enum: ['rw', 'ro'] },
  },
  required: ['mountpoint'],
  additionalProperties: false,
};

export const detachAction = {
  type: ['object', 'null'],
  properties: { attachment_id: optionalUuid },
  additionalProperties: false,
};

/** Cinder's `volume_actions.force_detach`. */
export const forceDetachAction = {
  type: ['object', 'null'],
  properties: { connector: { type: ['string', 'object', 'null'] }, attachment_id: { type: ['string', 'null'] } },
  additionalProperties: false,
};

export const connectorAction = {
  type: 'object',
  properties: { connector: { type: ['object', 'string'] } },
  required: ['connector'],
};

export const terminateAction = {
  type: 'object',
  properties: { connector: { type: ['object', 'string', 'null'] } },
  required: ['connector'],
};

export const bootableAction = {
  type: 'object',
  properties: { bootable: boolish },
  required: ['bootable'],
  additionalProperties: false,
};

export const readonlyAction = {
  type: 'object',
  properties: { readonly: boolish },
  required: ['readonly'],
  additionalProperties: false,
};

export const revertAction = {
  type: 'object',
  properties: { snapshot_id: optionalUuid },
  required: ['snapshot_id'],
  additionalProperties: false,
};

export const snapshotResetStatusAction = {
  type: 'object',
  properties: { status: { type: 'string' } },
  required: ['status'],
  additionalProperties: false,
};

export const updateSnapshotStatusAction = {
  type: 'object',
  properties: { status: { type: 'string' }, progress: { type: 'string' } },
  required: ['status'],
  additionalProperties: false,
};
