/**
 * Request bodies of the smaller Block Storage resources (Cinder's `cinder/api/schemas/` for group types,
 * groups, group snapshots, attachments, transfers, QoS specs, volume types, default types, services and quotas),
 * re-expressed. Where two of Cinder's schema modules spell the same idea differently (a spec-key pattern, a
 * boolean), each keeps its own spelling: the server's 400 texts come from them.
 */
import { Type, type TSchema } from 'typebox';
import { DESCRIPTION_PATTERN, LOOSE_UUID_PATTERN, NAME_PATTERN, nullable, since, strictBoolean, type VersionedBody } from './common.js';

/** `{ key: { …properties } }` with only that key; the inner object closed, `required` as listed. */
function closed(key: string, properties: Record<string, TSchema>, required: string[] = []) {
  const props: Record<string, TSchema> = {};
  for (const [k, v] of Object.entries(properties)) props[k] = required.includes(k) ? v : Type.Optional(v);
  return Type.Object({ [key]: Type.Object(props, { additionalProperties: false }) }, { additionalProperties: false });
}

const looseUuid = () => Type.String({ pattern: LOOSE_UUID_PATTERN });
const nameOrNull = () => nullable(Type.String({ minLength: 0, maxLength: 255, pattern: NAME_PATTERN }));
const requiredName = () => Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN });
const descriptionOrNull = () => nullable(Type.String({ minLength: 0, maxLength: 255, pattern: DESCRIPTION_PATTERN }));
const groupSpecs = () =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    patternProperties: { '^[a-zA-Z0-9-_:. /]{1,255}$': { type: 'string', maxLength: 255 } },
    additionalProperties: false,
  });

// ---- group types (3.11), groups (3.13), group snapshots (3.14) ----

export const groupTypeCreate = closed('group_type', { name: requiredName(), description: descriptionOrNull(), is_public: strictBoolean(), group_specs: groupSpecs() }, ['name']);
export const groupTypeUpdate = closed('group_type', { name: nullable(requiredName()), description: descriptionOrNull(), is_public: strictBoolean() });
export const groupSpecsBody = Type.Object({ group_specs: groupSpecs() }, { additionalProperties: false });
/** `PUT …/group_specs/{key}`: `{ key: value }` (the handler checks the key is the path's and alone). */
export const groupSpecUpdate = groupSpecs();
export const groupCreate = closed(
  'group',
  {
    group_type: Type.String({ minLength: 1, maxLength: 255 }),
    volume_types: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1 }),
    name: nameOrNull(),
    description: descriptionOrNull(),
    availability_zone: nullable(Type.String({ minLength: 0, maxLength: 255 })),
  },
  ['group_type', 'volume_types'],
);
export const groupUpdate = closed('group', {
  name: nameOrNull(),
  description: descriptionOrNull(),
  add_volumes: nullable(Type.String({ maxLength: 65535 })),
  remove_volumes: nullable(Type.String({ maxLength: 65535 })),
});
export const groupCreateFromSource = closed('create-from-src', { name: nameOrNull(), description: descriptionOrNull(), group_snapshot_id: looseUuid(), source_group_id: looseUuid() });
export const groupDeleteAction = closed('delete', { 'delete-volumes': strictBoolean() });
export const groupResetStatusAction = since('3.20', closed('reset_status', { status: Type.String({ minLength: 1, maxLength: 255 }) }, ['status']));
export const groupSnapshotResetStatusAction = since('3.19', closed('reset_status', { status: Type.String({ minLength: 1, maxLength: 255 }) }, ['status']));
export const groupSnapshotCreate = closed('group_snapshot', { group_id: looseUuid(), name: nameOrNull(), description: descriptionOrNull() }, ['group_id']);

// ---- attachments (3.27; `mode` from 3.54) ----

const attachmentCreateProps = {
  instance_uuid: looseUuid(),
  connector: Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'] }),
  volume_uuid: looseUuid(),
};
export const attachmentCreate = closed('attachment', attachmentCreateProps, ['volume_uuid']);
export const attachmentCreateV354 = closed(
  'attachment',
  { ...attachmentCreateProps, mode: since('3.54', Type.Unsafe<'rw' | 'ro'>({ type: 'string', enum: ['rw', 'ro'] })) },
  ['volume_uuid'],
);
export const attachmentCreateBodies: VersionedBody[] = [
  { versions: { min: '3.27', max: '3.53' }, schema: attachmentCreate },
  { versions: { min: '3.54' }, schema: attachmentCreateV354 },
];
export const attachmentUpdate = closed('attachment', { connector: Type.Object({}, { minProperties: 1 }) }, ['connector']);

// ---- transfers (`no_snapshots` from 3.55) ----

const transferName = () => nullable(Type.String({ minLength: 0, maxLength: 255 }));
export const transferCreate = closed('transfer', { volume_id: looseUuid(), name: transferName() }, ['volume_id']);
export const transferCreateV355 = closed('transfer', { volume_id: looseUuid(), name: transferName(), no_snapshots: since('3.55', strictBoolean()) }, ['volume_id']);
export const transferCreateBodies: VersionedBody[] = [
  { versions: { min: '3.0', max: '3.54' }, schema: transferCreate },
  { versions: { min: '3.55' }, schema: transferCreateV355 },
];
export const transferAccept = closed('accept', { auth_key: Type.String() }, ['auth_key']);

// ---- QoS specs ----

