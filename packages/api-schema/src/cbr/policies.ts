import { type Static, Type } from 'typebox';
import { code, Nullable, Query, Text, WORD_NAME } from './common.js';

export const OPERATION_TYPES = ['backup', 'replication'] as const;
/** Most trigger patterns one policy takes. */
export const MAX_TRIGGER_PATTERNS = 24;

/** -1 (no limit) or 1-99999. */
const Limit = Type.Union([Type.Literal(-1), Type.Integer({ minimum: 1, maximum: 99_999 })], { description: '-1 (no limit) or 1-99999' });
const LongTerm = Type.Integer({ minimum: 0, maximum: 100, description: '0-100' });

/**
 * Retention (and, for replication policies, where copies go). Cross-field rules — a timezone with any long-term
 * count, retention_duration_days alone — are the service's: an update is checked merged with what is stored.
 */
export const OperationDefinition = Type.Object({
  max_backups: Type.Optional(Limit),
  retention_duration_days: Type.Optional(Limit),
  day_backups: Type.Optional(LongTerm),
  week_backups: Type.Optional(LongTerm),
  month_backups: Type.Optional(LongTerm),
  year_backups: Type.Optional(LongTerm),
  timezone: Type.Optional(Nullable(Type.String({ pattern: '^UTC[+-](0[0-9]|1[0-4]):[0-5][0-9]$', description: 'like UTC+08:00' }))),
  destination_region: Type.Optional(Text(1, 255)),
  destination_project_id: Type.Optional(Text(1, 255)),
});

/** RRULE subset (FREQ, BYDAY, BYHOUR, BYMINUTE, INTERVAL) in UTC; the grammar and spacing are checked by the service. */
export const Trigger = Type.Object({
  properties: Type.Object({
    pattern: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
      minItems: 1,
      maxItems: MAX_TRIGGER_PATTERNS,
      description: `1-${MAX_TRIGGER_PATTERNS} rules like FREQ=DAILY;INTERVAL=1;BYHOUR=6;BYMINUTE=00`,
    }),
    start_time: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  }),
});

const PolicyName = Type.String({ pattern: WORD_NAME, description: '1-64 letters, digits, underscores or hyphens' });

export const PolicyCreate = Type.Object({
  name: PolicyName,
  /** An unknown policy type is 6117. */
  operation_type: Type.Enum(OPERATION_TYPES, code('6117')),
  enabled: Type.Optional(Type.Boolean()),
  operation_definition: OperationDefinition,
  trigger: Trigger,
});
export type PolicyCreate = Static<typeof PolicyCreate>;

export const PolicyUpdate = Type.Object({
  name: Type.Optional(PolicyName),
  enabled: Type.Optional(Type.Boolean()),
  operation_definition: Type.Optional(OperationDefinition),
  trigger: Type.Optional(Trigger),
  operation_type: Type.Optional(Type.Never({ description: "left out (a policy's type cannot change)" })),
});
export type PolicyUpdate = Static<typeof PolicyUpdate>;

export const PolicyCreateBody = Type.Object({ policy: PolicyCreate });
export const PolicyUpdateBody = Type.Object({ policy: PolicyUpdate });

export const PolicyListQuery = Type.Object({
  operation_type: Query(Type.Enum(OPERATION_TYPES)),
  vault_id: Query(Type.String()),
});

// --- responses ---

export const OperationDefinitionView = Type.Object({
  max_backups: Type.Integer(),
  retention_duration_days: Type.Integer(),
  day_backups: Type.Integer(),
  week_backups: Type.Integer(),
  month_backups: Type.Integer(),
  year_backups: Type.Integer(),
  timezone: Type.Optional(Type.String()),
  destination_region: Type.Optional(Type.String()),
  destination_project_id: Type.Optional(Type.String()),
});

export const Policy = Type.Object({
  id: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  operation_type: Type.Enum(OPERATION_TYPES),
  operation_definition: OperationDefinitionView,
  trigger: Type.Object({
    id: Type.String(),
    name: Type.String(),
    type: Type.Enum(['time']),
    properties: Type.Object({ pattern: Type.Array(Type.String()), start_time: Type.String() }),
  }),
  associated_vaults: Type.Array(Type.Object({ vault_id: Type.String(), destination_vault_id: Type.String() })),
});
export type Policy = Static<typeof Policy>;

export const PolicyBody = Type.Object({ policy: Policy });
export const PolicyList = Type.Object({ policies: Type.Array(Policy), count: Type.Integer() });
