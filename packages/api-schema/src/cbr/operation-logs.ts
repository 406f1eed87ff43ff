import { type Static, Type } from 'typebox';
import { FreeObject, pageQuery, Query, QueryTime } from './common.js';

export const OPERATION_LOG_TYPES = ['backup', 'restore', 'delete', 'vault_delete', 'remove_resource', 'sync', 'replication'] as const;
export const OPERATION_LOG_STATUSES = ['success', 'skipped', 'failed', 'running', 'timeout', 'waiting'] as const;

export const OperationLogListQuery = Type.Object({
  ...pageQuery,
  /** Both repeatable: a log of any of the types (statuses) given. */
  operation_type: Query(Type.Enum(OPERATION_LOG_TYPES)),
  status: Query(Type.Enum(OPERATION_LOG_STATUSES)),
  provider_id: Query(Type.String()),
  resource_id: Query(Type.String()),
  resource_name: Query(Type.String()),
  vault_id: Query(Type.String()),
  vault_name: Query(Type.String()),
  start_time: Query(QueryTime),
  end_time: Query(QueryTime),
});

export const OperationLog = Type.Object({
  id: Type.String(),
  operation_type: Type.Enum(OPERATION_LOG_TYPES),
  status: Type.Enum(OPERATION_LOG_STATUSES),
  checkpoint_id: Type.String(),
  policy_id: Type.String(),
  project_id: Type.String(),
  provider_id: Type.String(),
  vault_id: Type.String(),
  vault_name: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  started_at: Type.Union([Type.String(), Type.Null()]),
  ended_at: Type.Union([Type.String(), Type.Null()]),
  error_info: Type.Object({ code: Type.String(), message: Type.String() }),
  /** Keyed by what the operation did: backup, common, delete, remove_resources, resource, restore, replication, … */
  extra_info: FreeObject,
});
export type OperationLog = Static<typeof OperationLog>;

export const OperationLogBody = Type.Object({ operation_log: OperationLog });
export const OperationLogList = Type.Object({
  operation_logs: Type.Array(OperationLog),
  count: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
