import { type TSchema, Type } from 'typebox';

/**
 * The `BackupService.NNNN` code a violation of this schema node answers with (CBR's generic parameter code, 9900,
 * when no node on the way names one). A string applies to every keyword of the node and to its absence when it is
 * a required property; a record names the code per JSON Schema keyword (`{ uniqueItems: '6104' }`), and its
 * `required` entry applies to the node's absence. The server's validator reads it; OpenAPI readers ignore `x-` keys.
 */
export const CBR_ERROR_CODE = 'x-cbr-error-code';

/** CBR's generic "parameter verification failed" code, for every violation without a more specific one. */
export const CBR_INVALID_CODE = '9900';

export type CbrErrorCodes = string | Partial<Record<string, string>>;

/** Options carrying the code a violation answers with (see {@link CBR_ERROR_CODE}). */
export function code(c: CbrErrorCodes): Record<string, unknown> {
  return { [CBR_ERROR_CODE]: c };
}

/**
 * No control characters and no lone surrogates: they do not survive storage unchanged (PostgreSQL refuses NUL),
 * so a name holding one would come back different.
 */
export const PRINTABLE = '^[^\\p{Cc}\\p{Cs}]*$';

/** Free text of `min`-`max` characters without control characters. */
export function Text(min: number, max: number, options: Record<string, unknown> = {}) {
  return Type.String({ minLength: min, maxLength: max, pattern: PRINTABLE, description: `${min}-${max} characters, no control characters`, ...options });
}

/** Names of policies and backups: letters, digits, `_` and `-`. */
export const WORD_NAME = '^[\\p{L}\\p{N}_-]{1,64}$';

/** `T` or JSON null: openstacksdk sends null for attributes a caller left unset. */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** Tag key: 1-36 letters, digits, `_` or `-`. */
export const TAG_KEY = '^[\\p{L}\\p{N}_-]{1,36}$';
/** Tag value: at most 43 characters, none of ASCII 0-31 or `=*<>\,|/`. */
export const TAG_VALUE = '^[^\\u0000-\\u001f=*<>\\\\,|/]{0,43}$';

export const Tag = Type.Object(
  {
    key: Type.String({ pattern: TAG_KEY, description: '1-36 letters, digits, underscores or hyphens' }),
    value: Type.Optional(Nullable(Type.String({ pattern: TAG_VALUE, description: 'at most 43 characters, none of =*<>\\,|/ or control characters' }))),
  },
  { description: 'A resource tag.' },
);

/** A tag as responses show it: the value is always a string (empty when none was given). */
export const TagView = Type.Object({ key: Type.String(), value: Type.String() });

// --- query strings: every value arrives as text, and a repeated key as a list of them ---

/** A query parameter: one value, or several when the key is repeated (all must match `schema`). */
export function Query<T extends TSchema>(schema: T) {
  return Type.Optional(Type.Union([schema, Type.Array(schema)]));
}

/** Page parameters every CBR list takes (`marker` is exclusive: the id of the last item already seen). */
export const pageQuery = {
  limit: Query(Type.String({ pattern: '^(|1000|[1-9][0-9]{0,2})$', description: 'an integer 1-1000' })),
  offset: Query(Type.String({ pattern: '^[0-9]{0,15}$', description: 'a non-negative integer' })),
  marker: Query(Type.String({ maxLength: 255 })),
};

/** Times in query filters: `YYYY-MM-DDTHH:MM:SS[.ffffff][Z]`. */
export const QueryTime = Type.String({
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-]00:00)?$',
  description: 'a time like 2024-01-31T12:00:00Z',
});

/** A comma-separated list of `values` (a filter that takes several at once). */
export function commaList(values: readonly string[]): string {
  const one = `(${values.join('|')})`;
  return `^${one}(,${one})*$`;
}

export const RESOURCE_TYPES = ['OS::Nova::Server', 'OS::Cinder::Volume', 'OS::Sfs::Turbo'] as const;

/** Provider ids by object type (the response's `provider_id`). */
export const PROVIDER_IDS = {
  server: '0daac4c5-6707-4851-97ba-169e36266b66',
  disk: 'd1603440-187d-4516-af25-121250c7cc97',
  turbo: '3f3c3220-245c-4805-b811-758870015881',
} as const;

/** CBR's error body: `{"error_code": "BackupService.6105", "error_msg": "…"}`. */
export const CbrErrorBody = Type.Object({ error_code: Type.String(), error_msg: Type.String() });

/** A JSON object whose keys are not fixed by the contract. */
export const FreeObject = Type.Record(Type.String(), Type.Unknown());
