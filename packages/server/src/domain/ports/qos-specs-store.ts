import type { QosConsumer, QosSpecs } from '../qos-specs.js';
import type { Scope } from './metadata-store.js';

export interface QosSpecsListQuery {
  /** Exact matches on `id`, `name`, `consumer` (Cinder's allowed filters). */
  filters: { id?: string; name?: string; consumer?: string };
  order: { column: 'id' | 'name' | 'consumer' | 'created_at'; dir: 'asc' | 'desc' }[];
  limit: number | null;
  offset: number;
  /** Start after this spec in the given order. */
  marker: string | null;
}

/** QoS specs and their association with volume types (`volume_types.qos_specs_id`). */
export interface QosSpecsRepository {
  get(scope: Scope, id: string): Promise<QosSpecs | undefined>;
  byName(scope: Scope, name: string): Promise<QosSpecs | undefined>;
  /** False when a spec of that name exists (the name is unique). */
  insert(scope: Scope, specs: QosSpecs): Promise<boolean>;
  /** Sets (adds or overwrites) keys and, when given, the consumer. False when the spec is gone. */
  update(scope: Scope, id: string, changes: { consumer?: QosConsumer; specs: Record<string, string | null> }, at: string): Promise<boolean>;
  /** Removes keys; the keys among them the spec did not have. */
  deleteKeys(scope: Scope, id: string, keys: readonly string[], at: string): Promise<string[]>;
  /** Removes the spec and its keys (its associations must already be gone). */
  remove(scope: Scope, id: string): Promise<void>;
  /** `{ ok: false }` when the marker names no spec. */
  list(scope: Scope, q: QosSpecsListQuery): Promise<{ ok: true; items: QosSpecs[] } | { ok: false }>;
  /** The volume types associated with the spec, by name. */
  associations(scope: Scope, id: string): Promise<{ id: string; name: string }[]>;
  /** A type's association: undefined when the type does not exist, null when it has none. */
  typeQosId(scope: Scope, typeId: string): Promise<string | null | undefined>;
  /** Sets or clears a type's association; `onlyFrom` clears only when the type is associated with that spec. */
  setTypeQos(scope: Scope, typeId: string, qosId: string | null, onlyFrom?: string): Promise<void>;
  /** Clears every type's association with the spec. */
  clearAll(scope: Scope, qosId: string): Promise<void>;
  /** The spec associated with a volume type, if any. */
  ofType(scope: Scope, typeId: string): Promise<QosSpecs | undefined>;
}
