/**
 * Every Block Storage route cinderbox serves, as the contract states it. Paths are the project-scoped v3 form;
 * the same operations answer under `/v3/…` without the project (3.67) and, below the v3-only ones, under
 * `/v2/{project_id}/…` (the documents say so once rather than listing each route three times).
 */
import { Type, type TSchema } from 'typebox';
import type { HttpMethod, Operation, OperationResponse, VersionRange } from '../operation.js';
import { nullable, pascal, titled, type VersionedBody } from './common.js';
import { EventsQuery, RepoHistoryBody, RepoHistoryQuery, RepoJob, repoJobCreate, RepoStatsBody, RepoTargetQuery } from './repository.js';
import {
  backupCreateBodies,
  backupImport,
  backupResetStatus,
  backupRestore,
  backupUpdateBodies,
  metadataBody,
  metadataItemBody,
  repoGc,
  repoVerify,
  snapshotCreate,
  snapshotManageBody,
  snapshotResetStatusAction,
  snapshotUpdate,
  updateSnapshotStatusAction,
  volumeActionSchemas,
  volumeCreateBodies,
  volumeManageBodies,
  volumeUpdateBodies,
} from './requests.js';
import {
  attachmentCreateBodies,
  attachmentUpdate,
  defaultTypeSet,
  encryptionCreate,
  encryptionUpdate,
  extraSpecsCreate,
  extraSpecUpdate,
  groupCreate,
  groupCreateFromSource,
  groupDeleteAction,
  groupResetStatusAction,
  groupSnapshotCreate,
  groupSnapshotResetStatusAction,
  groupSpecsBody,
  groupSpecUpdate,
  groupTypeCreate,
  groupTypeUpdate,
  groupUpdate,
  qosSpecsCreate,
  qosSpecsSet,
  qosSpecsUnset,
  quotaClassSetUpdate,
  quotaSetUpdate,
  serviceDisableLogReason,
  serviceEnable,
  serviceFreeze,
  serviceGetLog,
  serviceSetLog,
  transferAccept,
  transferCreateBodies,
  typeAccessAction,
  volumeTypeCreate,
  volumeTypeUpdate,
} from './admin-requests.js';
import {
  BackupProgress,
  Capabilities,
  GroupSnapshotCreated,
  GroupSpecItem,
  GroupSpecs,
  Host,
  HostResource,
  RepoGcReport,
  RepoVerifyReport,
  ServiceLogLevels,
  ServiceStatusChange,
  TypeEncryption,
  TypeEncryptionItem,
} from './admin-responses.js';
import {
  Attachment,
  Backup,
  DefaultType,
  Extension,
  Group,
  GroupSnapshot,
  GroupType,
  Limits,
  ManageableSnapshot,
  ManageableVolume,
  many,
  Message,
  one,
  Pool,
  QosSpecs,
  QuotaSet,
  ResourceSummary,
  Service,
  Snapshot,
  Transfer,
  Versions,
  Volume,
  VolumeType,
} from './responses.js';

/** Cinder's list query: paging, sorting and any filter a resource accepts (filters vary, so the object is open). */
export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
    marker: Type.Optional(Type.String()),
    offset: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
    sort: Type.Optional(Type.String({ description: '`key[:dir],…`' })),
    sort_key: Type.Optional(Type.String()),
    sort_dir: Type.Optional(Type.String({ enum: ['asc', 'desc'] } as never)),
    all_tenants: Type.Optional(Type.String()),
    with_count: Type.Optional(Type.String({ 'x-openstack-microversion': { min: '3.45' } } as never)),
  },
  { title: 'ListQuery' },
);

const P = '/v3/{project_id}';

interface Extra {
  versions?: VersionRange;
  query?: TSchema;
  body?: TSchema;
  bodies?: VersionedBody[];
}

const res = (status: number, body?: TSchema, description?: string): OperationResponse => ({
  status,
  description: description ?? (status === 202 ? 'Accepted' : status === 204 ? 'No content' : status === 300 ? 'Multiple choices' : 'OK'),
  ...(body ? { body } : {}),
});

function op(id: string, method: HttpMethod, path: string, tag: string, summary: string, responses: OperationResponse[], extra: Extra = {}): Operation {
  // Named bodies become components of the documents, so each is stated once and linked from its operation.
  const bodies = extra.bodies?.map((b) => ({ ...b, schema: titled(`${pascal(id)}Body${b.versions.min ? `V${b.versions.min.replace('.', '_')}` : ''}`, b.schema) }));
  const newest = bodies?.[bodies.length - 1]?.schema;
  const body = extra.body ? titled(`${pascal(id)}Body`, extra.body) : newest;
  return {
    api: 'block-storage',
    id,
    method,
    path: path.startsWith('/') ? path : `${P}/${path}`,
    summary,
    tag,
    responses,
    ...(extra.versions ? { versions: extra.versions } : {}),
    ...(extra.query ? { query: extra.query } : {}),
    ...(body ? { body } : {}),
    ...(bodies ? { bodies } : {}),
  };
}