/** Spec values: Cinder's 0–255 characters; control characters are refused (PostgreSQL cannot store NUL). */
const specValue = () => nullable(Type.String({ maxLength: 255, pattern: NAME_PATTERN }));

/** `schemas/qos_specs.py` create: a name, and any other keys (the consumer among them) as strings. */
export const qosSpecsCreate = Type.Object(
  {
    qos_specs: Type.Object(
      { name: Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN }) },
      { propertyNames: { minLength: 1, maxLength: 255, pattern: NAME_PATTERN }, additionalProperties: specValue() },
    ),
  },
  { additionalProperties: false },
);
/** `schemas/qos_specs.py` set: `parameter_types.extra_specs_with_null`. */
export const qosSpecsSet = Type.Object(
  {
    qos_specs: Type.Unsafe<Record<string, string | null>>({
      type: 'object',
      patternProperties: { '^[a-zA-Z0-9-_:. /]{1,255}$': { type: ['string', 'null'], maxLength: 255, pattern: NAME_PATTERN } },
      additionalProperties: false,
    }),
  },
  { additionalProperties: false },
);
/** `schemas/qos_specs.py` unset. */
export const qosSpecsUnset = Type.Object(
  { keys: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { uniqueItems: true }) },
  { additionalProperties: false },
);

// ---- volume types, extra specs, access, encryption, default types ----

/** `parameter_types.boolean` as `volume_types.py` spells it: a pattern rather than an enum. */
const booleanLike = () =>
  Type.Unsafe<boolean | string>({
    type: ['boolean', 'string'],
    pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Oo][Nn]|[Oo][Ff][Ff]|[Yy]|[Nn]|[Yy][Ee][Ss]|[Nn][Oo]|[Tt]|[Ff]|1|0)$',
  });
const extraSpecs = () =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    patternProperties: { '^[a-zA-Z0-9\\-_:. /]{1,255}$': { type: 'string', maxLength: 255 } },
    additionalProperties: false,
  });
const typeName = () => Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN });
const typeDescription = () => nullable(Type.String({ maxLength: 255, pattern: DESCRIPTION_PATTERN }));

export const volumeTypeCreate = closed(
  'volume_type',
  { name: typeName(), description: typeDescription(), extra_specs: nullable(extraSpecs()), 'os-volume-type-access:is_public': booleanLike() },
  ['name'],
);
export const volumeTypeUpdate = closed('volume_type', { name: nullable(typeName()), description: typeDescription(), is_public: booleanLike() });
export const extraSpecsCreate = Type.Object({ extra_specs: extraSpecs() }, { additionalProperties: false });
export const extraSpecUpdate = Type.Unsafe<Record<string, string>>({ ...extraSpecs(), minProperties: 1, maxProperties: 1 });
/** `addProjectAccess` / `removeProjectAccess`: `{ [action]: { project } }`. */
export const typeAccessAction = (action: 'addProjectAccess' | 'removeProjectAccess') =>
  closed(action, { project: Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN }) }, ['project']);

const encryptionProps = {
  key_size: Type.Unsafe<string | number | null>({ type: ['string', 'integer', 'null'], pattern: '^[0-9]+$', minimum: 0, maximum: 2147483647 }),
  provider: Type.String({ maxLength: 255, pattern: NAME_PATTERN }),
  control_location: Type.Unsafe<'front-end' | 'back-end'>({ enum: ['front-end', 'back-end'] }),
  cipher: nullable(Type.String({ maxLength: 255, pattern: NAME_PATTERN })),
};
export const encryptionCreate = closed('encryption', encryptionProps, ['provider', 'control_location']);
export const encryptionUpdate = closed('encryption', encryptionProps);
export const defaultTypeSet = closed('default_type', { volume_type: Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN }) }, ['volume_type']);

// ---- os-services (enable_and_disable, disable_log_reason, freeze_and_thaw, set_log, get_log) ----

const serviceHost = () => Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN });
const serviceName = () => Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN });
const serviceNullable = () => nullable(Type.String({ pattern: NAME_PATTERN, maxLength: 255 }));

const enableProps = { binary: Type.Optional(serviceName()), host: serviceHost(), cluster: Type.Optional(serviceNullable()), service: Type.Optional(serviceName()) };
export const serviceEnable = Type.Object(enableProps, { anyOf: [{ required: ['binary'] }, { required: ['service'] }], additionalProperties: false });
export const serviceDisableLogReason = Type.Object(
  { ...enableProps, disabled_reason: Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN }) },
  { anyOf: [{ required: ['binary'] }, { required: ['service'] }], additionalProperties: false },
);
export const serviceFreeze = Type.Object({ host: serviceHost(), cluster: Type.Optional(serviceNullable()) }, { additionalProperties: false });
const logProps = { binary: Type.Optional(serviceNullable()), server: Type.Optional(serviceNullable()), prefix: Type.Optional(serviceNullable()) };
export const serviceGetLog = since('3.32', Type.Object(logProps, { additionalProperties: false }));
export const serviceSetLog = since('3.32', Type.Object({ ...logProps, level: serviceNullable() }, { additionalProperties: false }));

// ---- quotas ----

/** Cinder's `update_quota`; key and value checks follow in the service (they depend on the type catalogue). */
export const quotaSetUpdate = Type.Object({ quota_set: Type.Object({}, { minProperties: 1 }) }, { additionalProperties: false });
/** Cinder's `quota_classes.update`. */
export const quotaClassSetUpdate = Type.Object({ quota_class_set: Type.Object({}) }, { additionalProperties: false });
