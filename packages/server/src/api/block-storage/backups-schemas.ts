/** Backup request bodies (Cinder's `cinder/api/schemas/backups.py`, re-expressed; chosen by microversion). */
import { metadataSchema } from './schemas.js';
import { DESCRIPTION_PATTERN, NAME_PATTERN } from '../common/validation.js';

const nullableString = (max = 255) => ({ type: ['string', 'null'], maxLength: max });
const optionalUuid = {
  type: ['string', 'null'],
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
};
const uuid = { ...optionalUuid, type: 'string' };
const boolish = { type: ['boolean', 'string'] };
const metadataAllowsNull = { ...metadataSchema, type: ['object', 'null'] };

const createProps = {
  volume_id: uuid,
  container: nullableString(),
  description: { ...nullableString(), pattern: DESCRIPTION_PATTERN },
  incremental: boolish,
  force: boolish,
  name: { ...nullableString(), pattern: NAME_PATTERN },
  snapshot_id: optionalUuid,
};

function wrap(key: string, inner: object): object {
  return { type: 'object', properties: { [key]: inner }, required: [key], additionalProperties: false };
}

export const backupCreate = wrap('backup', {
  type: 'object',
  properties: createProps,
  required: ['volume_id'],
  additionalProperties: false,
});
export const backupCreateV343 = wrap('backup', {
  type: 'object',
  properties: { ...createProps, metadata: metadataAllowsNull },
  required: ['volume_id'],
  additionalProperties: false,
});
export const backupCreateV351 = wrap('backup', {
  type: 'object',
  properties: { ...createProps, metadata: metadataAllowsNull, availability_zone: nullableString() },
  required: ['volume_id'],
  additionalProperties: false,
});

const updateProps = { name: { ...nullableString(), pattern: NAME_PATTERN }, description: { ...nullableString(), pattern: DESCRIPTION_PATTERN } };
export const backupUpdate = wrap('backup', { type: 'object', properties: updateProps, additionalProperties: false });
export const backupUpdateV343 = wrap('backup', {
  type: 'object',
  properties: { ...updateProps, metadata: metadataAllowsNull },
  additionalProperties: false,
});

export const backupRestore = wrap('restore', {
  type: ['object', 'null'],
  properties: { volume_id: optionalUuid, name: { ...nullableString(), pattern: NAME_PATTERN } },
  additionalProperties: false,
});

export const backupImport = wrap('backup-record', {
  type: 'object',
  properties: {
    backup_service: { type: 'string', maxLength: 255 },
    backup_url: { type: 'string', minLength: 1 },
  },
  required: ['backup_service', 'backup_url'],
  additionalProperties: false,
});

export const backupResetStatus = {
  type: 'object',
  properties: { status: { type: 'string' } },
  required: ['status'],
  additionalProperties: false,
};

/** cinderbox extension bodies (may be empty). */
export const repoVerify = {
  type: ['object', 'null'],
  properties: { full: { type: 'boolean' }, target: { type: 'string', minLength: 1, maxLength: 63 } },
  additionalProperties: false,
};
export const repoGc = {
  type: ['object', 'null'],
  properties: {
    grace_seconds: { type: 'integer', minimum: 0, maximum: 31536000 },
    dry_run: { type: 'boolean' },
    target: { type: 'string', minLength: 1, maxLength: 63 },
  },
  additionalProperties: false,
};
