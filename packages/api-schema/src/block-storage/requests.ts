/**
 * Block Storage request bodies (Cinder's `cinder/api/schemas/*`, re-expressed). ajv runs with unicode regexes,
 * so a literal hyphen inside a character class is escaped. Where a body changes with the microversion, each
 * variant is exported and the `…Bodies` list says which range it serves.
 */
import { Type } from 'typebox';
import {
  boolish,
  description,
  envelope,
  metadata,
  metadataAllowsNull,
  name,
  nullable,
  nullableString,
  optionalUuid,
  since,
  uuid,
  type VersionedBody,
  volumeSize,
} from './common.js';

// ---- volumes ----

const hints = Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'] });

const volumeCreateProps = {
  name: Type.Optional(name()),
  description: Type.Optional(description()),
  display_name: Type.Optional(name()),
  display_description: Type.Optional(description()),
  size: Type.Optional(volumeSize()),
  availability_zone: Type.Optional(nullableString()),
  source_volid: Type.Optional(optionalUuid()),
  snapshot_id: Type.Optional(optionalUuid()),
  backup_id: Type.Optional(since('3.47', optionalUuid())),
  volume_type: Type.Optional(nullableString()),
  metadata: Type.Optional(metadataAllowsNull()),
  imageRef: Type.Optional(nullable(Type.String())),
  image_id: Type.Optional(nullable(Type.String())),
  consistencygroup_id: Type.Optional(optionalUuid()),
  group_id: Type.Optional(since('3.13', optionalUuid())),
  multiattach: Type.Optional(nullable(Type.Boolean())),
  source_replica: Type.Optional(nullable(Type.String())),
};

/** Below 3.53 Cinder ignores unknown keys and clients (cinderclient 9.1) send null for everything unset. */
export const volumeCreateLenient = Type.Object(
  { volume: Type.Object(volumeCreateProps), 'OS-SCH-HNT:scheduler_hints': Type.Optional(hints) },
);

export const volumeCreateStrict = Type.Object(
  {
    volume: Type.Object(volumeCreateProps, { additionalProperties: false }),
    'OS-SCH-HNT:scheduler_hints': Type.Optional(hints),
    'os:scheduler_hints': Type.Optional(hints),
  },
  { additionalProperties: false },
);

export const volumeCreateBodies: VersionedBody[] = [
  { versions: { min: '3.0', max: '3.52' }, schema: volumeCreateLenient },
  { versions: { min: '3.53' }, schema: volumeCreateStrict },
];

const volumeUpdateProps = {
  name: Type.Optional(name()),
  description: Type.Optional(description()),
  display_name: Type.Optional(name()),
  display_description: Type.Optional(description()),
  metadata: Type.Optional(metadata()),
};

export const volumeUpdateLenient = Type.Object({ volume: Type.Object(volumeUpdateProps) });

export const volumeUpdateStrict = Type.Object(
  { volume: Type.Object(volumeUpdateProps, { additionalProperties: false, minProperties: 1 }) },
  { additionalProperties: false },
);

export const volumeUpdateBodies: VersionedBody[] = [
  { versions: { min: '3.0', max: '3.52' }, schema: volumeUpdateLenient },
  { versions: { min: '3.53' }, schema: volumeUpdateStrict },
];

export const metadataBody = Type.Object({ metadata: metadata() });
export const metadataItemBody = Type.Object({
  meta: Type.Unsafe<Record<string, string>>({ ...metadata(), minProperties: 1, maxProperties: 1 }),
});

// ---- snapshots ----

export const snapshotCreate = envelope(
  'snapshot',
  Type.Object(
    {
      volume_id: optionalUuid(),
      name: Type.Optional(name()),
      display_name: Type.Optional(name()),
      description: Type.Optional(description()),
      force: Type.Optional(boolish()),
      metadata: Type.Optional(metadataAllowsNull()),
    },
    { additionalProperties: false },
  ),
);

export const snapshotUpdate = envelope(
  'snapshot',
  Type.Object(
    {
      name: Type.Optional(name()),
      description: Type.Optional(description()),
      display_name: Type.Optional(name()),
      display_description: Type.Optional(description()),
    },
    {
      additionalProperties: false,
      anyOf: [{ required: ['name'] }, { required: ['description'] }, { required: ['display_name'] }, { required: ['display_description'] }],
    },
  ),
);

