import { lifecycle } from './lifecycle.js';

/**
 * CBR's records and lifecycles. Field names are the stored column names (the API's own vocabulary, so views
 * map one to one); flags are booleans and JSON columns parsed values.
 */

export interface Vault {
  id: string;
  project_id: string;
  user_id: string;
  name: string;
  description: string;
  status: string;
  object_type: string;
  protect_type: string;
  consistent_level: string;
  cloud_type: string;
  charging_mode: string;
  /** Capacity in GB. */
  size: number;
  auto_bind: boolean;
  bind_rules: Record<string, unknown>;
  auto_expand: boolean;
  locked: boolean;
  smn_notify: boolean;
  threshold: number;
  created_at: string;
  updated_at: string | null;
  /** cinderbox extension: the backup target this vault's backups go to (fixed at creation). */
  backup_target: string;
  /** cinderbox extension: days of retention each new backup of the vault gets (null = none); see immutability.ts. */
  lock_days: number | null;
}

export interface VaultTag {
  key: string;
  value: string;
}

export interface VaultResource {
  resource_id: string;
  vault_id: string;
  project_id: string;
  type: string;
  name: string;
  extra_info: Record<string, unknown>;
  protect_status: string;
  created_at: string;
}

export interface Policy {
  id: string;
  project_id: string;
  name: string;
  operation_type: string;
  enabled: boolean;
  /** The validated retention rules as stored (see services/cbr/retention.ts). */
  operation_definition: Record<string, unknown>;
  trigger_id: string;
  patterns: string[];
  start_time: string;
  created_at: string;
  updated_at: string | null;
}

export interface PolicyBinding {
  vault_id: string;
  policy_id: string;
  project_id: string;
  operation_type: string;
  /** The next trigger time not yet run (stored time); null when the policy has no future run. */
  next_run_at: string | null;
  created_at: string;
  /** A replication policy's binding: the vault in the policy's destination region that runs copy to. */
  destination_vault_id?: string | null;
}

/** A resource a checkpoint could not back up, and why (a `BackupService.NNNN` code). */
export interface SkippedResource {
  id: string;
  type: string;
  name: string;
  code: string;
  reason: string;
}

export interface Checkpoint {
  id: string;
  project_id: string;
  vault_id: string;
  status: string;
  name: string;
  description: string;
  incremental: boolean;
  auto_trigger: boolean;
  policy_id: string | null;
  retention_duration: number;
  skipped: SkippedResource[];
  created_at: string;
  updated_at: string | null;
}

export interface CbrBackup {
  id: string;
  project_id: string;
  vault_id: string;
  checkpoint_id: string;
  policy_id: string | null;
  name: string;
  description: string;
  resource_id: string;
  resource_name: string;
  resource_type: string;
  resource_az: string;
  /** GB of the disk when it was backed up. */
  resource_size: number;
  image_type: string;
  status: string;
  auto_trigger: boolean;
  incremental: boolean;
  bootable: boolean;
  driver: string;
  /** The hidden driver snapshot the backup reads; kept afterwards as its base (cbt_base_id). */
  snapshot_id: string;
  parent_locator: string | null;
  locator: string | null;
  stored_bytes: number;
  data_bytes: number;
  new_chunks: number;
  progress: number;
  fail_code: string | null;
  fail_reason: string | null;
  expired_at: string | null;
  protected_at: string | null;
  created_at: string;
  updated_at: string | null;
  /**
   * The changed-block tracking base the backup keeps: its hidden snapshot, named from the request on (so failure
   * and crash paths know what to remove) and null once removed; one per disk and vault is kept.
   */
  cbt_base_id: string | null;
  /** The base may be compared against: from the commit until its removal starts. */
  cbt_base_usable: boolean;
  /** The backup target holding its manifest and chunks (its vault's when it was made). */
  backup_target: string;
  /** cinderbox extension: end of its retention (stored time; null = not locked); no API deletes it before. */
  locked_until: string | null;
  /** Set on a replica (image_type `replication`): the copy's record and the backup it was copied from. */
  replication_record_id?: string | null;
  source_backup_id?: string | null;
  source_project_id?: string | null;
  source_vault_id?: string | null;
  source_checkpoint_id?: string | null;
  source_region?: string | null;
  destination_region?: string | null;
}

/** A backup's share with another project. */
export interface Member {
  id: string;
  backup_id: string;
  project_id: string;
  dest_project_id: string;
  status: string;
  vault_id: string | null;
  image_id: string | null;
  created_at: string;
  updated_at: string | null;
}

