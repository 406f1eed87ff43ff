/**
 * Codecs for nested JSON objects (CBR's `parameters`, `billing`, `vault.resources`…): attribute names on the
 * TypeScript side, the API's JSON names on the wire, unknown keys kept.
 * @packageDocumentation
 */
import { isRecord } from '../util/objects.js';
import { snakeCase } from './field.js';

/** One nested key: its wire name, other wire names accepted on read, and a codec for its own value. */
export interface NestedKey {
  wire: string;
  /** Wire names also accepted on read (an SDK's historical mistakes, e.g. `resource` for `resources`). */
  aliases?: readonly string[];
  /** Codec of the value (an object) or of each element (an array). */
  of?: NestedSchema;
}

/** Attribute name → key description (a string is the wire name). */
export type NestedSchema = Readonly<Record<string, string | NestedKey>>;

const norm = (k: string | NestedKey): NestedKey => (typeof k === 'string' ? { wire: k } : k);

function lookup(schema: NestedSchema): Map<string, [string, NestedKey]> {
  const m = new Map<string, [string, NestedKey]>();
  for (const [attr, raw] of Object.entries(schema)) {
    const key = norm(raw);
    for (const name of [attr, snakeCase(attr), key.wire, ...(key.aliases ?? [])]) m.set(name, [attr, key]);
  }
  return m;
}

function each(value: unknown, f: (v: unknown) => unknown): unknown {
  return Array.isArray(value) ? value.map(f) : f(value);
}

/**
 * Converts input using attribute, snake_case or wire names into wire JSON (recursively).
 *
 * @example
 * ```ts
 * encodeNested({ resourceType: 'type' }, { resourceType: 'OS::Cinder::Volume' }); // { type: 'OS::Cinder::Volume' }
 * ```
 */
export function encodeNested(schema: NestedSchema, value: unknown): unknown {
  if (!isRecord(value)) return value;
  const names = lookup(schema);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const hit = names.get(k);
    if (!hit) {
      out[k] = v;
      continue;
    }
    const [, key] = hit;
    out[key.wire] = key.of ? each(v, (x) => encodeNested(key.of as NestedSchema, x)) : v;
  }
  return out;
}

/**
 * Converts wire JSON (or aliases) into attribute names (recursively); unknown keys are kept as they are.
 *
 * @example
 * ```ts
 * decodeNested({ resourceType: 'type' }, { type: 'OS::Cinder::Volume' }); // { resourceType: 'OS::Cinder::Volume' }
 * ```
 */
export function decodeNested(schema: NestedSchema, value: unknown): unknown {
  if (!isRecord(value)) return value;
  const byWire = new Map<string, [string, NestedKey]>();
  for (const [attr, raw] of Object.entries(schema)) {
    const key = norm(raw);
    for (const name of [key.wire, ...(key.aliases ?? [])]) byWire.set(name, [attr, key]);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const hit = byWire.get(k);
    if (!hit) {
      out[k] = v;
      continue;
    }
    const [attr, key] = hit;
    if (k !== key.wire && key.wire in value) continue;
    out[attr] = key.of && v !== null ? each(v, (x) => decodeNested(key.of as NestedSchema, x)) : v;
  }
  return out;
}

/**
 * A field codec for a nested object or array of objects.
 *
 * @example
 * ```ts
 * const parameters: FieldDef = { wire: 'parameters', type: 'object', codec: nestedCodec(PARAMETERS) };
 * ```
 */
export function nestedCodec(schema: NestedSchema): { encode(v: unknown): unknown; decode(v: unknown): unknown } {
  return {
    encode: (v) => each(v, (x) => encodeNested(schema, x)),
    decode: (v) => each(v, (x) => decodeNested(schema, x)),
  };
}

/** An object type itself (each member of a union), or the element of an array of them; null and undefined removed. */
type ObjectOf<T> = ElementOf<NonNullable<T>>;
type ElementOf<T> = T extends readonly (infer E)[] ? NonNullable<E> : T;

/**
 * A nested schema whose wire names are keys of the contract's type for that object (or, for an array, its
 * elements), or one of `Extra`. Applied with `satisfies`, so a wire name the contract does not know fails the build.
 *
 * @example
 * ```ts
 * const EXTRA_INFO: NestedSchema = { retentionDuration: 'retention_duration' } satisfies ContractNested<Checkpoint['extra_info']>;
 * ```
 */
export type ContractNested<Body, Extra extends string = never> = Readonly<
  Record<string, Extract<keyof ObjectOf<Body>, string> | Extra | (NestedKey & { wire: Extract<keyof ObjectOf<Body>, string> | Extra })>
>;
