import { createHash } from 'node:crypto';
import type { JsonField, SnapshotRecord, VolumeRecord } from '../../services/block-storage/index.js';
import type { ResourceSummary, SnapshotBody, VolumeAttachment, VolumeBody } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { SNAPSHOT_BASE_JSON_FIELDS, SNAPSHOT_EXTENDED_JSON_FIELDS } from '../../domain/snapshot-json-fields.js';
import type { ApiVersion } from '../common/api-version.js';

/*
 * Each view returns the contract's response type (`@cinderbox/api-schema`), so a field renamed or dropped on either
 * side fails the build; the contract test checks the recorded bodies against the same schemas at run time.
 */
type Links = { rel: string; href: string }[];
type Summary = Static<typeof ResourceSummary>;

const SHOWN_STATUS: Record<string, string> = {
  managing: 'creating',
  error_managing: 'error',
  error_managing_deleting: 'deleting',
};

/** A stable UUID for the backend service, derived from its host name (3.48 `service_uuid`). */
function serviceUuid(host: string): string {
  const h = createHash('sha256').update(host).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function volumeSummaryView(rec: VolumeRecord, links: Links): Summary {
  return { id: rec.volume.id, links, name: rec.volume.name };
}

export interface VolumeViewOptions {
  mv: ApiVersion;
  isAdmin: boolean;
  links: Links;
  /** Show and detail lists carry the extension attributes; create and update do not. */
  extended: boolean;
}

/**
 * Cinder shows two admin-metadata keys, `readonly` and `attached_mode`, inside the volume's own metadata
 * (`add_visible_admin_metadata`); Tempest and Nova read the read-only flag from there.
 */
function visibleMetadata(rec: VolumeRecord): Record<string, string> {
  const out = { ...rec.metadata };
  for (const key of ['readonly', 'attached_mode']) {
    const v = rec.adminMetadata[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export function volumeDetailView(rec: VolumeRecord, o: VolumeViewOptions): VolumeBody {
  const r = rec.volume;
  const v: VolumeBody = {
    id: r.id,
    status: SHOWN_STATUS[r.status] ?? r.status,
    size: r.size,
    availability_zone: r.availability_zone,
    created_at: r.created_at,
    updated_at: r.updated_at,
    name: r.name,
    description: r.description,
    volume_type: rec.volumeTypeName,
    snapshot_id: r.snapshot_id,
    source_volid: r.source_volid,
    metadata: visibleMetadata(rec),
    links: o.links,
    user_id: r.user_id,
    bootable: r.bootable ? 'true' : 'false',
    encrypted: false,
    replication_status: 'disabled',
    consistencygroup_id: null,
    multiattach: r.multiattach,
    attachments: rec.attachments.map((a): Static<typeof VolumeAttachment> => ({
      id: r.id,
      attachment_id: a.id,
      volume_id: r.id,
      server_id: a.instance_uuid,
      host_name: o.isAdmin ? a.host_name : null,
      device: a.mountpoint,
      attached_at: a.attached_at,
    })),
  };
  if (o.isAdmin) v.migration_status = r.migration_status;
  if (o.extended) {
    v['os-vol-tenant-attr:tenant_id'] = r.project_id;
    if (o.isAdmin) {
      v['os-vol-host-attr:host'] = r.host;
      v['os-vol-mig-status-attr:migstat'] = r.migration_status;
      v['os-vol-mig-status-attr:name_id'] = null;
    }
  }
  const mv = o.mv;
  if (mv.atLeast('3.13')) v.group_id = rec.groupId ?? null;
  if (mv.atLeast('3.21') && o.isAdmin) v.provider_id = null;
  if (mv.atLeast('3.48')) {
    v.shared_targets = false;
    v.service_uuid = serviceUuid(r.host);
  }
  if (mv.atLeast('3.61') && o.isAdmin) v.cluster_name = null;
  if (mv.atLeast('3.63')) v.volume_type_id = r.volume_type_id;
  if (mv.atLeast('3.65')) v.consumes_quota = r.use_quota;
  return v;
}

export function snapshotSummaryView(rec: SnapshotRecord): SnapshotBody {
  const s = rec.snapshot;
  return {
    id: s.id,
    created_at: s.created_at,
    updated_at: s.updated_at,
    name: s.name,
    description: s.description,
    volume_id: s.volume_id,
    status: s.status,
    size: s.size,
    metadata: rec.metadata,
  };
}

/** Detail-style (create, update) and, with `extended`, show / detail list (spec §4.4). */
export function snapshotDetailView(rec: SnapshotRecord, mv: ApiVersion, extended: boolean): SnapshotBody {
  // Show and the detail list at a current microversion: one literal, so the 100 views of a page share one shape
  // from the start instead of growing through five added keys each (same keys, same order as below).
  if (extended && mv.atLeast('3.65')) {
    const s = rec.snapshot;
    return {
      id: s.id,
      created_at: s.created_at,
      updated_at: s.updated_at,
      name: s.name,
      description: s.description,
      volume_id: s.volume_id,
      status: s.status,
      size: s.size,
      metadata: rec.metadata,
      group_snapshot_id: rec.groupSnapshotId ?? null,
      user_id: s.user_id,
      consumes_quota: s.use_quota,
      'os-extended-snapshot-attributes:progress': s.progress,
      'os-extended-snapshot-attributes:project_id': s.project_id,
    };
  }
  if (extended && !mv.atLeast('3.14')) {
    // The same for the base version (a client that names none), which shows none of the gated keys.
    const s = rec.snapshot;
    return {
      id: s.id,
      created_at: s.created_at,
      updated_at: s.updated_at,
      name: s.name,
      description: s.description,
      volume_id: s.volume_id,
      status: s.status,
      size: s.size,
      metadata: rec.metadata,
      'os-extended-snapshot-attributes:progress': s.progress,
      'os-extended-snapshot-attributes:project_id': s.project_id,
    };
  }
  const v = snapshotSummaryView(rec);
  if (mv.atLeast('3.14')) v.group_snapshot_id = rec.groupSnapshotId ?? null;
  if (mv.atLeast('3.41')) v.user_id = rec.snapshot.user_id;
  if (mv.atLeast('3.65')) v.consumes_quota = rec.snapshot.use_quota;
  if (extended) {
    v['os-extended-snapshot-attributes:progress'] = rec.snapshot.progress;
    v['os-extended-snapshot-attributes:project_id'] = rec.snapshot.project_id;
  }
  return v;
}

const snapshotFieldsCache = new Map<string, readonly JsonField[]>();

/**
 * `snapshotDetailView(rec, mv, true)` as fields the store renders to JSON text (the detail list): the same keys in
 * the same order, gated by the same microversions; views.test.ts holds the two to the same bodies.
 */
export function snapshotDetailFields(mv: ApiVersion): readonly JsonField[] {
  const gates = `${mv.atLeast('3.14')}${mv.atLeast('3.41')}${mv.atLeast('3.65')}`;
  let f = snapshotFieldsCache.get(gates);
  if (!f) {
    f = [
      ...SNAPSHOT_BASE_JSON_FIELDS,
      ...(mv.atLeast('3.14') ? [{ key: 'group_snapshot_id', column: 'group_snapshot_id', as: 'text' } as const] : []),
      ...(mv.atLeast('3.41') ? [{ key: 'user_id', column: 'user_id', as: 'text' } as const] : []),
      ...(mv.atLeast('3.65') ? [{ key: 'consumes_quota', column: 'use_quota', as: 'bool' } as const] : []),
      ...SNAPSHOT_EXTENDED_JSON_FIELDS,
    ];
    snapshotFieldsCache.set(gates, f);
  }
  return f;
}