/** One operation log ("task") entry. */
export interface OperationLog {
  id: string;
  project_id: string;
  operation_type: string;
  status: string;
  checkpoint_id: string | null;
  policy_id: string | null;
  vault_id: string | null;
  vault_name: string | null;
  provider_id: string;
  resource_id: string | null;
  resource_name: string | null;
  error_code: string;
  error_message: string;
  extra_info: Record<string, any>;
  started_at: string | null;
  ended_at: string | null;
  created_at: string;
  updated_at: string | null;
}

const code = (n: string) => `BackupService.${n}`;

// --- lifecycles: which action each status allows, and what CBR answers when it does not ---

export const vaultLifecycle = lifecycle(['available', 'deleting', 'error'], {
  update: {
    from: ['available'],
    refuse: 'badRequest',
    code: code('6110'),
    message: (s) => `Vault ${s.id} cannot be updated in status ${s.status}.`,
  },
  delete: {
    from: ['available', 'error'],
    to: 'deleting',
    refuse: 'badRequest',
    code: code('6111'),
    message: (s) => `Vault ${s.id} cannot be deleted in status ${s.status}.`,
  },
  /** Adding resources, binding a policy, receiving migrated resources. */
  modify: {
    from: ['available'],
    refuse: 'badRequest',
    code: code('6112'),
    message: (s) => `Vault ${s.id} is ${s.status}.`,
  },
  backup: {
    from: ['available'],
    refuse: 'badRequest',
    code: code('6113'),
    message: (s) => `Vault ${s.id} is ${s.status}: no backup can be made in it.`,
  },
  restoreFrom: {
    from: ['available'],
    refuse: 'badRequest',
    code: code('6202'),
    message: () => "The backup's vault is not available.",
  },
  /** The vault-delete task gave up: the vault stays, in error, for another try. */
  deleteFailed: {
    from: ['deleting'],
    to: 'error',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Vault ${s.id} is ${s.status}, not deleting.`,
  },
});

export const checkpointLifecycle = lifecycle(['protecting', 'available', 'error'], {
  /** Its backups are done and at least one is usable. */
  complete: {
    from: ['protecting'],
    to: 'available',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Restore point ${s.id} is ${s.status}, not protecting.`,
  },
  /** Its backups are done and none is usable. */
  fail: {
    from: ['protecting'],
    to: 'error',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Restore point ${s.id} is ${s.status}, not protecting.`,
  },
});

/** Backups that count as stored data (capacity, `used`, settled checkpoints). */
export const CBR_BACKUP_STATUSES = ['available', 'protecting', 'deleting', 'restoring', 'error'] as const;

export const cbrBackupLifecycle = lifecycle(CBR_BACKUP_STATUSES, {
  delete: {
    from: ['available', 'error'],
    to: 'deleting',
    refuse: 'badRequest',
    code: (s) => code(s.status === 'protecting' ? '6203' : '6216'),
    message: (s) =>
      s.status === 'protecting' ? `Backup ${s.id} is still being made.` : `Backup ${s.id} is ${s.status} and cannot be deleted now.`,
  },
  restore: {
    from: ['available'],
    to: 'restoring',
    refuse: 'badRequest',
    code: (s) => code(s.status === 'restoring' ? '2010' : '2005'),
    message: (s) =>
      s.status === 'restoring'
        ? `Backup ${s.id} is already being restored.`
        : `Backup ${s.id} is ${s.status}; only available backups can be restored.`,
  },
  share: {
    from: ['available'],
    refuse: 'badRequest',
    code: code('6702'),
    message: () => 'Only available backups can be shared.',
  },
  /** The data is in the repository. */
  complete: {
    from: ['protecting'],
    to: 'available',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Backup ${s.id} is ${s.status}, not protecting.`,
  },
  fail: {
    from: ['protecting'],
    to: 'error',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Backup ${s.id} is ${s.status}, not protecting.`,
  },
  /** A restore ended, well or not: the backup itself is unchanged. */
  restored: {
    from: ['restoring'],
    to: 'available',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Backup ${s.id} is ${s.status}, not restoring.`,
  },
  deleteFailed: {
    from: ['deleting'],
    to: 'error',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Backup ${s.id} is ${s.status}, not deleting.`,
  },
});

/** Backup statuses a list may filter on (the API's, including the queue states this server never shows). */
export const CBR_BACKUP_LIST_STATUSES = [...CBR_BACKUP_STATUSES, 'waiting_protect', 'waiting_delete', 'waiting_restore'];

/** A vault resource's `protect_status` mirrors the operation running on it. */
export const vaultResourceLifecycle = lifecycle(['available', 'error', 'protecting', 'restoring', 'removing'], {
  /** Removing it from its vault or moving it to another. */
  detach: {
    from: ['available', 'error'],
    refuse: 'badRequest',
    code: code('6125'),
    message: (s) => `Resource ${s.id} is ${s.status}; try again when it is done.`,
  },
  /** A checkpoint backs it up; a refusal skips the resource with this code and reason. */
  protect: {
    from: ['available', 'error'],
    to: 'protecting',
    refuse: 'badRequest',
    code: (s) => code(s.status === 'restoring' ? '2010' : '6125'),
    message: (s) => (s.status === 'restoring' ? 'The resource is being restored.' : 'The resource is already being backed up.'),
  },
  protected: {
    from: ['protecting'],
    to: 'available',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Resource ${s.id} is ${s.status}, not protecting.`,
  },
  /** A restore writes onto it. */
  restore: {
    from: ['available', 'error'],
    to: 'restoring',
    refuse: 'badRequest',
    code: (s) => code(s.status === 'protecting' ? '2002' : '2010'),
    message: (s) => `Disk ${s.id} is ${s.status}.`,
  },
  restored: {
    from: ['restoring'],
    to: 'available',
    refuse: 'conflict',
    code: code('9910'),
    message: (s) => `Resource ${s.id} is ${s.status}, not restoring.`,
  },
});

