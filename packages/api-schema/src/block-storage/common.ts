/**
 * Building blocks of the Block Storage schemas. Cinder's jsonschema often allows a value or null
 * (`{"type": ["string", "null"]}`); TypeBox would spell that as an `anyOf`, whose ajv errors read differently
 * from the type-list form the server's 400 texts were written against, so the type list is kept as-is.
 */
import { Type, type Static, type TSchema, type TUnsafe } from 'typebox';
import type { VersionRange } from '../operation.js';

/** Schema extension naming the microversions a field or rule applies to (also emitted in the OpenAPI documents). */
export const MICROVERSION_KEYWORD = 'x-openstack-microversion';

/** `schema`, or null: the same keywords with `null` added to its `type`. */
export function nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const s = schema as unknown as { type?: string | string[] };
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [...types, 'null'] });
}

/** Marks a field or schema as applying from (or up to) a microversion: `since('3.43', metadata)`. */
export function since<T extends TSchema>(min: string, schema: T): T {
  return withVersions({ min }, schema);
}

export function withVersions<T extends TSchema>(versions: VersionRange, schema: T): T {
  return { ...schema, [MICROVERSION_KEYWORD]: versions } as T;
}

/** Names: no control characters and no lone surrogates (they cannot be stored as UTF-8 and would come back changed). */
export const NAME_PATTERN = '^[^\\p{Cc}\\p{Cs}]*$';
/** Cinder's `parameter_types.description`: printable characters only (no category C, no line/paragraph separators). */
export const DESCRIPTION_PATTERN = '^[^\\p{C}\\p{Zl}\\p{Zp}]*$';
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** Cinder's `parameter_types.uuid` as its attachments/groups/transfers schemas use it: hyphens optional. */
export const LOOSE_UUID_PATTERN = '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$';
export const METADATA_KEY_PATTERN = '^[a-zA-Z0-9\\-_:. /]{1,255}$';

export const nullableString = (max = 255) => nullable(Type.String({ maxLength: max }));
export const uuid = () => Type.String({ pattern: UUID_PATTERN });
export const optionalUuid = () => nullable(uuid());
export const name = () => nullable(Type.String({ maxLength: 255, pattern: NAME_PATTERN }));
export const description = () => nullable(Type.String({ maxLength: 255, pattern: DESCRIPTION_PATTERN }));
/** Cinder's `parameter_types.boolean` as the older schemas spell it: a boolean or a string `bool_from_string` reads. */
export const boolish = () => Type.Unsafe<boolean | string>({ type: ['boolean', 'string'] });
/** Cinder's `parameter_types.boolean` with its enum of accepted strings. */
export const strictBoolean = () =>
  Type.Unsafe<boolean | string>({
    type: ['boolean', 'string'],
    enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't',
      false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'],
  });

/** Key/value metadata: keys of Cinder's metadata pattern, values up to 255 characters. */
export const metadata = () =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    patternProperties: { [METADATA_KEY_PATTERN]: { type: 'string', maxLength: 255 } },
    additionalProperties: false,
  });
export const metadataAllowsNull = () => nullable(metadata());

/** A volume size: an integer, or a string of digits (Cinder's `parameter_types.volume_size`). */
export const volumeSize = () =>
  Type.Unsafe<number | string | null>({ type: ['integer', 'string', 'null'], pattern: '^[0-9]+$', minimum: 1, maximum: 2147483647 });

/** Any JSON object (bodies and responses not yet described field by field). */
export const looseObject = (title?: string) => Type.Object({}, { additionalProperties: true, ...(title ? { title } : {}) });

/** `{ [key]: inner }`, the only key, required: Cinder's request envelope. */
export function envelope<K extends string, T extends TSchema>(key: K, inner: T) {
  return Type.Object({ [key]: inner } as { [P in K]: T }, { additionalProperties: false });
}

/** `schema` titled (for the documents' components) unless it has a title; validation ignores titles. */
export function titled<T extends TSchema>(title: string, schema: T): T {
  return (schema as { title?: unknown }).title === undefined ? ({ ...schema, title } as T) : schema;
}

/** `volumeCreate` → `VolumeCreate`. */
export const pascal = (id: string): string => id.charAt(0).toUpperCase() + id.slice(1);

/** A body schema that applies over a range of microversions (Cinder's `@validation.schema(…, min, max)`). */
export interface VersionedBody {
  versions: VersionRange;
  schema: TSchema;
}