// ---- volume actions (the value under the action's key) ----

export const extendAction = Type.Object({ new_size: volumeSize() }, { additionalProperties: false });

export const resetVolumeStatusAction = Type.Object(
  {
    status: Type.Optional(Type.String()),
    attach_status: Type.Optional(Type.Unsafe<'attached' | 'detached'>({ type: 'string', enum: ['attached', 'detached'] })),
    migration_status: Type.Optional(nullable(Type.String())),
  },
  { anyOf: [{ required: ['status'] }, { required: ['attach_status'] }, { required: ['migration_status'] }], additionalProperties: false },
);

export const attachAction = Type.Object(
  {
    instance_uuid: Type.Optional(optionalUuid()),
    mountpoint: Type.String({ minLength: 1, maxLength: 255 }),
    host_name: Type.Optional(nullableString()),
    mode: Type.Optional(Type.Unsafe<'rw' | 'ro'>({ type: 'string', enum: ['rw', 'ro'] })),
  },
  { additionalProperties: false },
);

export const detachAction = nullable(Type.Object({ attachment_id: Type.Optional(optionalUuid()) }, { additionalProperties: false }));

/** Cinder's `volume_actions.force_detach`. */
export const forceDetachAction = nullable(
  Type.Object(
    {
      connector: Type.Optional(Type.Unsafe<string | Record<string, unknown> | null>({ type: ['string', 'object', 'null'] })),
      attachment_id: Type.Optional(nullable(Type.String())),
    },
    { additionalProperties: false },
  ),
);

export const connectorAction = Type.Object({ connector: Type.Unsafe<string | Record<string, unknown>>({ type: ['object', 'string'] }) });

export const terminateAction = Type.Object({
  connector: Type.Unsafe<string | Record<string, unknown> | null>({ type: ['object', 'string', 'null'] }),
});

export const bootableAction = Type.Object({ bootable: boolish() }, { additionalProperties: false });
export const readonlyAction = Type.Object({ readonly: boolish() }, { additionalProperties: false });
export const revertAction = since('3.40', Type.Object({ snapshot_id: optionalUuid() }, { additionalProperties: false }));

