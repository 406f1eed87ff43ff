/**
 * What the block-storage services need of the metadata store for volumes, snapshots, their attachments and
 * metadata: one repository per aggregate, each taking a `Scope` (the store, or an open transaction) first and
 * returning domain records. The SQL behind them lives in store/repositories/.
 */
import type { Snapshot } from '../snapshot.js';
import type { Volume, VolumeAttachment } from '../volume.js';
import type { Scope, Transition } from './metadata-store.js';
import type { MessagesRepository } from './message-store.js';
import type { GroupsRepository } from './group-store.js';
import type { QosSpecsRepository } from './qos-specs-store.js';
import type { TransfersRepository } from './transfer-store.js';

export type { Transition };

// ---- listing ----

/** A condition on a listed resource's fields, as the filter policy of a list produces it. */
export type ListFilter =
  | { kind: 'eq'; column: string; value: string | number | boolean }
  | { kind: 'like'; column: string; value: string }
  | { kind: 'cmp'; column: string; op: '<' | '<=' | '>' | '>=' | '=' | '<>'; value: string }
  | { kind: 'metadata'; items: Record<string, string> }
  /** A filter that can match nothing here (an admin naming a field we do not have). */
  | { kind: 'none' };

export interface ListWhere {
  /** null = all projects (admin all_tenants). */
  projectId: string | null;
  filters: ListFilter[];
}

export interface ListOrder {
  column: string;
  dir: 'asc' | 'desc';
}

/** One page of a list, with the sort already validated and completed by the service (Cinder's rules). */
export interface ListQuery {
  where: ListWhere;
  order: ListOrder[];
  limit: number;
  marker: string | null;
  offset: number | null;
  withCount: boolean;
}

export type ListOutcome<R> = { ok: true; items: R[]; count: number | null } | { ok: false; reason: 'marker' };

/**
 * One key of a list page's item that the store renders as JSON text: a column of the resource's row as a string,
 * integer or boolean, or the resource's metadata as an object. Views name these from fixed tables, never from a
 * request.
 */
export type JsonField =
  | { key: string; column: string; as: 'text' | 'int' | 'bool' }
  | { key: string; as: 'metadata' };

/**
 * A list page as JSON text: `items` the page's objects joined by commas, in page order (the inside of the JSON
 * array), `n` how many and `lastId` the last one's id (for the next link).
 */
export type JsonListOutcome =
  | { ok: true; n: number; lastId: string | null; items: string; count: number | null }
  | { ok: false; reason: 'marker' };

// ---- repositories ----

export type VolumeChanges = Partial<Omit<Volume, 'id'>>;
export type SnapshotChanges = Partial<Omit<Snapshot, 'id'>>;

export interface VolumesRepository {
  get(scope: Scope, id: string): Promise<Volume | undefined>;
  insert(scope: Scope, volume: Volume): Promise<void>;
  /** Unguarded field changes; the record after them, undefined when the volume is gone. */
  update(scope: Scope, id: string, changes: VolumeChanges): Promise<Volume | undefined>;
  /** Guarded status move: `from` null means any status, `to` null keeps the status. */
  transition(
    scope: Scope,
    id: string,
    from: readonly string[] | null,
    to: string | null,
    changes?: VolumeChanges,
  ): Promise<Transition<Volume>>;
  /** Forgets the volume: row, metadata, admin metadata, attachments. The removed record, if there was one. */
  remove(scope: Scope, id: string): Promise<Volume | undefined>;
  list(scope: Scope, q: ListQuery): Promise<ListOutcome<Volume>>;
  /** A volume being created (status `creating`) from this source volume or snapshot, if any. */
  creatingFrom(scope: Scope, source: { volumeId: string } | { snapshotId: string }): Promise<string | undefined>;
  /** Volumes of `driver` whose backend object is one of `names`: object name → volume id. */
  byObjectNames(scope: Scope, driver: string, names: readonly string[]): Promise<Map<string, string>>;
  /** The drivers (backends) existing volumes were created on, so a backend no longer configured still opens. */
  driversInUse(scope: Scope): Promise<string[]>;
  /** Ids of the volumes in `status` (startup recovery looks for the ones a dead server left mid-operation). */
  idsWithStatus(scope: Scope, status: string): Promise<string[]>;
}

