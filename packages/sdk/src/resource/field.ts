/**
 * Field definitions: attribute name ↔ wire name, type conversion, microversion gates.
 * @packageDocumentation
 */

/** Value types a field converts to on read. @example `const t: FieldType = 'boolean'` */
export type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'any';

/**
 * One field of a resource.
 *
 * @example
 * ```ts
 * const progress: FieldDef = { wire: 'os-extended-snapshot-attributes:progress', type: 'string', readOnly: true };
 * ```
 */
export interface FieldDef {
  /** Server (JSON) name. */
  wire: string;
  /** Conversion on read; default `any`. */
  type?: FieldType;
  /** Name used in create requests when it differs (Backup `is_incremental` → `incremental`). */
  createWire?: string;
  /** Minimum microversion needed to send this field. */
  minMicroversion?: string;
  /** Never sent to the server. */
  readOnly?: boolean;
  /** Sent but never kept: forgotten once the server has answered (passwords). */
  writeOnly?: boolean;
  /** Nested-object codec: `encode` turns input (attribute or wire names) into wire JSON, `decode` the reverse. */
  codec?: { encode(value: unknown): unknown; decode(value: unknown): unknown };
}

/** Attribute name → definition. */
export type FieldMap = Readonly<Record<string, FieldDef>>;

/**
 * Decodes a wire value for a field. Lenient booleans (`"true"`/`"False"`) become booleans and
 * numeric strings numbers; values that cannot be converted yield `{ ok: false }` (the caller keeps
 * the raw value and records a decode issue instead of inventing `0` or `{}`).
 *
 * @example
 * ```ts
 * decodeValue({ wire: 'force', type: 'boolean' }, 'True'); // { ok: true, value: true }
 * ```
 */
export function decodeValue(def: FieldDef, value: unknown): { ok: true; value: unknown } | { ok: false } {
  if (value === undefined || value === null) return { ok: true, value: undefined };
  switch (def.type ?? 'any') {
    case 'string':
      return typeof value === 'string' || typeof value === 'number'
        ? { ok: true, value: String(value) }
        : { ok: false };
    case 'integer':
    case 'number': {
      const n =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && value.trim() !== ''
            ? Number(value)
            : Number.NaN;
      if (Number.isNaN(n)) return { ok: false };
      return { ok: true, value: def.type === 'integer' ? Math.trunc(n) : n };
    }
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (typeof value === 'string' && /^(true|false)$/i.test(value))
        return { ok: true, value: value.toLowerCase() === 'true' };
      return { ok: false };
    case 'object':
      return typeof value === 'object' && !Array.isArray(value) ? { ok: true, value } : { ok: false };
    case 'array':
      return Array.isArray(value) ? { ok: true, value } : { ok: false };
    default:
      return { ok: true, value };
  }
}

/** camelCase → snake_case. @example `snakeCase('isForced') // 'is_forced'` */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Parses a progress value (`"45%"`, `45`, `"45"`) into a number; undefined when absent or invalid.
 *
 * @example
 * ```ts
 * parseProgress('45%'); // 45
 * ```
 */
export function parseProgress(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  return m ? Number(m[1]) : undefined;
}

/** The string keys of a contract body type. */
export type WireKey<Body> = Extract<keyof Body, string>;

/**
 * A field map whose wire names are keys of the contract's response body (`Static<>` of a schema in
 * `@cinderbox/api-schema`) or one of `Extra`, the request-only names the body never shows, and whose `type` fits
 * the contract's type of that key. Declared with `satisfies`, so a wire name the contract does not know (a field
 * renamed on either side) or a changed value type fails the build.
 *
 * @example
 * ```ts
 * const fields = { size: { wire: 'size', type: 'integer' } } as const satisfies ContractFields<VolumeBody>;
 * ```
 */
export type ContractFields<Body, Extra extends string = never> = Readonly<
  Record<string, { [K in WireKey<Body>]: FieldDef & { wire: K; type?: FieldTypeFor<Body[K]> } }[WireKey<Body>] | (FieldDef & { wire: Extra })>
>;

/**
 * The field types that may decode a contract value of type `T`: its JSON kind, `boolean` for Cinder's
 * `"true"`/`"false"` strings, or `any`. A key the contract only ever shows as null says nothing of its type.
 */
export type FieldTypeFor<T> = [NonNullable<T>] extends [never] ? FieldType : 'any' | KindOf<NonNullable<T>>;

/** The field types of one non-null contract type (distributed over a union). */
type KindOf<V> = V extends 'true' | 'false'
  ? 'boolean' | 'string'
  : V extends string
    ? 'string'
    : V extends number
      ? 'integer' | 'number'
      : V extends boolean
        ? 'boolean'
        : V extends readonly unknown[]
          ? 'array'
          : V extends object
            ? 'object'
            : never;

/** The base resource's `id` and `name`, typed narrowly so resources checked against a contract can include them. */
export const BASE_FIELDS = {
  id: { wire: 'id', type: 'string', readOnly: true },
  name: { wire: 'name', type: 'string' },
} as const satisfies FieldMap;

/**
 * A decoded JSON object whose keys are the contract's (values still unknown, checked where read): reading a key
 * the contract does not have fails the build.
 *
 * @example
 * ```ts
 * const r = wireRecord<HostBody>(json);
 * r['service-status']; // unknown
 * ```
 */
export type WireRecord<Body> = { readonly [K in keyof Body]?: unknown };

/** `value` as a {@link WireRecord} of `Body` (an empty one when it is not an object). */
export function wireRecord<Body>(value: unknown): WireRecord<Body> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as WireRecord<Body>) : {};
}
