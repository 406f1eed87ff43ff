/**
 * Block Storage response bodies of the admin and cinderbox-extension routes: group specs, type encryption, the
 * os-services switches, hosts, a backend's capabilities, backup progress and the repository's verify and gc
 * reports. Objects stay open, as in responses.ts.
 */
import { Type, type Static } from 'typebox';
import { nullable } from './common.js';

const str = () => Type.String();
const nstr = () => nullable(Type.String());
const opt = Type.Optional;
const count = () => Type.Integer({ minimum: 0 });
const stringMap = () => Type.Record(Type.String(), Type.String());

/** `{ group_specs }` of a group type (list and create). */
export const GroupSpecs = Type.Object({ group_specs: stringMap() }, { title: 'GroupSpecs' });
/** One group spec, `{ key: value }` (show and update). */
export const GroupSpecItem = Type.Record(Type.String(), Type.String(), { title: 'GroupSpecItem', minProperties: 1, maxProperties: 1 });

/** What group snapshot create answers: the summary plus the group type. */
export const GroupSnapshotCreated = Type.Object({ id: str(), name: nstr(), group_type_id: str() }, { title: 'GroupSnapshotCreated' });

/**
 * A volume type's encryption spec. Show answers every key (or `{}` when the type has none); create and update
 * echo what was sent, create adding the two ids, so every key is optional.
 */
export const TypeEncryption = Type.Object(
  {
    volume_type_id: opt(str()),
    encryption_id: opt(str()),
    provider: opt(str()),
    control_location: opt(Type.String({ description: 'front-end or back-end' })),
    cipher: opt(nstr()),
    key_size: opt(nullable(Type.Integer())),
    created_at: opt(str()),
    updated_at: opt(nstr()),
    deleted: opt(Type.Boolean()),
    deleted_at: opt(Type.Null()),
  },
  { title: 'TypeEncryption' },
);
export type TypeEncryptionBody = Static<typeof TypeEncryption>;
/** One encryption field, `{ key: value }`, the path's key naming it. */
export const TypeEncryptionItem = Type.Record(Type.String(), Type.Unknown(), { title: 'TypeEncryptionItem', minProperties: 1, maxProperties: 1 });

/** `PUT os-services/enable|disable|disable-log-reason`: the switch as applied. */
export const ServiceStatusChange = Type.Object(
  {
    disabled: Type.Boolean(),
    disabled_reason: opt(str()),
    host: str(),
    service: str(),
    binary: str(),
    status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]),
  },
  { title: 'ServiceStatusChange' },
);
/** `PUT os-services/get-log` (3.32): each service's log levels by logger prefix. */
export const ServiceLogLevels = Type.Object(
  { log_levels: Type.Array(Type.Object({ host: str(), binary: str(), levels: stringMap() })) },
  { title: 'ServiceLogLevels' },
);

/** One entry of `os-hosts`. */
export const Host = Type.Object(
  {
    host_name: str(),
    service: str(),
    zone: str(),
    'service-status': Type.Union([Type.Literal('available'), Type.Literal('unavailable')]),
    'service-state': Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]),
    'last-update': nstr(),
  },
  { title: 'Host' },
);
export type HostBody = Static<typeof Host>;

/** One row of `os-hosts/{host}`: the `(total)` row, then one per project; Cinder's counts are strings. */
export const HostResource = Type.Object(
  {
    resource: Type.Object({
      host: str(),
      project: str(),
      volume_count: str(),
      total_volume_gb: str(),
      snapshot_count: str(),
      total_snapshot_gb: str(),
    }),
  },
  { title: 'HostResource' },
);
export type HostResourceBody = Static<typeof HostResource>;

/** `capabilities/{host}`: what a backend can do, as Cinder's volume drivers report it. */
export const Capabilities = Type.Object(
  {
    namespace: str(),
    vendor_name: nstr(),
    volume_backend_name: nstr(),
    pool_name: nstr(),
    driver_version: nstr(),
    storage_protocol: nstr(),
    display_name: nstr(),
    description: nstr(),
    visibility: nstr(),
    replication_targets: Type.Array(Type.Unknown()),
    properties: Type.Record(Type.String(), Type.Object({ title: str(), description: str(), type: str() })),
  },
  { title: 'Capabilities' },
);
export type CapabilitiesBody = Static<typeof Capabilities>;

/** cinderbox extension: a backup's (or its restore's) progress; `operation` null when none is running. */
export const BackupProgress = Type.Object(
  {
    progress: Type.Object({
      fraction: Type.Number({ minimum: 0, maximum: 1 }),
      bytes_done: count(),
      bytes_total: count(),
      operation: Type.Union([Type.Literal('backup'), Type.Literal('restore'), Type.Null()]),
    }),
  },
  { title: 'BackupProgress' },
);

/** cinderbox extension: a repository check (the `verify` route and the CLI's offline run give this shape). */
export const RepoVerifyReport = Type.Object(
  {
    ok: Type.Boolean(),
    manifests: count(),
    chunks: count(),
    bytes: count(),
    problems: Type.Array(Type.Object({ kind: str(), locator: str(), chunk_id: nstr(), message: str() })),
    target: opt(str()),
  },
  { title: 'RepoVerifyReport' },
);
/** cinderbox extension: a garbage collection of unreferenced chunks. */
export const RepoGcReport = Type.Object(
  {
    manifests: count(),
    chunks: count(),
    deleted: count(),
    deleted_bytes: count(),
    kept_in_grace: count(),
    kept_locked: count(),
    dry_run: Type.Boolean(),
    target: str(),
  },
  { title: 'RepoGcReport' },
);