/** An action route: one key names the action; its value's schema is listed where the server validates it. */
function actionBody(title: string, actions: Record<string, TSchema>, others: string[]): TSchema {
  const props: Record<string, TSchema> = {};
  for (const [k, v] of Object.entries(actions)) props[k] = Type.Optional(v);
  for (const k of others) props[k] = Type.Optional(Type.Unknown());
  return Type.Object(props, { title, minProperties: 1, maxProperties: 1, description: `One key, naming the action: ${[...Object.keys(actions), ...others].join(', ')}.` });
}

/** The value under an envelope's one key: what an action route's body holds under that action's name. */
function valueOf(envelope: TSchema, key: string): TSchema {
  const value = (envelope as unknown as { properties: Record<string, TSchema> }).properties[key];
  if (!value) throw new Error(`no ${key} in the envelope`);
  return value;
}
const metadataResponse = Type.Object({ metadata: Type.Record(Type.String(), Type.String()) });
const metaItemResponse = Type.Object({ meta: Type.Record(Type.String(), Type.String()) });

/** Metadata sub-resource routes of volumes and snapshots. */
function metadataOps(kind: 'volume' | 'snapshot', tag: string): Operation[] {
  const base = `${kind}s/{${kind}_id}/metadata`;
  const K = kind === 'volume' ? 'volume' : 'snapshot';
  return [
    op(`${K}MetadataShow`, 'GET', base, tag, `Show the ${kind}'s metadata`, [res(200, metadataResponse)]),
    op(`${K}MetadataCreate`, 'POST', base, tag, `Add or change metadata keys of the ${kind}`, [res(200, metadataResponse)], { body: metadataBody }),
    op(`${K}MetadataReplace`, 'PUT', base, tag, `Replace the ${kind}'s metadata`, [res(200, metadataResponse)], { body: metadataBody }),
    op(`${K}MetadataKeyShow`, 'GET', `${base}/{key}`, tag, `Show one metadata key of the ${kind}`, [res(200, metaItemResponse)]),
    op(`${K}MetadataKeyUpdate`, 'PUT', `${base}/{key}`, tag, `Set one metadata key of the ${kind}`, [res(200, metaItemResponse)], { body: metadataItemBody }),
    op(`${K}MetadataKeyDelete`, 'DELETE', `${base}/{key}`, tag, `Delete one metadata key of the ${kind}`, [res(200)]),
  ];
}

const manageableList = (kind: 'volume' | 'snapshot', path: string, detail: boolean, id: string): Operation =>
  op(id, 'GET', path, 'Manage', `List ${kind}s on a backend that cinderbox could manage${detail ? ', with details' : ''}`, [res(200, Type.Object({ [`manageable-${kind}s`]: Type.Array(kind === 'volume' ? ManageableVolume : ManageableSnapshot) }))], {
    query: ListQuery,
    versions: path.startsWith('manageable') ? { min: '3.8' } : undefined,
  });

const transferOps = (prefix: string, idPrefix: string, versions?: VersionRange): Operation[] => {
  const v = versions ? { versions } : {};
  return [
    op(`${idPrefix}Create`, 'POST', prefix, 'Transfers', 'Offer a volume for transfer to another project', [res(202, one('transfer', Transfer))], { ...v, bodies: versions ? transferCreateBodies.filter((b) => b.versions.min !== '3.0') : transferCreateBodies }),
    op(`${idPrefix}List`, 'GET', prefix, 'Transfers', 'List transfers', [res(200, many('transfers', Transfer))], { ...v, query: ListQuery }),
    op(`${idPrefix}ListDetail`, 'GET', `${prefix}/detail`, 'Transfers', 'List transfers with details', [res(200, many('transfers', Transfer))], { ...v, query: ListQuery }),
    op(`${idPrefix}Show`, 'GET', `${prefix}/{transfer_id}`, 'Transfers', 'Show a transfer', [res(200, one('transfer', Transfer))], v),
    op(`${idPrefix}Accept`, 'POST', `${prefix}/{transfer_id}/accept`, 'Transfers', 'Accept a transfer with its key', [res(202, one('transfer', Transfer))], { ...v, body: transferAccept }),
    op(`${idPrefix}Delete`, 'DELETE', `${prefix}/{transfer_id}`, 'Transfers', 'Cancel a transfer', [res(202)], v),
  ];
};