export const snapshotResetStatusAction = Type.Object({ status: Type.String() }, { additionalProperties: false });
export const updateSnapshotStatusAction = Type.Object(
  { status: Type.String(), progress: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

/** `os-retype` (cinder/api/schemas/volume_actions.py). */
export const retypeAction = Type.Object(
  {
    new_type: Type.String(),
    migration_policy: Type.Optional(Type.Unsafe<'on-demand' | 'never' | null>({ type: ['string', 'null'], enum: ['on-demand', 'never'] })),
  },
  { additionalProperties: false },
);

/** `os-migrate_volume` (cinder/api/schemas/admin_actions.py). */
export const migrateVolumeAction = Type.Object(
  { host: Type.String({ maxLength: 255 }), force_host_copy: Type.Optional(boolish()), lock_volume: Type.Optional(boolish()) },
  { additionalProperties: false },
);

/** 3.16: a cluster instead of a host (exactly one of them, checked by the handler). */
export const migrateVolumeActionV316 = since(
  '3.16',
  Type.Object(
    {
      host: Type.Optional(nullableString()),
      cluster: Type.Optional(nullableString()),
      force_host_copy: Type.Optional(boolish()),
      lock_volume: Type.Optional(boolish()),
    },
    { additionalProperties: false },
  ),
);

/** The action body of `POST /volumes/{id}/action`: one key naming the action. */
export const volumeActionSchemas = {
  'os-extend': extendAction,
  'os-reset_status': resetVolumeStatusAction,
  'os-set_bootable': bootableAction,
  'os-update_readonly_flag': readonlyAction,
  'os-initialize_connection': connectorAction,
  'os-terminate_connection': terminateAction,
  'os-attach': attachAction,
  'os-detach': detachAction,
  'os-force_detach': forceDetachAction,
  revert: revertAction,
  'os-retype': retypeAction,
  'os-migrate_volume': migrateVolumeAction,
};

// ---- backups ----

const backupCreateProps = {
  volume_id: uuid(),
  container: Type.Optional(nullableString()),
  description: Type.Optional(description()),
  incremental: Type.Optional(boolish()),
  force: Type.Optional(boolish()),
  name: Type.Optional(name()),
  snapshot_id: Type.Optional(optionalUuid()),
};

export const backupCreate = envelope('backup', Type.Object(backupCreateProps, { additionalProperties: false }));
export const backupCreateV343 = envelope(
  'backup',
  Type.Object({ ...backupCreateProps, metadata: Type.Optional(since('3.43', metadataAllowsNull())) }, { additionalProperties: false }),
);
export const backupCreateV351 = envelope(
  'backup',
  Type.Object(
    {
      ...backupCreateProps,
      metadata: Type.Optional(since('3.43', metadataAllowsNull())),
      availability_zone: Type.Optional(since('3.51', nullableString())),
    },
    { additionalProperties: false },
  ),
);
export const backupCreateBodies: VersionedBody[] = [
  { versions: { min: '3.0', max: '3.42' }, schema: backupCreate },
  { versions: { min: '3.43', max: '3.50' }, schema: backupCreateV343 },
  { versions: { min: '3.51' }, schema: backupCreateV351 },
];

const backupUpdateProps = { name: Type.Optional(name()), description: Type.Optional(description()) };
export const backupUpdate = envelope('backup', Type.Object(backupUpdateProps, { additionalProperties: false }));
export const backupUpdateV343 = envelope(
  'backup',
  Type.Object({ ...backupUpdateProps, metadata: Type.Optional(since('3.43', metadataAllowsNull())) }, { additionalProperties: false }),
);
export const backupUpdateBodies: VersionedBody[] = [
  { versions: { min: '3.9', max: '3.42' }, schema: backupUpdate },
  { versions: { min: '3.43' }, schema: backupUpdateV343 },
];

export const backupRestore = envelope(
  'restore',
  nullable(Type.Object({ volume_id: Type.Optional(optionalUuid()), name: Type.Optional(name()) }, { additionalProperties: false })),
);

export const backupImport = envelope(
  'backup-record',
  Type.Object(
    { backup_service: Type.String({ maxLength: 255 }), backup_url: Type.String({ minLength: 1 }) },
    { additionalProperties: false },
  ),
);

export const backupResetStatus = Type.Object({ status: Type.String() }, { additionalProperties: false });

/** cinderbox extension bodies (may be empty). */
export const repoVerify = nullable(
  Type.Object(
    { full: Type.Optional(Type.Boolean()), target: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })) },
    { additionalProperties: false },
  ),
);
export const repoGc = nullable(
  Type.Object(
    {
      grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 31536000 })),
      dry_run: Type.Optional(Type.Boolean()),
      target: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    },
    { additionalProperties: false },
  ),
);

// ---- manage (cinder/api/schemas/snapshot_manage.py and volume_manage.py) ----

/** `host`, `host@backend` or `host@backend#pool` (Cinder's `parameter_types.cinder_host`). */
const cinderHost = nullable(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._\\-]+(@[a-zA-Z0-9._\\-]+)?(#[^\\s]+)?$' }));

export const snapshotManageBody = envelope(
  'snapshot',
  Type.Object(
    {
      volume_id: uuid(),
      ref: Type.Unsafe<Record<string, unknown> | string | null>({ type: ['object', 'string', 'null'] }),
      name: Type.Optional(name()),
      description: Type.Optional(description()),
      metadata: Type.Optional(metadataAllowsNull()),
    },
    { additionalProperties: false },
  ),
);

const volumeManageProps = {
  description: Type.Optional(description()),
  availability_zone: Type.Optional(nullableString()),
  bootable: Type.Optional(boolish()),
  volume_type: Type.Optional(nullableString()),
  name: Type.Optional(name()),
  host: Type.Optional(cinderHost),
  ref: Type.Unsafe<Record<string, unknown> | string>({ type: ['object', 'string'] }),
  metadata: Type.Optional(metadataAllowsNull()),
};

export const volumeManageBody = envelope('volume', Type.Object(volumeManageProps, { additionalProperties: false }));

/** 3.16 lets a cluster name the backend. */
export const volumeManageBodyV316 = envelope(
  'volume',
  Type.Object({ ...volumeManageProps, cluster: Type.Optional(since('3.16', nullableString())) }, { additionalProperties: false }),
);
export const volumeManageBodies: VersionedBody[] = [
  { versions: { min: '3.0', max: '3.15' }, schema: volumeManageBody },
  { versions: { min: '3.16' }, schema: volumeManageBodyV316 },
];
