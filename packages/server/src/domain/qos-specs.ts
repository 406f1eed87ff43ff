import { setOwn } from './own.js';

/** Who applies a QoS spec's limits (Cinder's `CONTROL_LOCATION`): the hypervisor, the storage backend, or both. */
export const QOS_CONSUMERS = ['front-end', 'back-end', 'both'] as const;
export type QosConsumer = (typeof QOS_CONSUMERS)[number];

/** Cinder's default when a spec is created without `consumer`. */
export const DEFAULT_QOS_CONSUMER: QosConsumer = 'back-end';

export function isQosConsumer(v: unknown): v is QosConsumer {
  return typeof v === 'string' && (QOS_CONSUMERS as readonly string[]).includes(v);
}

/** A QoS spec: a named set of limits, associated with volume types (a type has at most one). */
export interface QosSpecs {
  id: string;
  name: string;
  consumer: QosConsumer;
  /** Key → value; a value set to null by an update stays null, as in Cinder. */
  specs: Record<string, string | null>;
  created_at: string;
  updated_at: string | null;
}

/** The limits a front end applies, as `os-initialize_connection` reports them (Cinder's `_parse_connection_options`). */
const TUNE_OPTIONS = ['read_iops_sec', 'read_bytes_sec', 'write_iops_sec', 'write_bytes_sec', 'total_iops_sec', 'total_bytes_sec'];

/** Python's `int()` of a spec string: digits with an optional sign and surrounding blanks; anything else is no number. */
function intOf(v: string | null | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\s*[-+]?\d+\s*$/.test(v)) return undefined;
  const n = Number(v.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * `connection_info.data.qos_specs` for a volume of `sizeGiB` whose type has `qos`: null unless the spec's consumer
 * is `front-end` or `both`; otherwise its keys, with every `<option>_per_gb` turned into `<option>` = per-GB
 * value × size, raised to `<option>_per_gb_min` and capped at `<option>_max` (both then dropped), as Cinder does.
 * A per-GB key whose numbers do not parse is passed through unchanged rather than failing the attach (Cinder
 * would answer 500 there).
 */
export function frontEndQos(qos: QosSpecs | undefined, sizeGiB: number): Record<string, string | number | null> | null {
  if (!qos || (qos.consumer !== 'front-end' && qos.consumer !== 'both')) return null;
  const out: Record<string, string | number | null> = {};
  for (const [k, v] of scaledSpecs(qos, sizeGiB)) setOwn(out, k, v);
  return out;
}

/** The spec's keys with the per-GB limits resolved for a volume of `sizeGiB` (see frontEndQos). */
function scaledSpecs(qos: QosSpecs, sizeGiB: number): Map<string, string | number | null> {
  const specs = new Map<string, string | number | null>(Object.entries(qos.specs));
  for (const option of TUNE_OPTIONS) {
    const perGbKey = `${option}_per_gb`;
    if (!specs.has(perGbKey)) continue;
    const perGb = intOf(qos.specs[perGbKey]);
    const min = qos.specs[`${option}_per_gb_min`] === undefined ? 0 : intOf(qos.specs[`${option}_per_gb_min`]);
    const rawMax = qos.specs[`${option}_max`];
    const max = rawMax === undefined ? undefined : intOf(rawMax);
    if (perGb === undefined || min === undefined || (rawMax !== undefined && max === undefined)) continue;
    const value = Math.max(min, perGb * sizeGiB);
    specs.set(option, max === undefined ? value : Math.min(value, max));
    specs.delete(perGbKey);
    specs.delete(`${option}_per_gb_min`);
    specs.delete(`${option}_max`);
  }
  return specs;
}

/** Bytes per second a backend's own data path may move for one volume; undefined: unlimited. */
export interface ByteRates {
  read?: number;
  write?: number;
  /** Reads and writes together. */
  total?: number;
}

/**
 * The byte limits of a `back-end` or `both` spec for a volume of `sizeGiB` (`read_bytes_sec`, `write_bytes_sec`,
 * `total_bytes_sec`, per-GB ones scaled as for the front end); null when the spec is not the backend's. A limit
 * that is not a positive integer is no limit.
 */
export function backEndByteRates(qos: QosSpecs | undefined, sizeGiB: number): ByteRates | null {
  if (!qos || (qos.consumer !== 'back-end' && qos.consumer !== 'both')) return null;
  const specs = scaledSpecs(qos, sizeGiB);
  const rate = (key: string): number | undefined => {
    const v = specs.get(key);
    const n = typeof v === 'number' ? v : intOf(v);
    return n !== undefined && n > 0 ? n : undefined;
  };
  const out: ByteRates = {};
  const read = rate('read_bytes_sec');
  const write = rate('write_bytes_sec');
  const total = rate('total_bytes_sec');
  if (read !== undefined) out.read = read;
  if (write !== undefined) out.write = write;
  if (total !== undefined) out.total = total;
  return Object.keys(out).length > 0 ? out : null;
}
