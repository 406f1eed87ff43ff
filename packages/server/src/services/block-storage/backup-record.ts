import { badRequest } from '../../domain/errors.js';
import type { Backup } from '../../domain/backup.js';
import { UUID_RE } from './core.js';
import { setOwn } from '../../domain/own.js';

/**
 * Clients (Tempest, cinderclient) check that the service names a Cinder backup driver module. Exports name their
 * target's driver (backup-targets.ts); this older name is still accepted on import.
 */
export const BACKUP_SERVICE = 'cinder.backup.drivers.cinderbox';
export const BACKUP_SERVICE_PREFIX = 'cinder.backup.drivers.';
/** A record is a few hundred bytes; anything much larger is not one of ours. */
export const MAX_BACKUP_URL_LENGTH = 64 * 1024;

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What an import may take from a record; everything else comes from the manifest, whose checksum is verified. */
export interface ImportedRecord {
  id: string;
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
  /** "<container>/<id>" of the manifest inside this repository (checked by the repository before any use). */
  locator: string;
  /** The backup target the record says the backup is on (`default` for records made before targets). */
  target: string;
}

/**
 * Cinder's backup_url: padded base64 of a JSON object with the backup's columns. `service_metadata` carries the
 * repository locator (a JSON string, as Cinder's column is text), so an import never derives it from `id`,
 * which clients rewrite to import a copy beside the original.
 */
export function encodeBackupRecord(
  row: Backup,
  metadata: Record<string, string>,
  repoId: string,
  service: string = BACKUP_SERVICE,
): string {
  const record = {
    id: row.id,
    user_id: row.user_id,
    project_id: row.project_id,
    volume_id: row.volume_id,
    snapshot_id: row.snapshot_id,
    host: row.host,
    availability_zone: row.availability_zone,
    container: row.container,
    parent_id: row.parent_id,
    status: row.status,
    fail_reason: row.fail_reason,
    size: row.size,
    name: row.name,
    display_name: row.name,
    display_description: row.description,
    service_metadata: JSON.stringify({ locator: row.locator, repo_id: repoId, backup_target: row.backup_target }),
    service,
    object_count: row.object_count,
    num_dependent_backups: 0,
    data_timestamp: row.data_timestamp,
    created_at: row.created_at,
    updated_at: row.updated_at,
    deleted: false,
    metadata,
    encryption_key_id: null,
    driver_info: {},
  };
  return Buffer.from(JSON.stringify(record), 'utf8').toString('base64');
}

const CANNOT_DECODE = "Invalid input received: Can't decode/parse backup record.";

function optionalString(v: unknown): string | null {
  return typeof v === 'string' ? v.slice(0, 255) : null;
}

/** Parses an untrusted backup_url; every defect is a 400 and nothing about it is trusted beyond its shape. */
export function decodeBackupRecord(url: string): ImportedRecord {
  if (url.length > MAX_BACKUP_URL_LENGTH) throw badRequest(`${CANNOT_DECODE} The record is too large.`);
  if (!BASE64_RE.test(url)) throw badRequest(CANNOT_DECODE);
  let record: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(url, 'base64'));
    record = JSON.parse(text);
  } catch {
    throw badRequest(CANNOT_DECODE);
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw badRequest(CANNOT_DECODE);
  const r = record as Record<string, unknown>;
  if (typeof r.id !== 'string' || !UUID_RE.test(r.id.toLowerCase()))
    throw badRequest('Invalid input received: The backup record has no valid id.');
  if (!Number.isSafeInteger(r.size) || (r.size as number) < 0)
    throw badRequest('Invalid input received: The backup record has no valid size.');
  let service: unknown = r.service_metadata;
  if (typeof service === 'string') {
    try {
      service = JSON.parse(service);
    } catch {
      service = { locator: service };
    }
  }
  const locator =
    service !== null && typeof service === 'object' ? (service as Record<string, unknown>).locator : undefined;
  if (typeof locator !== 'string' || locator.length === 0 || locator.length > 600)
    throw badRequest('Invalid input received: The backup record names no backup in the repository.');
  const target = (service as Record<string, unknown>).backup_target ?? 'default';
  if (typeof target !== 'string' || target.length === 0 || target.length > 255)
    throw badRequest('Invalid input received: The backup record names no valid backup target.');
  const metadata: Record<string, string> = {};
  if (r.metadata !== null && typeof r.metadata === 'object' && !Array.isArray(r.metadata)) {
    for (const [k, v] of Object.entries(r.metadata as Record<string, unknown>)) {
      if (typeof v === 'string' && k.length > 0 && k.length <= 255 && v.length <= 255) setOwn(metadata, k, v);
    }
  }
  return {
    id: r.id.toLowerCase(),
    name: optionalString(r.display_name ?? r.name),
    description: optionalString(r.display_description ?? r.description),
    metadata,
    locator,
    target,
  };
}
