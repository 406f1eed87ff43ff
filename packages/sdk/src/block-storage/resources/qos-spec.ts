/**
 * QoS specs (`/qos-specs`, admin only): named sets of limits associated with volume types.
 * @packageDocumentation
 */
import type { QosSpecs } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import { isRecord } from '../../util/objects.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** Who applies the limits: the hypervisor (`front-end`), the storage backend (`back-end`), or both. */
export type QoSConsumer = 'front-end' | 'back-end' | 'both';

/** QoSSpec attributes. */
export interface QoSSpecAttributes extends BaseAttributes {
  /** `back-end` when created without one. */
  consumer?: QoSConsumer;
  /** Key → value, e.g. `{ total_iops_sec: '1000' }`; a key set to null shows as null. */
  specs?: Record<string, string | null>;
}

export interface QoSSpec extends QoSSpecAttributes {}

/** One volume type a spec is associated with (`GET /qos-specs/{id}/associations`). */
export interface QoSAssociation {
  associationType: 'volume_type';
  id: string;
  name: string;
}

/**
 * A QoS spec. Front-end (and `both`) limits reach the hypervisor in `connectionInfo.data.qos_specs` of
 * volumes whose type is associated with the spec, `*_per_gb` keys scaled by the volume size.
 *
 * @example
 * ```ts
 * const gold = await admin.blockStorage.createQoSSpec({ name: 'gold', consumer: 'front-end', specs: { total_iops_sec: '2000' } });
 * await admin.blockStorage.associateQoSSpec(gold, typeId);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class QoSSpec extends Resource<QoSSpecAttributes> {
  static override readonly displayName: string = 'QoSSpec';
  static override readonly resourceKey: string | undefined = 'qos_specs';
  static override readonly resourcesKey: string | undefined = 'qos_specs';
  static override readonly basePath: string = '/qos-specs';
  static override readonly allow = { create: false, fetch: true, commit: false, delete: true, list: true };
  static override readonly queryParameters = {
    limit: 'limit',
    marker: 'marker',
    offset: 'offset',
    sort: 'sort',
    name: 'name',
    consumer: 'consumer',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    consumer: { wire: 'consumer', type: 'string' },
    specs: { wire: 'specs', type: 'object' },
  } as const satisfies ContractFields<Static<typeof QosSpecs>>;

  /**
   * Creates the spec: Cinder takes the consumer and the specs flat beside the name (`{qos_specs: {name,
   * consumer, key: value…}}`) and answers them nested.
   *
   * @example
   * ```ts
   * const q = await QoSSpec.new({ name: 'gold', specs: { read_iops_sec: '500' } }, client).createSpec();
   * ```
   */
  async createSpec(options: OperationOptions = {}): Promise<this> {
    const body: Record<string, unknown> = { ...(this.specs ?? {}), name: this.name };
    if (this.consumer !== undefined) body.consumer = this.consumer;
    const res = await this.send('POST', options.basePath ?? QoSSpec.basePath, {
      ...options,
      body: { qos_specs: body },
      operation: 'create QoSSpec',
    });
    return this.applyResponse(res);
  }

  /**
   * Sets keys (adding or overwriting; a `consumer` key changes the consumer), then re-reads the spec.
   *
   * @example
   * ```ts
   * await q.setKeys({ total_bytes_sec: '1048576' });
   * ```
   */
  async setKeys(specs: Record<string, string | null>, options: OperationOptions = {}): Promise<this> {
    await this.send('PUT', this.itemPath(options), { ...options, body: { qos_specs: specs }, operation: 'set QoSSpec keys' });
    return this.fetch(options);
  }

  /**
   * Removes keys. Cinder removes them in order and stops at the first the spec lacks (404); the ones before
   * it stay removed.
   *
   * @example
   * ```ts
   * await q.unsetKeys(['total_bytes_sec']);
   * ```
   */
  async unsetKeys(keys: string[], options: OperationOptions = {}): Promise<this> {
    await this.send('PUT', `${this.itemPath(options)}/delete_keys`, { ...options, body: { keys }, operation: 'unset QoSSpec keys' });
    return this.fetch(options);
  }

  /** The volume types associated with the spec. @example `const types = await q.associations()` */
  async associations(options: OperationOptions = {}): Promise<QoSAssociation[]> {
    const res = await this.send('GET', `${this.itemPath(options)}/associations`, { ...options, operation: 'list QoSSpec associations' });
    const list = isRecord(res.body) && Array.isArray(res.body.qos_associations) ? res.body.qos_associations : [];
    return list.filter(isRecord).map((a) => ({ associationType: 'volume_type', id: String(a.id), name: String(a.name) }));
  }

  /**
   * Associates a volume type (a type has at most one spec: one associated with another is refused, 400).
   *
   * @example
   * ```ts
   * await q.associate(typeId);
   * ```
   */
  async associate(volumeTypeId: string, options: OperationOptions = {}): Promise<void> {
    await this.send('GET', `${this.itemPath(options)}/associate`, {
      ...options,
      query: { vol_type_id: volumeTypeId },
      operation: 'associate QoSSpec',
    });
  }

  /** Disassociates one volume type; `undefined` disassociates every type. @example `await q.disassociate(typeId)` */
  async disassociate(volumeTypeId?: string, options: OperationOptions = {}): Promise<void> {
    await this.send('GET', `${this.itemPath(options)}/${volumeTypeId === undefined ? 'disassociate_all' : 'disassociate'}`, {
      ...options,
      ...(volumeTypeId === undefined ? {} : { query: { vol_type_id: volumeTypeId } }),
      operation: 'disassociate QoSSpec',
    });
  }
}