export interface SnapshotsRepository {
  /** A snapshot the API may show (internal ones never are). */
  get(scope: Scope, id: string): Promise<Snapshot | undefined>;
  /**
   * The snapshot with its metadata and group snapshot in one round trip (the GET path: each query is a round
   * trip on PostgreSQL).
   */
  getWithMetadata(
    scope: Scope,
    id: string,
  ): Promise<{ snapshot: Snapshot; metadata: Record<string, string>; groupSnapshotId: string | null } | undefined>;
  insert(scope: Scope, snapshot: Snapshot): Promise<void>;
  update(scope: Scope, id: string, changes: SnapshotChanges): Promise<Snapshot | undefined>;
  transition(
    scope: Scope,
    id: string,
    from: readonly string[] | null,
    to: string | null,
    changes?: SnapshotChanges,
  ): Promise<Transition<Snapshot>>;
  /** Forgets the snapshot: row and metadata. The removed record, if there was one. */
  remove(scope: Scope, id: string): Promise<Snapshot | undefined>;
  list(scope: Scope, q: ListQuery): Promise<ListOutcome<Snapshot>>;
  /** The same page as `list`, each item rendered by the database as the JSON object `fields` describe. */
  listJson(scope: Scope, q: ListQuery, fields: readonly JsonField[]): Promise<JsonListOutcome>;
  /** Every snapshot of a volume (a volume delete looks at all of them). */
  ofVolume(scope: Scope, volumeId: string): Promise<Snapshot[]>;
  /** The newest snapshot of a volume the API shows (revert goes only to it). */
  latestOfVolume(scope: Scope, volumeId: string): Promise<Snapshot | undefined>;
  /** Cascade delete: every snapshot of the volume to `status`. */
  setStatusOfVolume(scope: Scope, volumeId: string, status: string, changes?: SnapshotChanges): Promise<void>;
  /**
   * Snapshots of volumes of `driver` whose backend object is one of `names`: object name → snapshot id and the
   * object name of its volume.
   */
  byObjectNames(
    scope: Scope,
    driver: string,
    names: readonly string[],
  ): Promise<Map<string, { id: string; volumeObject: string | null }>>;
}

/** What `GET /attachments` filters on; the project is the attached volume's. */
export interface AttachmentFilter {
  projectId: string | null;
  volumeId?: string;
  instanceUuid?: string;
  attachStatus?: string;
}

export type AttachmentChanges = Partial<Omit<VolumeAttachment, 'id' | 'volume_id' | 'created_at'>>;

export interface AttachmentsRepository {
  /** Attachments in state `attached` of these volumes, oldest first. */
  attachedTo(scope: Scope, volumeIds: readonly string[]): Promise<VolumeAttachment[]>;
  /** Every attachment of a volume, whatever its state, oldest first. */
  ofVolume(scope: Scope, volumeId: string): Promise<VolumeAttachment[]>;
  get(scope: Scope, id: string): Promise<(VolumeAttachment & { project_id: string }) | undefined>;
  /** Matching attachments with their volume's project, newest first. */
  list(scope: Scope, filter: AttachmentFilter): Promise<(VolumeAttachment & { project_id: string })[]>;
  insert(scope: Scope, attachment: VolumeAttachment): Promise<void>;
  /** Updates an attachment that still exists; false when it is gone (a racing delete won). */
  update(scope: Scope, id: string, changes: AttachmentChanges): Promise<boolean>;
  /** False when it was already gone. */
  remove(scope: Scope, id: string): Promise<boolean>;
  removeAllOf(scope: Scope, volumeId: string): Promise<void>;
}

/** Key/value metadata: a volume's, a volume's admin metadata, a snapshot's, a backup's. */
export type MetadataKind = 'volume' | 'volume_admin' | 'snapshot' | 'backup';

export interface MetadataRepository {
  read(scope: Scope, kind: MetadataKind, ownerId: string): Promise<Record<string, string>>;
  /** Metadata of many owners in one query (list pages); every id has an entry. */
  readMany(scope: Scope, kind: MetadataKind, ownerIds: readonly string[]): Promise<Map<string, Record<string, string>>>;
  /** Replaces the whole set (`replace`) or merges `items` into it. */
  write(scope: Scope, kind: MetadataKind, ownerId: string, items: Record<string, string>, replace: boolean): Promise<void>;
  /** False when the key did not exist. */
  deleteKey(scope: Scope, kind: MetadataKind, ownerId: string, key: string): Promise<boolean>;
  deleteAll(scope: Scope, kind: MetadataKind, ownerId: string): Promise<void>;
  /** The owner holding `key`, if any (admin metadata used as a reverse index). */
  ownerOfKey(scope: Scope, kind: MetadataKind, key: string): Promise<string | undefined>;
  /** Removes `key` whoever holds it. */
  deleteKeyEverywhere(scope: Scope, kind: MetadataKind, key: string): Promise<void>;
  /**
   * For admin keys naming backend objects: key → the object name of the volume holding it, for the given keys.
   */
  volumeObjectsByAdminKeys(scope: Scope, keys: readonly string[]): Promise<Map<string, string>>;
}

export interface VolumeTypeRef {
  id: string;
  name: string;
}

export interface VolumeTypeLookup {
  byId(scope: Scope, id: string): Promise<VolumeTypeRef | undefined>;
  byName(scope: Scope, name: string): Promise<VolumeTypeRef | undefined>;
  /** Names of the given type ids, in one query. */
  names(scope: Scope, ids: readonly string[]): Promise<Map<string, string>>;
}

/** Snapshot ids that exist only as driver objects, owned by backups (backup bases, CBR backups). */
export interface HiddenSnapshotLookup {
  /** The ids among `ids` some backup record claims. */
  claimed(scope: Scope, ids: readonly string[]): Promise<Set<string>>;
}

export interface BlockStorageStore {
  volumes: VolumesRepository;
  snapshots: SnapshotsRepository;
  attachments: AttachmentsRepository;
  metadata: MetadataRepository;
  volumeTypes: VolumeTypeLookup;
  hiddenSnapshots: HiddenSnapshotLookup;
  transfers: TransfersRepository;
  messages: MessagesRepository;
  qosSpecs: QosSpecsRepository;
  groups: GroupsRepository;
}
