import type { CbrBackup, Checkpoint, Member, OperationLog, Policy, Vault, VaultResource } from '../../domain/cbr.js';
import type {
  CbrBackupTable,
  CbrCheckpointTable,
  CbrMemberTable,
  CbrOperationLogTable,
  CbrPolicyTable,
  CbrVaultResourceTable,
  CbrVaultTable,
} from '../schema.js';

/** Row ↔ record mappings of the CBR tables: 0/1 flags ↔ booleans, JSON text ↔ values, bigint text ↔ numbers. */

export function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

const flag = (b: boolean): number => (b ? 1 : 0);

/** Copies the defined keys of `changes` through `map` per key, so partial updates stay partial. */
function mapPartial<R extends object>(changes: Partial<R>, map: { [K in keyof R]?: (v: any) => unknown }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) continue;
    const f = map[k as keyof R];
    out[k] = f ? f(v) : v;
  }
  return out;
}

export function vaultOf(r: CbrVaultTable): Vault {
  return {
    ...r,
    size: Number(r.size),
    threshold: Number(r.threshold),
    auto_bind: r.auto_bind === 1,
    bind_rules: parseJson<Record<string, unknown>>(r.bind_rules, {}),
    auto_expand: r.auto_expand === 1,
    locked: r.locked === 1,
    smn_notify: r.smn_notify === 1,
    lock_days: r.lock_days === null || r.lock_days === undefined ? null : Number(r.lock_days),
  };
}

const vaultMap = {
  auto_bind: flag,
  auto_expand: flag,
  locked: flag,
  smn_notify: flag,
  bind_rules: (v: unknown) => JSON.stringify(v),
};

export function vaultRow(v: Partial<Vault>): Partial<CbrVaultTable> {
  return mapPartial(v, vaultMap) as Partial<CbrVaultTable>;
}

export function resourceOf(r: CbrVaultResourceTable): VaultResource {
  return { ...r, extra_info: parseJson<Record<string, unknown>>(r.extra_info, {}) };
}

export function resourceRow(r: VaultResource): CbrVaultResourceTable {
  return { ...r, extra_info: JSON.stringify(r.extra_info) };
}

export function policyOf(r: CbrPolicyTable): Policy {
  return {
    ...r,
    enabled: r.enabled === 1,
    operation_definition: parseJson<Record<string, unknown>>(r.operation_definition, {}),
    patterns: parseJson<string[]>(r.patterns, []),
  };
}

export function policyRow(p: Partial<Policy>): Partial<CbrPolicyTable> {
  return mapPartial(p, {
    enabled: flag,
    operation_definition: (v: unknown) => JSON.stringify(v),
    patterns: (v: unknown) => JSON.stringify(v),
  }) as Partial<CbrPolicyTable>;
}

export function checkpointOf(r: CbrCheckpointTable): Checkpoint {
  return {
    ...r,
    incremental: r.incremental === 1,
    auto_trigger: r.auto_trigger === 1,
    retention_duration: Number(r.retention_duration),
    skipped: parseJson(r.skipped, []),
  };
}

export function checkpointRow(c: Partial<Checkpoint>): Partial<CbrCheckpointTable> {
  return mapPartial(c, { incremental: flag, auto_trigger: flag, skipped: (v: unknown) => JSON.stringify(v) }) as Partial<CbrCheckpointTable>;
}

export function backupOf(r: CbrBackupTable): CbrBackup {
  return {
    ...r,
    resource_size: Number(r.resource_size),
    auto_trigger: r.auto_trigger === 1,
    incremental: r.incremental === 1,
    bootable: r.bootable === 1,
    stored_bytes: Number(r.stored_bytes),
    data_bytes: Number(r.data_bytes),
    new_chunks: Number(r.new_chunks),
    progress: Number(r.progress),
    cbt_base_id: r.cbt_base_id ?? null,
    cbt_base_usable: Number(r.cbt_base_usable) === 1,
    locked_until: r.locked_until ?? null,
  };
}

export function backupRow(b: Partial<CbrBackup>): Partial<CbrBackupTable> {
  return mapPartial(b, { auto_trigger: flag, incremental: flag, bootable: flag, cbt_base_usable: flag }) as Partial<CbrBackupTable>;
}

export function memberOf(r: CbrMemberTable): Member {
  return { ...r };
}

export function operationLogOf(r: CbrOperationLogTable): OperationLog {
  return { ...r, extra_info: parseJson<Record<string, any>>(r.extra_info, {}) };
}

export function operationLogRow(l: Partial<OperationLog>): Partial<CbrOperationLogTable> {
  return mapPartial(l, { extra_info: (v: unknown) => JSON.stringify(v) }) as Partial<CbrOperationLogTable>;
}