export const blockStorageOperations: Operation[] = [
  // --- versions ---
  { ...op('versionsList', 'GET', '/', 'Versions', 'List the API versions', [res(300, Versions)]), public: true },
  { ...op('versionShowV3', 'GET', '/v3/', 'Versions', 'Show the v3 version document (also answered at /v3)', [res(200, Versions)]), public: true },
  { ...op('versionShowV2', 'GET', '/v2/', 'Versions', 'Show the v2 version document (also answered at /v2)', [res(200, Versions)]), public: true },

  // --- volumes ---
  op('volumeCreate', 'POST', 'volumes', 'Volumes', 'Create a volume', [res(202, one('volume', Volume))], { bodies: volumeCreateBodies }),
  op('volumeList', 'GET', 'volumes', 'Volumes', 'List volumes', [res(200, many('volumes', ResourceSummary))], { query: ListQuery }),
  op('volumeListDetail', 'GET', 'volumes/detail', 'Volumes', 'List volumes with details', [res(200, many('volumes', Volume))], { query: ListQuery }),
  op('volumeSummary', 'GET', 'volumes/summary', 'Volumes', 'Count and total size of the volumes', [res(200, Type.Object({ 'volume-summary': Type.Object({ total_size: Type.Integer(), total_count: Type.Integer() }) }))], { versions: { min: '3.12' } }),
  op('volumeShow', 'GET', 'volumes/{volume_id}', 'Volumes', 'Show a volume', [res(200, one('volume', Volume))]),
  op('volumeUpdate', 'PUT', 'volumes/{volume_id}', 'Volumes', 'Update a volume', [res(200, one('volume', Volume))], { bodies: volumeUpdateBodies }),
  op('volumeDelete', 'DELETE', 'volumes/{volume_id}', 'Volumes', 'Delete a volume', [res(202)], { query: Type.Object({ cascade: Type.Optional(Type.String()), force: Type.Optional(Type.String()) }) }),
  ...metadataOps('volume', 'Volumes'),
  op('volumeAction', 'POST', 'volumes/{volume_id}/action', 'Volume actions', 'Run an action on a volume', [res(200, nullable(Type.Object({ connection_info: Type.Optional(Type.Object({})) })), 'OK: os-initialize_connection answers the connection info; os-set_bootable and os-update_readonly_flag answer no body'), res(202)], {
    body: actionBody('VolumeAction', volumeActionSchemas, ['os-force_delete', 'os-reserve', 'os-unreserve', 'os-begin_detaching', 'os-roll_detaching', 'os-unmanage', 'os-show_image_metadata']),
  }),
  op('volumeDataWrite', 'PUT', 'volumes/{volume_id}/cinderbox-data', 'Volume data', 'cinderbox extension: write bytes into an available volume', [res(200, Type.Object({ written: Type.Integer() }))]),
  op('volumeDataRead', 'GET', 'volumes/{volume_id}/cinderbox-data', 'Volume data', 'cinderbox extension: read the volume’s bytes (Range accepted)', [res(200, undefined, 'The bytes (application/octet-stream)'), res(206, undefined, 'Partial content')]),
  op('snapshotDataRead', 'GET', 'snapshots/{snapshot_id}/cinderbox-data', 'Volume data', 'cinderbox extension: read the snapshot’s bytes (Range accepted)', [res(200, undefined, 'The bytes (application/octet-stream)'), res(206, undefined, 'Partial content')]),

  // --- snapshots ---
  op('snapshotCreate', 'POST', 'snapshots', 'Snapshots', 'Create a snapshot', [res(202, one('snapshot', Snapshot))], { body: snapshotCreate }),
  op('snapshotList', 'GET', 'snapshots', 'Snapshots', 'List snapshots', [res(200, many('snapshots', Snapshot))], { query: ListQuery }),
  op('snapshotListDetail', 'GET', 'snapshots/detail', 'Snapshots', 'List snapshots with details', [res(200, many('snapshots', Snapshot))], { query: ListQuery }),
  op('snapshotShow', 'GET', 'snapshots/{snapshot_id}', 'Snapshots', 'Show a snapshot', [res(200, one('snapshot', Snapshot))]),
  op('snapshotUpdate', 'PUT', 'snapshots/{snapshot_id}', 'Snapshots', 'Update a snapshot', [res(200, one('snapshot', Snapshot))], { body: snapshotUpdate }),
  op('snapshotDelete', 'DELETE', 'snapshots/{snapshot_id}', 'Snapshots', 'Delete a snapshot', [res(202)]),
  op('snapshotAction', 'POST', 'snapshots/{snapshot_id}/action', 'Snapshots', 'Run an action on a snapshot', [res(202)], {
    body: actionBody('SnapshotAction', { 'os-reset_status': snapshotResetStatusAction, 'os-update_snapshot_status': updateSnapshotStatusAction }, ['os-force_delete', 'os-unmanage']),
  }),
  ...metadataOps('snapshot', 'Snapshots'),

  // --- backups ---
  op('backupCreate', 'POST', 'backups', 'Backups', 'Create a backup', [res(202, one('backup', ResourceSummary))], { bodies: backupCreateBodies }),
  op('backupList', 'GET', 'backups', 'Backups', 'List backups', [res(200, many('backups', ResourceSummary))], { query: ListQuery }),
  op('backupListDetail', 'GET', 'backups/detail', 'Backups', 'List backups with details', [res(200, many('backups', Backup))], { query: ListQuery }),
  op('backupShow', 'GET', 'backups/{backup_id}', 'Backups', 'Show a backup', [res(200, one('backup', Backup))]),
  op('backupUpdate', 'PUT', 'backups/{backup_id}', 'Backups', 'Update a backup', [res(200, one('backup', ResourceSummary))], { versions: { min: '3.9' }, bodies: backupUpdateBodies }),
  op('backupDelete', 'DELETE', 'backups/{backup_id}', 'Backups', 'Delete a backup', [res(202)]),
  op('backupRestore', 'POST', 'backups/{backup_id}/restore', 'Backups', 'Restore a backup to a new or an existing volume', [res(202, Type.Object({ restore: Type.Object({ backup_id: Type.String(), volume_id: Type.String(), volume_name: Type.Union([Type.String(), Type.Null()]) }) }))], { body: backupRestore }),
  op('backupAction', 'POST', 'backups/{backup_id}/action', 'Backups', 'Run an action on a backup', [res(202)], {
    body: actionBody('BackupAction', { 'os-reset_status': backupResetStatus }, ['os-force_delete']),
  }),
  op('backupExportRecord', 'GET', 'backups/{backup_id}/export_record', 'Backups', 'Export a backup’s record', [res(200, Type.Object({ 'backup-record': Type.Object({ backup_service: Type.String(), backup_url: Type.String() }) }))]),
  op('backupImportRecord', 'POST', 'backups/import_record', 'Backups', 'Import a backup record', [res(201, one('backup', ResourceSummary))], { body: backupImport }),
  op('backupImportRecordSdk', 'POST', 'backups/export_record', 'Backups', 'Import a backup record (the path openstacksdk’s Backup.import_record posts to)', [res(201, one('backup', ResourceSummary))], { body: backupImport }),
  op('backupProgress', 'GET', 'backups/{backup_id}/cinderbox-progress', 'Backups', 'cinderbox extension: a running backup’s progress', [res(200, BackupProgress)]),
  op('repoVerify', 'POST', 'cinderbox-repo/verify', 'Backup repository', 'cinderbox extension: verify the backup repository', [res(200, Type.Object({ verify: RepoVerifyReport }))], { body: repoVerify }),
  op('repoGc', 'POST', 'cinderbox-repo/gc', 'Backup repository', 'cinderbox extension: collect unreferenced chunks', [res(200, Type.Object({ gc: RepoGcReport }))], { body: repoGc }),
  op('repoStats', 'GET', 'cinderbox-repo/stats', 'Backup repository', 'cinderbox extension: a backup target’s counters (admin)', [res(200, RepoStatsBody)], { query: RepoTargetQuery }),
  op('repoHistory', 'GET', 'cinderbox-repo/history', 'Backup repository', 'cinderbox extension: stored bytes over time and recent backups’ throughput (admin)', [res(200, RepoHistoryBody)], { query: RepoHistoryQuery }),
  op('repoJobCreate', 'POST', 'cinderbox-repo/jobs', 'Backup repository', 'cinderbox extension: start a verify or gc in the background (admin; 409 while one of that kind runs)', [res(202, Type.Object({ job: RepoJob })), res(409, undefined, 'A job of that kind runs on that target')], { body: repoJobCreate }),
  op('repoJobList', 'GET', 'cinderbox-repo/jobs', 'Backup repository', 'cinderbox extension: recent verify and gc jobs (admin)', [res(200, Type.Object({ jobs: Type.Array(RepoJob) }))]),
  op('repoJobShow', 'GET', 'cinderbox-repo/jobs/{job_id}', 'Backup repository', 'cinderbox extension: one verify or gc job (admin)', [res(200, Type.Object({ job: RepoJob }))]),
  op('events', 'GET', 'cinderbox-events', 'Events', 'cinderbox extension: a Server-Sent Events stream (text/event-stream) of status and progress changes in the caller’s project', [res(200, undefined, 'An event stream')], { query: EventsQuery }),

  // --- manage ---
  op('snapshotManage', 'POST', 'os-snapshot-manage', 'Manage', 'Bring an existing backend snapshot under management', [res(202, one('snapshot', Snapshot))], { body: snapshotManageBody }),
  manageableList('snapshot', 'os-snapshot-manage', false, 'snapshotManageableListLegacy'),
  manageableList('snapshot', 'os-snapshot-manage/detail', true, 'snapshotManageableListDetailLegacy'),
  op('snapshotManageV3', 'POST', 'manageable_snapshots', 'Manage', 'Bring an existing backend snapshot under management', [res(202, one('snapshot', Snapshot))], { body: snapshotManageBody, versions: { min: '3.8' } }),
  manageableList('snapshot', 'manageable_snapshots', false, 'snapshotManageableList'),
  manageableList('snapshot', 'manageable_snapshots/detail', true, 'snapshotManageableListDetail'),
  op('volumeManage', 'POST', 'os-volume-manage', 'Manage', 'Bring an existing backend volume under management', [res(202, one('volume', Volume))], { bodies: volumeManageBodies }),
  manageableList('volume', 'os-volume-manage', false, 'volumeManageableListLegacy'),
  manageableList('volume', 'os-volume-manage/detail', true, 'volumeManageableListDetailLegacy'),
  op('volumeManageV3', 'POST', 'manageable_volumes', 'Manage', 'Bring an existing backend volume under management', [res(202, one('volume', Volume))], { bodies: volumeManageBodies, versions: { min: '3.8' } }),
  manageableList('volume', 'manageable_volumes', false, 'volumeManageableList'),
  manageableList('volume', 'manageable_volumes/detail', true, 'volumeManageableListDetail'),

  // --- transfers ---
  ...transferOps('os-volume-transfer', 'transferLegacy'),
  ...transferOps('volume-transfers', 'transfer', { min: '3.55' }),

  // --- attachments ---
  op('attachmentCreate', 'POST', 'attachments', 'Attachments', 'Create an attachment', [res(200, one('attachment', Attachment))], { versions: { min: '3.27' }, bodies: attachmentCreateBodies }),
  op('attachmentList', 'GET', 'attachments', 'Attachments', 'List attachments', [res(200, many('attachments', Attachment))], { versions: { min: '3.27' }, query: ListQuery }),
  op('attachmentListDetail', 'GET', 'attachments/detail', 'Attachments', 'List attachments with details', [res(200, many('attachments', Attachment))], { versions: { min: '3.27' }, query: ListQuery }),
  op('attachmentShow', 'GET', 'attachments/{attachment_id}', 'Attachments', 'Show an attachment', [res(200, one('attachment', Attachment))], { versions: { min: '3.27' } }),
  op('attachmentUpdate', 'PUT', 'attachments/{attachment_id}', 'Attachments', 'Complete an attachment with the connector', [res(200, one('attachment', Attachment))], { versions: { min: '3.27' }, body: attachmentUpdate }),
  op('attachmentDelete', 'DELETE', 'attachments/{attachment_id}', 'Attachments', 'Delete an attachment', [res(200, many('attachments', Attachment))], { versions: { min: '3.27' } }),
  op('attachmentAction', 'POST', 'attachments/{attachment_id}/action', 'Attachments', 'Mark an attachment complete (os-complete)', [res(204)], { versions: { min: '3.44' }, body: actionBody('AttachmentAction', {}, ['os-complete']) }),

  // --- messages ---
  op('messageList', 'GET', 'messages', 'Messages', 'List user messages', [res(200, many('messages', Message))], { versions: { min: '3.3' }, query: ListQuery }),
  op('messageShow', 'GET', 'messages/{message_id}', 'Messages', 'Show a user message', [res(200, one('message', Message))], { versions: { min: '3.3' } }),
  op('messageDelete', 'DELETE', 'messages/{message_id}', 'Messages', 'Delete a user message', [res(204)], { versions: { min: '3.3' } }),

  // --- QoS specs ---
  op('qosSpecsList', 'GET', 'qos-specs', 'QoS specs', 'List QoS specs', [res(200, Type.Object({ qos_specs: Type.Array(QosSpecs) }))], { query: ListQuery }),
  op('qosSpecsCreate', 'POST', 'qos-specs', 'QoS specs', 'Create QoS specs', [res(200, Type.Object({ qos_specs: QosSpecs, links: Type.Optional(Type.Array(Type.Object({}))) }))], { body: qosSpecsCreate }),
  op('qosSpecsShow', 'GET', 'qos-specs/{qos_id}', 'QoS specs', 'Show QoS specs', [res(200, Type.Object({ qos_specs: QosSpecs, links: Type.Optional(Type.Array(Type.Object({}))) }))]),
  op('qosSpecsUpdate', 'PUT', 'qos-specs/{qos_id}', 'QoS specs', 'Set keys of QoS specs', [res(200, Type.Object({ qos_specs: Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])) }))], { body: qosSpecsSet }),
  op('qosSpecsDelete', 'DELETE', 'qos-specs/{qos_id}', 'QoS specs', 'Delete QoS specs', [res(202)], { query: Type.Object({ force: Type.Optional(Type.String()) }) }),
  op('qosSpecsUnsetKeys', 'PUT', 'qos-specs/{qos_id}/delete_keys', 'QoS specs', 'Unset keys of QoS specs', [res(202)], { body: qosSpecsUnset }),
  op('qosSpecsAssociations', 'GET', 'qos-specs/{qos_id}/associations', 'QoS specs', 'List the volume types associated with QoS specs', [res(200, Type.Object({ qos_associations: Type.Array(Type.Object({ association_type: Type.String(), name: Type.String(), id: Type.String() })) }))]),
  op('qosSpecsAssociate', 'GET', 'qos-specs/{qos_id}/associate', 'QoS specs', 'Associate QoS specs with a volume type', [res(202)], { query: Type.Object({ vol_type_id: Type.String() }) }),
  op('qosSpecsDisassociate', 'GET', 'qos-specs/{qos_id}/disassociate', 'QoS specs', 'Disassociate QoS specs from a volume type', [res(202)], { query: Type.Object({ vol_type_id: Type.String() }) }),
  op('qosSpecsDisassociateAll', 'GET', 'qos-specs/{qos_id}/disassociate_all', 'QoS specs', 'Disassociate QoS specs from every volume type', [res(202)]),

  // --- group types, groups, group snapshots ---
  op('groupTypeList', 'GET', 'group_types', 'Group types', 'List group types', [res(200, Type.Object({ group_types: Type.Array(GroupType) }))], { versions: { min: '3.11' }, query: ListQuery }),
  op('groupTypeDefault', 'GET', 'group_types/default', 'Group types', 'Show the default group type', [res(200, one('group_type', GroupType))], { versions: { min: '3.11' } }),
  op('groupTypeShow', 'GET', 'group_types/{group_type_id}', 'Group types', 'Show a group type', [res(200, one('group_type', GroupType))], { versions: { min: '3.11' } }),
  op('groupTypeCreate', 'POST', 'group_types', 'Group types', 'Create a group type', [res(202, one('group_type', GroupType))], { versions: { min: '3.11' }, body: groupTypeCreate }),
  op('groupTypeUpdate', 'PUT', 'group_types/{group_type_id}', 'Group types', 'Update a group type', [res(200, one('group_type', GroupType))], { versions: { min: '3.11' }, body: groupTypeUpdate }),
  op('groupTypeDelete', 'DELETE', 'group_types/{group_type_id}', 'Group types', 'Delete a group type', [res(202)], { versions: { min: '3.11' } }),
  op('groupSpecsList', 'GET', 'group_types/{group_type_id}/group_specs', 'Group types', 'List a group type’s specs', [res(200, GroupSpecs)], { versions: { min: '3.11' } }),
  op('groupSpecsCreate', 'POST', 'group_types/{group_type_id}/group_specs', 'Group types', 'Set group specs', [res(202, GroupSpecs)], { versions: { min: '3.11' }, body: groupSpecsBody }),
  op('groupSpecShow', 'GET', 'group_types/{group_type_id}/group_specs/{key}', 'Group types', 'Show one group spec', [res(200, GroupSpecItem)], { versions: { min: '3.11' } }),
  op('groupSpecUpdate', 'PUT', 'group_types/{group_type_id}/group_specs/{key}', 'Group types', 'Set one group spec', [res(200, GroupSpecItem)], { versions: { min: '3.11' }, body: groupSpecUpdate }),
  op('groupSpecDelete', 'DELETE', 'group_types/{group_type_id}/group_specs/{key}', 'Group types', 'Delete one group spec', [res(202)], { versions: { min: '3.11' } }),
  op('groupList', 'GET', 'groups', 'Groups', 'List groups', [res(200, many('groups', ResourceSummary))], { versions: { min: '3.13' }, query: ListQuery }),
  op('groupListDetail', 'GET', 'groups/detail', 'Groups', 'List groups with details', [res(200, many('groups', Group))], { versions: { min: '3.13' }, query: ListQuery }),
  op('groupShow', 'GET', 'groups/{group_id}', 'Groups', 'Show a group', [res(200, one('group', Group))], { versions: { min: '3.13' } }),
  op('groupCreate', 'POST', 'groups', 'Groups', 'Create a group', [res(202, one('group', ResourceSummary))], { versions: { min: '3.13' }, body: groupCreate }),
  op('groupUpdate', 'PUT', 'groups/{group_id}', 'Groups', 'Update a group (name, description, member volumes)', [res(202)], { versions: { min: '3.13' }, body: groupUpdate }),
  op('groupCreateFromSource', 'POST', 'groups/action', 'Groups', 'Create a group from a group snapshot or another group (create-from-src)', [res(202, one('group', ResourceSummary))], { versions: { min: '3.14' }, body: groupCreateFromSource }),
  op('groupAction', 'POST', 'groups/{group_id}/action', 'Groups', 'Run an action on a group (delete, reset_status…)', [res(202)], { versions: { min: '3.13' }, body: actionBody('GroupAction', { delete: valueOf(groupDeleteAction, 'delete'), reset_status: valueOf(groupResetStatusAction, 'reset_status') }, ['enable_replication', 'disable_replication', 'failover_replication', 'list_replication_targets']) }),
  op('groupSnapshotList', 'GET', 'group_snapshots', 'Group snapshots', 'List group snapshots', [res(200, many('group_snapshots', ResourceSummary))], { versions: { min: '3.14' }, query: ListQuery }),
  op('groupSnapshotListDetail', 'GET', 'group_snapshots/detail', 'Group snapshots', 'List group snapshots with details', [res(200, many('group_snapshots', GroupSnapshot))], { versions: { min: '3.14' }, query: ListQuery }),
  op('groupSnapshotShow', 'GET', 'group_snapshots/{group_snapshot_id}', 'Group snapshots', 'Show a group snapshot', [res(200, one('group_snapshot', GroupSnapshot))], { versions: { min: '3.14' } }),
  op('groupSnapshotCreate', 'POST', 'group_snapshots', 'Group snapshots', 'Create a group snapshot', [res(202, one('group_snapshot', GroupSnapshotCreated))], { versions: { min: '3.14' }, body: groupSnapshotCreate }),
  op('groupSnapshotDelete', 'DELETE', 'group_snapshots/{group_snapshot_id}', 'Group snapshots', 'Delete a group snapshot', [res(202)], { versions: { min: '3.14' } }),
  op('groupSnapshotAction', 'POST', 'group_snapshots/{group_snapshot_id}/action', 'Group snapshots', 'Run an action on a group snapshot (reset_status)', [res(202)], { versions: { min: '3.19' }, body: actionBody('GroupSnapshotAction', { reset_status: valueOf(groupSnapshotResetStatusAction, 'reset_status') }, []) }),

  // --- extensions, limits, quotas, availability zones ---
  op('extensionList', 'GET', 'extensions', 'Extensions', 'List API extensions', [res(200, Type.Object({ extensions: Type.Array(Extension) }))]),
  op('extensionShow', 'GET', 'extensions/{alias}', 'Extensions', 'Show an API extension', [res(200, one('extension', Extension))]),
  op('limitsShow', 'GET', 'limits', 'Limits', 'Show the project’s absolute limits and their use', [res(200, one('limits', Limits))], { query: Type.Object({ project_id: Type.Optional(Type.String({ 'x-openstack-microversion': { min: '3.39' } } as never)) }) }),
  op('quotaSetShow', 'GET', 'os-quota-sets/{target_project_id}', 'Quotas', 'Show a project’s quotas (with usage=true, their use)', [res(200, one('quota_set', QuotaSet))], { query: Type.Object({ usage: Type.Optional(Type.String()) }) }),
  op('quotaSetDefaults', 'GET', 'os-quota-sets/{target_project_id}/defaults', 'Quotas', 'Show the default quotas', [res(200, one('quota_set', QuotaSet))]),
  op('quotaSetUpdate', 'PUT', 'os-quota-sets/{target_project_id}', 'Quotas', 'Update a project’s quotas', [res(200, one('quota_set', QuotaSet))], { body: quotaSetUpdate }),
  op('quotaSetDelete', 'DELETE', 'os-quota-sets/{target_project_id}', 'Quotas', 'Reset a project’s quotas to the defaults', [res(200)]),
  op('quotaClassSetShow', 'GET', 'os-quota-class-sets/{quota_class_name}', 'Quotas', 'Show a quota class', [res(200, one('quota_class_set', QuotaSet))]),
  op('quotaClassSetUpdate', 'PUT', 'os-quota-class-sets/{quota_class_name}', 'Quotas', 'Update a quota class', [res(200, one('quota_class_set', QuotaSet))], { body: quotaClassSetUpdate }),
  op('availabilityZoneList', 'GET', 'os-availability-zone', 'Availability zones', 'List availability zones', [res(200, Type.Object({ availabilityZoneInfo: Type.Array(Type.Object({ zoneName: Type.String(), zoneState: Type.Object({ available: Type.Boolean() }) })) }))]),

  // --- volume types ---
  op('volumeTypeList', 'GET', 'types', 'Volume types', 'List volume types', [res(200, Type.Object({ volume_types: Type.Array(VolumeType) }))], { query: ListQuery }),
  op('volumeTypeShow', 'GET', 'types/{volume_type_id}', 'Volume types', 'Show a volume type', [res(200, one('volume_type', VolumeType))]),
  op('volumeTypeCreate', 'POST', 'types', 'Volume types', 'Create a volume type', [res(200, one('volume_type', VolumeType))], { body: volumeTypeCreate }),
  op('volumeTypeUpdate', 'PUT', 'types/{volume_type_id}', 'Volume types', 'Update a volume type', [res(200, one('volume_type', VolumeType))], { body: volumeTypeUpdate }),
  op('volumeTypeDelete', 'DELETE', 'types/{volume_type_id}', 'Volume types', 'Delete a volume type', [res(202)]),
  op('extraSpecsList', 'GET', 'types/{volume_type_id}/extra_specs', 'Volume types', 'List a volume type’s extra specs', [res(200, Type.Object({ extra_specs: Type.Record(Type.String(), Type.String()) }))]),
  op('extraSpecShow', 'GET', 'types/{volume_type_id}/extra_specs/{key}', 'Volume types', 'Show one extra spec', [res(200, Type.Record(Type.String(), Type.String()))]),
  op('extraSpecsCreate', 'POST', 'types/{volume_type_id}/extra_specs', 'Volume types', 'Set extra specs', [res(200, Type.Object({ extra_specs: Type.Record(Type.String(), Type.String()) }))], { body: extraSpecsCreate }),
  op('extraSpecUpdate', 'PUT', 'types/{volume_type_id}/extra_specs/{key}', 'Volume types', 'Set one extra spec', [res(200, Type.Record(Type.String(), Type.String()))], { body: extraSpecUpdate }),
  op('extraSpecDelete', 'DELETE', 'types/{volume_type_id}/extra_specs/{key}', 'Volume types', 'Delete one extra spec', [res(202)]),
  op('volumeTypeAccessList', 'GET', 'types/{volume_type_id}/os-volume-type-access', 'Volume types', 'List the projects a private type is shared with', [res(200, Type.Object({ volume_type_access: Type.Array(Type.Object({ volume_type_id: Type.String(), project_id: Type.String() })) }))]),
  op('volumeTypeAction', 'POST', 'types/{volume_type_id}/action', 'Volume types', 'Add or remove a project’s access to a private type', [res(202)], { body: actionBody('VolumeTypeAction', { addProjectAccess: valueOf(typeAccessAction('addProjectAccess'), 'addProjectAccess'), removeProjectAccess: valueOf(typeAccessAction('removeProjectAccess'), 'removeProjectAccess') }, []) }),
  op('encryptionShow', 'GET', 'types/{volume_type_id}/encryption', 'Volume types', 'Show a type’s encryption', [res(200, TypeEncryption)]),
  op('encryptionKeyShow', 'GET', 'types/{volume_type_id}/encryption/{key}', 'Volume types', 'Show one encryption field (the path key names it)', [res(200, TypeEncryptionItem)]),
  op('encryptionCreate', 'POST', 'types/{volume_type_id}/encryption', 'Volume types', 'Create a type’s encryption', [res(200, Type.Object({ encryption: TypeEncryption }))], { body: encryptionCreate }),
  op('encryptionUpdate', 'PUT', 'types/{volume_type_id}/encryption/{key}', 'Volume types', 'Update a type’s encryption (the path key is the encryption id)', [res(200, Type.Object({ encryption: TypeEncryption }))], { body: encryptionUpdate }),
  op('encryptionDelete', 'DELETE', 'types/{volume_type_id}/encryption/{key}', 'Volume types', 'Delete a type’s encryption (the path key is the encryption id)', [res(202)]),
  op('defaultTypeList', 'GET', 'default-types', 'Default types', 'List projects’ default volume types', [res(200, Type.Object({ default_types: Type.Array(DefaultType) }))], { versions: { min: '3.62' } }),
  op('defaultTypeShow', 'GET', 'default-types/{target_project_id}', 'Default types', 'Show a project’s default volume type', [res(200, one('default_type', DefaultType))], { versions: { min: '3.62' } }),
  op('defaultTypeSet', 'PUT', 'default-types/{target_project_id}', 'Default types', 'Set a project’s default volume type', [res(200, one('default_type', DefaultType))], { versions: { min: '3.62' }, body: defaultTypeSet }),
  op('defaultTypeUnset', 'DELETE', 'default-types/{target_project_id}', 'Default types', 'Unset a project’s default volume type', [res(204)], { versions: { min: '3.62' } }),

  // --- services, hosts, capabilities, pools, resource filters ---
  op('serviceList', 'GET', 'os-services', 'Services', 'List the Cinder services', [res(200, Type.Object({ services: Type.Array(Service) }))], { query: Type.Object({ host: Type.Optional(Type.String()), binary: Type.Optional(Type.String()) }) }),
  op('serviceUpdate', 'PUT', 'os-services/{action}', 'Services', 'enable, disable, disable-log-reason, freeze, thaw, set-log, get-log', [res(200, Type.Union([ServiceStatusChange, ServiceLogLevels], { description: 'enable/disable: the switch as applied; get-log: the log levels; freeze/thaw: no body' })), res(202)], {
    body: Type.Unsafe({ anyOf: [serviceEnable, serviceDisableLogReason, serviceFreeze, serviceSetLog, serviceGetLog], description: 'enable/disable: host and binary (or service); disable-log-reason adds disabled_reason; freeze/thaw: host; set-log/get-log (3.32): binary, server, prefix (and level).' }),
  }),
  op('hostList', 'GET', 'os-hosts', 'Services', 'List hosts', [res(200, Type.Object({ hosts: Type.Array(Host) }))]),
  op('hostShow', 'GET', 'os-hosts/{host_name}', 'Services', 'Show a host’s resources', [res(200, Type.Object({ host: Type.Array(HostResource) }))]),
  op('capabilitiesShow', 'GET', 'capabilities/{host_name}', 'Services', 'Show a backend’s capabilities', [res(200, Capabilities)]),
  op('poolList', 'GET', 'scheduler-stats/get_pools', 'Services', 'List the backend pools', [res(200, Type.Object({ pools: Type.Array(Pool) }))], { query: Type.Object({ detail: Type.Optional(Type.String()), name: Type.Optional(Type.String({ 'x-openstack-microversion': { min: '3.28' } } as never)) }) }),
  op('resourceFilterList', 'GET', 'resource_filters', 'Resource filters', 'List the filters each resource’s list accepts', [res(200, Type.Object({ resource_filters: Type.Array(Type.Object({ resource: Type.String(), filters: Type.Array(Type.String()) })) }))], { versions: { min: '3.33' }, query: Type.Object({ resource: Type.Optional(Type.String()) }) }),
];
