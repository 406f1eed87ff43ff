/**
 * The console's repository routes and event stream (cinderbox extensions, issue #20): request and response
 * bodies. `…/cinderbox-events` answers `text/event-stream`, which has no JSON body to describe.
 */
import { Type } from 'typebox';

const Iso = Type.String({ description: 'ISO 8601 time' });
const Count = Type.Integer({ minimum: 0 });
const TargetName = Type.String({ minLength: 1, maxLength: 63 });

export const repoJobCreate = Type.Object(
  {
    job: Type.Object(
      {
        kind: Type.Union([Type.Literal('verify'), Type.Literal('gc')]),
        target: Type.Optional(TargetName),
        full: Type.Optional(Type.Boolean({ description: 'verify only: read and hash every chunk' })),
        dry_run: Type.Optional(Type.Boolean({ description: 'gc only' })),
        grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 31536000, description: 'gc only' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const RepoTargetQuery = Type.Object({ target: Type.Optional(TargetName) });
export const RepoHistoryQuery = Type.Object({ target: Type.Optional(TargetName), since: Type.Optional(Iso) });
export const EventsQuery = Type.Object({
  all_tenants: Type.Optional(Type.String()),
  token: Type.Optional(Type.String({ description: 'this route only: the token, for EventSource clients that cannot send X-Auth-Token' })),
});

export const RepoStatsBody = Type.Object({
  repository: Type.Object({
    target: Type.String(),
    driver: Type.String(),
    logical_bytes: Count,
    stored_bytes: Count,
    chunk_count: Count,
    backup_count: Count,
    last_verify: Type.Union([
      Type.Null(),
      Type.Object({ at: Iso, ok: Type.Boolean(), full: Type.Boolean(), checked: Count, errors: Count, message: Type.Union([Type.String(), Type.Null()]) }),
    ]),
    last_gc: Type.Union([Type.Null(), Type.Object({ at: Iso, removed_chunks: Count, freed_bytes: Count })]),
  }),
});

export const RepoHistoryBody = Type.Object({
  samples: Type.Array(Type.Object({ at: Iso, logical_bytes: Count, stored_bytes: Count, chunk_count: Count })),
  backups: Type.Array(
    Type.Object({ id: Type.String(), finished_at: Iso, size_bytes: Count, seconds: Type.Number(), bytes_per_second: Type.Number() }),
  ),
});

export const RepoJob = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('verify'), Type.Literal('gc')]),
  target: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
  progress: Type.Number({ minimum: 0, maximum: 100 }),
  started_at: Iso,
  finished_at: Type.Union([Iso, Type.Null()]),
  result: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});