export const memberLifecycle = lifecycle(['pending', 'accepted', 'rejected'], {
  accept: {
    from: ['pending'],
    to: 'accepted',
    refuse: 'badRequest',
    code: code('9900'),
    message: (s) => `The share is already ${s.status}; only a pending share can be accepted.`,
  },
  reject: {
    from: ['pending'],
    to: 'rejected',
    refuse: 'badRequest',
    code: code('9900'),
    message: (s) => `The share is already ${s.status}; only a pending share can be rejected.`,
  },
  /** Answering "pending" leaves a pending share as it is. */
  keepPending: {
    from: ['pending'],
    refuse: 'badRequest',
    code: code('9900'),
    message: (s) => `The share is already ${s.status}; it cannot be made pending again.`,
  },
});

/** The member action an update's `status` asks for. */
export function memberAction(status: 'accepted' | 'rejected' | 'pending'): 'accept' | 'reject' | 'keepPending' {
  return status === 'accepted' ? 'accept' : status === 'rejected' ? 'reject' : 'keepPending';
}

/**
 * What CBR allows of a disk (a block-storage volume; the statuses are Cinder's) and answers in its own codes.
 * The volume's own transitions are block storage's; these rows are CBR's gate in front of them.
 */
export const cbrDiskLifecycle = lifecycle(
  [
    'creating', 'available', 'reserved', 'attaching', 'detaching', 'in-use', 'maintenance', 'deleting', 'awaiting-transfer',
    'error', 'error_deleting', 'backing-up', 'restoring-backup', 'error_backing-up', 'error_restoring', 'error_extending',
    'downloading', 'uploading', 'retyping', 'extending',
  ],
  {
    /** A checkpoint snapshots it; a refusal skips the disk with this code and reason. */
    backup: {
      from: ['available', 'in-use'],
      to: 'backing-up',
      refuse: 'badRequest',
      code: (s) => code(s.status === 'backing-up' ? '6125' : s.status === 'restoring-backup' ? '2010' : '7003'),
      message: (s) =>
        s.status === 'backing-up'
          ? 'The resource is already being backed up.'
          : s.status === 'restoring-backup'
            ? 'The resource is being restored.'
            : `The disk is ${s.status}; only available or in-use disks can be backed up.`,
    },
    restoreTarget: {
      from: ['available'],
      to: 'restoring-backup',
      refuse: 'badRequest',
      code: (s) => code(s.status === 'backing-up' ? '2002' : s.status === 'restoring-backup' ? '2010' : '7003'),
      message: (s) =>
        s.status === 'backing-up'
          ? `Disk ${s.id} is being backed up.`
          : s.status === 'restoring-backup'
            ? `Disk ${s.id} is already being restored.`
            : `Disk ${s.id} is ${s.status}; a restore needs an available disk (detach it first).`,
    },
  },
);

