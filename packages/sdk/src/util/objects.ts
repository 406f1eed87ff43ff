/**
 * Small object helpers.
 * @packageDocumentation
 */

/** True for a plain (non-array, non-null) object. @example `isRecord({}) // true` */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The string-valued entries of an object (specs, metadata); anything else gives `{}`. @example `stringEntries({ a: 'x', b: 1 }) // { a: 'x' }` */
export function stringEntries(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Recursively merges `override` into `base` (objects merge, everything else replaces). Returns a new object.
 *
 * @example
 * ```ts
 * deepMerge({ a: { b: 1 } }, { a: { c: 2 } }); // { a: { b: 1, c: 2 } }
 * ```
 */
export function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const prev = out[key];
    out[key] = isRecord(prev) && isRecord(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

/** Drops keys whose value is undefined. @example `compact({ a: 1, b: undefined }) // { a: 1 }` */
export function compact<T extends Record<string, unknown>>(obj: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** True when the value looks like a UUID (with or without dashes). @example `looksLikeUuid('abc') // false` */
export function looksLikeUuid(value: string): boolean {
  return UUID_RE.test(value);
}
