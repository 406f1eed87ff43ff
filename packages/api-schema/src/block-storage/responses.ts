/**
 * Block Storage response bodies for the main resources. Fields a microversion adds are optional and marked with
 * their range; objects stay open (Cinder's extensions add keys, and so may a later microversion).
 */
import { Type, type Static, type TSchema } from 'typebox';
import { nullable, since } from './common.js';

const str = () => Type.String();
const nstr = () => nullable(Type.String());
const opt = Type.Optional;

export const Link = Type.Object({ rel: str(), href: str() }, { title: 'Link' });
const links = () => Type.Array(Link);
const stringMap = () => Type.Record(Type.String(), Type.String());
/** `{ id, name, links }`: what list (not detail) and create answer with for most resources. */
export const ResourceSummary = Type.Object({ id: str(), name: nstr(), links: opt(links()) }, { title: 'ResourceSummary' });

export const VolumeAttachment = Type.Object(
  {
    id: str(),
    attachment_id: str(),
    volume_id: str(),
    server_id: nstr(),
    host_name: nstr(),
    device: nstr(),
    attached_at: nstr(),
  },
  { title: 'VolumeAttachment' },
);

export const Volume = Type.Object(
  {
    id: str(),
    status: str(),
    size: Type.Integer(),
    availability_zone: nstr(),
    created_at: str(),
    updated_at: nstr(),
    name: nstr(),
    description: nstr(),
    volume_type: nstr(),
    snapshot_id: nstr(),
    source_volid: nstr(),
    metadata: stringMap(),
    links: links(),
    user_id: str(),
    bootable: Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'a string, as Cinder shows it' }),
    encrypted: Type.Boolean(),
    replication_status: nstr(),
    consistencygroup_id: nstr(),
    multiattach: Type.Boolean(),
    attachments: Type.Array(VolumeAttachment),
    migration_status: opt(nstr()),
    'os-vol-tenant-attr:tenant_id': opt(str()),
    'os-vol-host-attr:host': opt(nstr()),
    'os-vol-mig-status-attr:migstat': opt(nstr()),
    'os-vol-mig-status-attr:name_id': opt(nstr()),
    group_id: opt(since('3.13', nstr())),
    provider_id: opt(since('3.21', nstr())),
    shared_targets: opt(since('3.48', Type.Boolean())),
    service_uuid: opt(since('3.48', nstr())),
    cluster_name: opt(since('3.61', nstr())),
    volume_type_id: opt(since('3.63', nstr())),
    consumes_quota: opt(since('3.65', Type.Boolean())),
  },
  { title: 'Volume' },
);
export type VolumeBody = Static<typeof Volume>;

export const Snapshot = Type.Object(
  {
    id: str(),
    created_at: str(),
    updated_at: nstr(),
    name: nstr(),
    description: nstr(),
    volume_id: str(),
    status: str(),
    size: Type.Integer(),
    metadata: stringMap(),
    group_snapshot_id: opt(since('3.14', nstr())),
    user_id: opt(since('3.41', str())),
    consumes_quota: opt(since('3.65', Type.Boolean())),
    'os-extended-snapshot-attributes:progress': opt(nstr()),
    'os-extended-snapshot-attributes:project_id': opt(str()),
  },
  { title: 'Snapshot' },
);
export type SnapshotBody = Static<typeof Snapshot>;

export const Backup = Type.Object(
  {
    id: str(),
    status: str(),
    size: Type.Integer(),
    object_count: Type.Integer(),
    availability_zone: nstr(),
    container: nstr(),
    created_at: str(),
    updated_at: nstr(),
    name: nstr(),
    description: nstr(),
    fail_reason: nstr(),
    volume_id: str(),
    links: links(),
    is_incremental: Type.Boolean(),
    has_dependent_backups: Type.Boolean(),
    snapshot_id: nstr(),
    data_timestamp: nstr(),
    metadata: opt(since('3.43', stringMap())),
    locked_until: opt(Type.String({ description: 'cinderbox extension: the end of an immutable backup’s retention.' })),
    'os-backup-project-attr:project_id': opt(since('3.18', str())),
    user_id: opt(since('3.56', str())),
    encryption_key_id: opt(since('3.64', nstr())),
  },
  { title: 'Backup' },
);
export type BackupBody = Static<typeof Backup>;

export const VolumeType = Type.Object(
  {
    id: str(),
    name: str(),
    is_public: Type.Boolean(),
    description: nstr(),
    extra_specs: opt(stringMap()),
    qos_specs_id: opt(nstr()),
    'os-volume-type-access:is_public': opt(Type.Boolean()),
  },
  { title: 'VolumeType' },
);

export const QosSpecs = Type.Object(
  { id: str(), name: str(), consumer: str(), specs: Type.Record(Type.String(), nullable(Type.String())) },
  { title: 'QosSpecs' },
);

export const GroupType = Type.Object(
  { id: str(), name: str(), description: nstr(), is_public: Type.Boolean(), group_specs: opt(stringMap()) },
  { title: 'GroupType' },
);

export const Group = Type.Object(
  {
    id: str(),
    status: str(),
    availability_zone: nstr(),
    created_at: str(),
    name: nstr(),
    description: nstr(),
    group_type: str(),
    volume_types: Type.Array(str()),
    group_snapshot_id: opt(since('3.14', nstr())),
    source_group_id: opt(since('3.14', nstr())),
    volumes: opt(since('3.25', Type.Array(str()))),
    replication_status: opt(since('3.38', nstr())),
    project_id: opt(since('3.58', str())),
  },
  { title: 'Group' },
);

