/**
 * Backup targets as services see them: named places backups go (the data directory's repository, an S3 bucket,
 * another directory), each with its own open repository. The composition root opens them (wiring.ts); a backup
 * record names its target, and every later operation on it (restore, delete, verify, gc, export) goes there.
 */
import type { BackupStore } from './backup-store.js';

/** The name of the data directory's own repository, always a target so backups made before targets stay reachable. */
export const DATA_DIR_TARGET = 'default';

export type BackupTargetKind = 's3' | 'file';

/** Cinder's backup driver module of each kind (what an exported record's `backup_service` says). */
export const BACKUP_SERVICE_OF: Record<BackupTargetKind, string> = {
  s3: 'cinder.backup.drivers.s3',
  file: 'cinder.backup.drivers.posix',
};

export interface BackupTargetInfo {
  name: string;
  kind: BackupTargetKind;
  /** Where it is, for logs and errors (no credentials ever travel in it). */
  location: string;
  /** An immutable target (`lock_days=`): each backup made on it is locked this many days (see domain/immutability.ts). */
  lockDays?: number;
}

export interface BackupTargets {
  /** The target of backups that do not choose one. */
  readonly defaultName: string;
  /** Every target, the default first. */
  list(): BackupTargetInfo[];
  /** The target called `name`, or undefined. */
  info(name: string): BackupTargetInfo | undefined;
  /** The repository of target `name`; throws for a name that is not configured. */
  repo(name: string): BackupStore;
}

/** A fixed set of targets over already opened repositories (the composition root's, and unit tests'). */
export function backupTargetsOf(
  targets: Array<BackupTargetInfo & { repo: BackupStore }>,
  defaultName: string,
): BackupTargets {
  const byName = new Map(targets.map((t) => [t.name, t]));
  if (!byName.has(defaultName)) throw new Error(`the default backup target ${JSON.stringify(defaultName)} is not configured`);
  const infoOf = ({ name, kind, location, lockDays }: BackupTargetInfo): BackupTargetInfo => ({
    name,
    kind,
    location,
    ...(lockDays !== undefined ? { lockDays } : {}),
  });
  const infos = targets.map(infoOf);
  infos.sort((a, b) => Number(b.name === defaultName) - Number(a.name === defaultName));
  return {
    defaultName,
    list: () => infos.map((i) => ({ ...i })),
    info: (name) => {
      const t = byName.get(name);
      return t ? infoOf(t) : undefined;
    },
    repo: (name) => {
      const t = byName.get(name);
      if (!t) throw new Error(`backup target ${JSON.stringify(name)} is not configured on this server`);
      return t.repo;
    },
  };
}
