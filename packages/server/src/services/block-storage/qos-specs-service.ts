import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, notFound } from '../../domain/errors.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { QosSpecsListQuery } from '../../domain/ports/qos-specs-store.js';
import { DEFAULT_QOS_CONSUMER, isQosConsumer, QOS_CONSUMERS, type QosConsumer, type QosSpecs } from '../../domain/qos-specs.js';
import { requireAdmin } from './access.js';
import type { Core } from './core.js';

/** Cinder's rule names (cinder/policies/qos_specs.py); every one is admin-only. */
export const QOS_POLICY = {
  create: 'volume_extension:qos_specs_manage:create',
  get: 'volume_extension:qos_specs_manage:get',
  getAll: 'volume_extension:qos_specs_manage:get_all',
  update: 'volume_extension:qos_specs_manage:update',
  delete: 'volume_extension:qos_specs_manage:delete',
} as const;

export interface QosAssociation {
  association_type: 'volume_type';
  name: string;
  id: string;
}

const specsNotFound = (id: string) => notFound(`No such QoS spec ${id}.`);
const typeNotFound = (id: string) => notFound(`Volume type ${id} could not be found.`);

/** `InvalidQoSSpecs` for a consumer outside Cinder's `CONTROL_LOCATION`. */
function consumerOf(v: string | null | undefined): QosConsumer {
  if (isQosConsumer(v)) return v;
  throw badRequest(`Invalid qos specs: Valid consumer of QoS specs are: ${QOS_CONSUMERS.join(', ')}`);
}

/**
 * QoS specs (cinder/volume/qos_specs.py): admin-only CRUD of named limit sets, and their association with volume
 * types. Every change is one transaction, so an association never names a spec that is gone.
 */
export class QosSpecsService {
  constructor(private readonly core: Core) {}

  private get repo() {
    return this.core.repos.qosSpecs;
  }

  private async existing(scope: Scope, id: string): Promise<QosSpecs> {
    const q = await this.repo.get(scope, id);
    if (!q) throw specsNotFound(id);
    return q;
  }

  /**
   * `specs` holds everything of the create body but `name`; its `consumer` is the spec's consumer (back-end when
   * absent), the other keys its specs.
   */
  async create(ctx: AuthContext, name: string, specs: Record<string, string | null>): Promise<QosSpecs> {
    requireAdmin(ctx, QOS_POLICY.create);
    const { consumer, ...rest } = specs;
    const q: QosSpecs = {
      id: randomUUID(),
      name,
      // An empty consumer is no consumer (Cinder: `if consumer:`).
      consumer: consumer === undefined || consumer === null || consumer === '' ? DEFAULT_QOS_CONSUMER : consumerOf(consumer),
      specs: rest,
      created_at: this.core.now(),
      updated_at: null,
    };
    return this.core.inTx(async (tx) => {
      const exists = () => conflict(`QoS Specs ${name} already exists.`);
      if (await this.repo.byName(tx, name)) throw exists();
      if (!(await this.repo.insert(tx, q))) throw exists();
      return q;
    });
  }

  async list(ctx: AuthContext, q: QosSpecsListQuery): Promise<QosSpecs[]> {
    requireAdmin(ctx, QOS_POLICY.getAll);
    const res = await this.repo.list(this.core.store.root, q);
    if (!res.ok) throw notFound(`Marker ${q.marker ?? ''} could not be found.`);
    return res.items;
  }

  async get(ctx: AuthContext, id: string): Promise<QosSpecs> {
    requireAdmin(ctx, QOS_POLICY.get);
    return this.existing(this.core.store.root, id);
  }

  /** Sets keys (and the consumer, when `specs` names one). */
  async update(ctx: AuthContext, id: string, specs: Record<string, string | null>): Promise<void> {
    requireAdmin(ctx, QOS_POLICY.update);
    const { consumer, ...rest } = specs;
    const changes = { ...(consumer !== undefined ? { consumer: consumerOf(consumer) } : {}), specs: rest };
    await this.core.inTx(async (tx) => {
      await this.existing(tx, id);
      if (!(await this.repo.update(tx, id, changes, this.core.now()))) throw specsNotFound(id);
    });
  }

  /**
   * Cinder deletes keys in order until the first one the spec lacks, keeps what it deleted, and answers 404 for
   * that key; so does this.
   */
  async deleteKeys(ctx: AuthContext, id: string, keys: readonly string[]): Promise<void> {
    requireAdmin(ctx, QOS_POLICY.delete);
    const missing = await this.core.inTx(async (tx) => {
      const q = await this.existing(tx, id);
      const firstMissing = keys.findIndex((k) => !Object.hasOwn(q.specs, k));
      const toDelete = firstMissing < 0 ? keys : keys.slice(0, firstMissing);
      await this.repo.deleteKeys(tx, id, toDelete, this.core.now());
      return firstMissing < 0 ? undefined : keys[firstMissing];
    });
    if (missing !== undefined) throw notFound(`QoS spec ${id} has no spec with key ${missing}.`);
  }

  /** Refused (400) while a volume type is associated, unless `force`, which disassociates them all first. */
  async delete(ctx: AuthContext, id: string, force: boolean): Promise<void> {
    requireAdmin(ctx, QOS_POLICY.delete);
    await this.core.inTx(async (tx) => {
      await this.existing(tx, id);
      if ((await this.repo.associations(tx, id)).length > 0) {
        if (!force) throw badRequest('Qos specs still in use.');
        await this.repo.clearAll(tx, id);
      }
      await this.repo.remove(tx, id);
    });
  }

  async associations(ctx: AuthContext, id: string): Promise<QosAssociation[]> {
    requireAdmin(ctx, QOS_POLICY.getAll);
    const scope = this.core.store.root;
    await this.existing(scope, id);
    return (await this.repo.associations(scope, id)).map((t) => ({ association_type: 'volume_type', name: t.name, id: t.id }));
  }

  /** A type has at most one spec: associating one already associated with another spec is refused (400). */
  async associate(ctx: AuthContext, id: string, typeId: string | undefined): Promise<void> {
    requireAdmin(ctx, QOS_POLICY.update);
    if (!typeId) throw badRequest('Volume Type id must not be None.');
    await this.core.inTx(async (tx) => {
      await this.existing(tx, id);
      const current = await this.repo.typeQosId(tx, typeId);
      if (current === undefined) throw typeNotFound(typeId);
      if (current === id) return;
      if (current !== null) {
        throw badRequest(`Invalid volume type: Type ${typeId} is already associated with another qos specs: ${current}`);
      }
      await this.repo.setTypeQos(tx, typeId, id);
    });
  }

  /** Disassociating a type that is not associated with this spec changes nothing (as in Cinder). */
  async disassociate(ctx: AuthContext, id: string, typeId: string | undefined): Promise<void> {
    requireAdmin(ctx, QOS_POLICY.update);
    if (!typeId) throw badRequest('Volume Type id must not be None.');
    await this.core.inTx(async (tx) => {
      await this.existing(tx, id);
      if ((await this.repo.typeQosId(tx, typeId)) === undefined) throw typeNotFound(typeId);
      await this.repo.setTypeQos(tx, typeId, null, id);
    });
  }

  async disassociateAll(ctx: AuthContext, id: string): Promise<void> {
    requireAdmin(ctx, QOS_POLICY.update);
    await this.core.inTx(async (tx) => {
      await this.existing(tx, id);
      await this.repo.clearAll(tx, id);
    });
  }
}