export const GroupSnapshot = Type.Object(
  {
    id: str(),
    group_id: str(),
    status: str(),
    created_at: str(),
    name: nstr(),
    description: nstr(),
    group_type_id: str(),
    project_id: opt(since('3.58', str())),
  },
  { title: 'GroupSnapshot' },
);

export const Attachment = Type.Object(
  {
    id: str(),
    status: str(),
    instance: nstr(),
    volume_id: str(),
    attached_at: opt(str()),
    detached_at: opt(str()),
    attach_mode: opt(nstr()),
    connection_info: opt(Type.Object({})),
  },
  { title: 'Attachment' },
);

export const Transfer = Type.Object(
  {
    id: str(),
    name: nstr(),
    volume_id: str(),
    links: links(),
    created_at: opt(str()),
    auth_key: opt(str()),
    no_snapshots: opt(since('3.55', Type.Boolean())),
    destination_project_id: opt(since('3.57', nstr())),
    source_project_id: opt(since('3.57', nstr())),
    accepted: opt(since('3.57', Type.Boolean())),
  },
  { title: 'Transfer' },
);

export const Message = Type.Object(
  {
    id: str(),
    event_id: str(),
    user_message: str(),
    message_level: str(),
    created_at: str(),
    guaranteed_until: nstr(),
    request_id: str(),
    links: links(),
    resource_type: opt(str()),
    resource_uuid: opt(str()),
  },
  { title: 'Message' },
);

export const Service = Type.Object(
  {
    binary: str(),
    host: str(),
    zone: str(),
    status: str(),
    state: str(),
    updated_at: nstr(),
    backend_state: opt(since('3.49', str())),
    cluster: opt(since('3.7', nstr())),
    disabled_reason: nstr(),
    replication_status: opt(str()),
    active_backend_id: opt(nstr()),
    frozen: opt(Type.Boolean()),
  },
  { title: 'Service' },
);

/** A backend pool; `capabilities` only with `detail=true`. */
export const Pool = Type.Object(
  {
    name: str(),
    capabilities: opt(
      Type.Object({
        pool_name: str(),
        volume_backend_name: str(),
        vendor_name: str(),
        driver_version: str(),
        storage_protocol: str(),
        total_capacity_gb: Type.Union([Type.Number(), Type.String()]),
        free_capacity_gb: Type.Union([Type.Number(), Type.String()]),
        reserved_percentage: Type.Number(),
        QoS_support: Type.Boolean(),
        thin_provisioning_support: Type.Boolean(),
        thick_provisioning_support: Type.Boolean(),
        max_over_subscription_ratio: str(),
        multiattach: Type.Boolean(),
        backend_state: str(),
        timestamp: nstr(),
      }),
    ),
  },
  { title: 'Pool' },
);

export const Limits = Type.Object(
  {
    rate: Type.Array(Type.Object({})),
    absolute: Type.Record(Type.String(), Type.Integer()),
  },
  { title: 'Limits' },
);

export const Extension = Type.Object(
  { name: str(), alias: str(), description: str(), updated: str(), links: Type.Array(Type.Object({})) },
  { title: 'Extension' },
);

export const DefaultType = since('3.62', Type.Object({ project_id: str(), volume_type_id: str() }, { title: 'DefaultType' }));

/** A quota set: each resource's limit (or, with `usage=true`, `{limit, in_use, reserved, allocated}`), and its `id`. */
export const QuotaSet = Type.Object(
  { id: opt(str()) },
  {
    title: 'QuotaSet',
    additionalProperties: Type.Union([Type.Integer(), Type.String(), Type.Object({ limit: Type.Integer(), in_use: Type.Integer() })]),
  },
);

export const VersionEntry = Type.Object(
  {
    id: str(),
    status: str(),
    version: str(),
    min_version: str(),
    updated: str(),
    links: Type.Array(Type.Object({ rel: str(), href: str(), type: opt(str()) })),
    'media-types': Type.Array(Type.Object({ base: str(), type: str() })),
  },
  { title: 'VersionEntry' },
);
export const Versions = Type.Object({ versions: Type.Array(VersionEntry) }, { title: 'Versions' });

/** `{ [key]: schema }`: the response envelope of one resource. */
export function one<K extends string, T extends TSchema>(key: K, schema: T) {
  return Type.Object({ [key]: schema } as { [P in K]: T });
}

/** `{ [key]: [schema] }` with Cinder's optional `<key>_links` paging links. */
export function many<T extends TSchema>(key: string, schema: T): TSchema {
  return Type.Object({ [key]: Type.Array(schema), [`${key}_links`]: Type.Optional(links()) });
}

/** A backend object's reference, as `manage` takes it back. */
const ManageableReference = Type.Object({ 'source-name': str() });

/** One entry of `manageable-volumes`; the last three keys only in the detail list. */
export const ManageableVolume = Type.Object(
  {
    reference: ManageableReference,
    size: Type.Integer(),
    safe_to_manage: Type.Boolean(),
    reason_not_safe: opt(nstr()),
    cinder_id: opt(nstr()),
    extra_info: opt(nstr()),
  },
  { title: 'ManageableVolume' },
);
export type ManageableVolumeBody = Static<typeof ManageableVolume>;

/** One entry of `manageable-snapshots`: a volume entry plus its parent volume's reference. */
export const ManageableSnapshot = Type.Object(
  { ...ManageableVolume.properties, source_reference: nullable(ManageableReference) },
  { title: 'ManageableSnapshot' },
);
export type ManageableSnapshotBody = Static<typeof ManageableSnapshot>;
