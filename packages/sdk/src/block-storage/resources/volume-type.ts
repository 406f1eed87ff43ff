/**
 * Volume types (managed by admins: extra specs, private-type access, encryption) and availability zones.
 * @packageDocumentation
 */
import type { VolumeType as VolumeTypeSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import { isRecord } from '../../util/objects.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** A type's encryption spec (`/types/{id}/encryption`). */
export interface VolumeTypeEncryption {
  volumeTypeId?: string;
  encryptionId?: string;
  /** e.g. `luks`. */
  provider?: string;
  controlLocation?: 'front-end' | 'back-end';
  cipher?: string | null;
  keySize?: number | null;
  createdAt?: string;
  updatedAt?: string | null;
}

function encryptionFromWire(b: Record<string, unknown>): VolumeTypeEncryption {
  const out: VolumeTypeEncryption = {};
  if (typeof b.volume_type_id === 'string') out.volumeTypeId = b.volume_type_id;
  if (typeof b.encryption_id === 'string') out.encryptionId = b.encryption_id;
  if (typeof b.provider === 'string') out.provider = b.provider;
  if (b.control_location === 'front-end' || b.control_location === 'back-end') out.controlLocation = b.control_location;
  if (b.cipher !== undefined) out.cipher = b.cipher as string | null;
  if (b.key_size !== undefined) out.keySize = b.key_size === null ? null : Number(b.key_size);
  if (typeof b.created_at === 'string') out.createdAt = b.created_at;
  if (b.updated_at !== undefined) out.updatedAt = b.updated_at as string | null;
  return out;
}

function encryptionToWire(e: VolumeTypeEncryption): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (e.provider !== undefined) out.provider = e.provider;
  if (e.controlLocation !== undefined) out.control_location = e.controlLocation;
  if (e.cipher !== undefined) out.cipher = e.cipher;
  if (e.keySize !== undefined) out.key_size = e.keySize;
  return out;
}

/** VolumeType attributes. */
export interface VolumeTypeAttributes extends BaseAttributes {
  description?: string;
  isPublic?: boolean;
  extraSpecs?: Record<string, string>;
  /** Admin only. */
  qosSpecsId?: string;
}

export interface VolumeType extends VolumeTypeAttributes {}

/**
 * A volume type (`/types`).
 *
 * @example
 * ```ts
 * for await (const t of conn.blockStorage.volumeTypes()) console.log(t.name, t.extraSpecs);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class VolumeType extends Resource<VolumeTypeAttributes> {
  static override readonly displayName: string = 'VolumeType';
  static override readonly resourceKey: string | undefined = 'volume_type';
  static override readonly resourcesKey: string | undefined = 'volume_types';
  static override readonly basePath: string = '/types';
  static override readonly allow = { create: true, fetch: true, commit: true, delete: true, list: true };
  static override readonly queryParameters = { limit: 'limit', marker: 'marker', isPublic: 'is_public', extraSpecs: 'extra_specs' };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    // Create takes the type-access extension's name for it; update takes `is_public`.
    isPublic: { wire: 'is_public', type: 'boolean', createWire: 'os-volume-type-access:is_public' },
    extraSpecs: { wire: 'extra_specs', type: 'object' },
    qosSpecsId: { wire: 'qos_specs_id', type: 'string', readOnly: true },
  } as const satisfies ContractFields<Static<typeof VolumeTypeSchema>>;

  /**
   * Admin: adds or overwrites extra specs (`POST …/extra_specs`); the local copy is updated.
   *
   * @example
   * ```ts
   * await type.setExtraSpecs({ volume_backend_name: 'qcow2' });
   * ```
   */
  async setExtraSpecs(specs: Record<string, string>, options: OperationOptions = {}): Promise<Record<string, string>> {
    const res = await this.send('POST', `${this.itemPath(options)}/extra_specs`, {
      ...options,
      body: { extra_specs: specs },
      operation: 'set VolumeType extra specs',
    });
    const out = isRecord(res.body) && isRecord(res.body.extra_specs) ? (res.body.extra_specs as Record<string, string>) : specs;
    this.applyServerBody({ extra_specs: { ...(this.extraSpecs ?? {}), ...out } });
    return out;
  }

  /** Admin: removes one extra spec (404 when the type has no such key). @example `await type.deleteExtraSpec('k')` */
  async deleteExtraSpec(key: string, options: OperationOptions = {}): Promise<void> {
    await this.send('DELETE', `${this.itemPath(options)}/extra_specs/${encodeURIComponent(key)}`, {
      ...options,
      operation: 'delete VolumeType extra spec',
    });
    const rest = { ...(this.extraSpecs ?? {}) };
    delete rest[key];
    this.applyServerBody({ extra_specs: rest });
  }

  /** Admin: the projects given access to this private type. @example `await type.accessProjects()` */
  async accessProjects(options: OperationOptions = {}): Promise<string[]> {
    const res = await this.send('GET', `${this.itemPath(options)}/os-volume-type-access`, {
      ...options,
      operation: 'list VolumeType access',
    });
    const list = isRecord(res.body) && Array.isArray(res.body.volume_type_access) ? res.body.volume_type_access : [];
    return list.filter(isRecord).map((a) => String(a.project_id));
  }

  /** Admin: lets `projectId` see and use this private type. @example `await type.addProjectAccess(pid)` */
  async addProjectAccess(projectId: string, options: OperationOptions = {}): Promise<void> {
    await this.action('addProjectAccess', { project: projectId }, options);
  }

  /** Admin: withdraws `projectId`'s access to this private type. @example `await type.removeProjectAccess(pid)` */
  async removeProjectAccess(projectId: string, options: OperationOptions = {}): Promise<void> {
    await this.action('removeProjectAccess', { project: projectId }, options);
  }

  /** Admin: the type's encryption spec, or undefined when it has none. @example `await type.getEncryption()` */
  async getEncryption(options: OperationOptions = {}): Promise<VolumeTypeEncryption | undefined> {
    const res = await this.send('GET', `${this.itemPath(options)}/encryption`, { ...options, operation: 'get VolumeType encryption' });
    return isRecord(res.body) && Object.keys(res.body).length > 0 ? encryptionFromWire(res.body) : undefined;
  }

  /**
   * Admin: gives the type an encryption spec (`provider` and `controlLocation` required); refused while
   * volumes of the type exist.
   *
   * @example
   * ```ts
   * await type.createEncryption({ provider: 'luks', controlLocation: 'front-end', cipher: 'aes-xts-plain64', keySize: 256 });
   * ```
   */
  async createEncryption(spec: VolumeTypeEncryption, options: OperationOptions = {}): Promise<VolumeTypeEncryption> {
    const res = await this.send('POST', `${this.itemPath(options)}/encryption`, {
      ...options,
      body: { encryption: encryptionToWire(spec) },
      operation: 'create VolumeType encryption',
    });
    return isRecord(res.body) && isRecord(res.body.encryption) ? encryptionFromWire(res.body.encryption) : spec;
  }

  /** Admin: changes the given fields of the encryption spec. @example `await type.updateEncryption({ keySize: 512 })` */
  async updateEncryption(spec: VolumeTypeEncryption, options: OperationOptions = {}): Promise<void> {
    const current = spec.encryptionId ?? (await this.getEncryption(options))?.encryptionId ?? 'encryption';
    await this.send('PUT', `${this.itemPath(options)}/encryption/${encodeURIComponent(current)}`, {
      ...options,
      body: { encryption: encryptionToWire(spec) },
      operation: 'update VolumeType encryption',
    });
  }

  /** Admin: removes the encryption spec; refused while volumes of the type exist. @example `await type.deleteEncryption()` */
  async deleteEncryption(options: OperationOptions = {}): Promise<void> {
    const current = (await this.getEncryption(options))?.encryptionId ?? 'encryption';
    await this.send('DELETE', `${this.itemPath(options)}/encryption/${encodeURIComponent(current)}`, {
      ...options,
      operation: 'delete VolumeType encryption',
    });
  }
}

/** AvailabilityZone attributes. */
export interface AvailabilityZoneAttributes extends BaseAttributes {
  /** Wire `zoneName`. */
  name?: string;
  /** Wire `zoneState`, e.g. `{ available: true }`. */
  state?: { available?: boolean };
}

export interface AvailabilityZone extends AvailabilityZoneAttributes {}

/**
 * A block-storage availability zone (`/os-availability-zone`, envelope `availabilityZoneInfo`).
 *
 * @example
 * ```ts
 * const zones = await conn.blockStorage.availabilityZones().toArray();
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class AvailabilityZone extends Resource<AvailabilityZoneAttributes> {
  static override readonly displayName: string = 'AvailabilityZone';
  static override readonly resourcesKey: string | undefined = 'availabilityZoneInfo';
  static override readonly basePath: string = '/os-availability-zone';
  static override readonly allow = { create: false, fetch: false, commit: false, delete: false, list: true };
  static override readonly queryParameters = {};
  static override readonly fields = {
    id: { wire: 'id', type: 'string', readOnly: true },
    name: { wire: 'zoneName', type: 'string', readOnly: true },
    state: { wire: 'zoneState', type: 'object', readOnly: true },
  } as const;
}
