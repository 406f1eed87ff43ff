import type { Scope } from './metadata-store.js';

export type ServiceBinary = 'cinder-scheduler' | 'cinder-volume' | 'cinder-backup';

/** One row of Cinder's `services` table: a role a node runs, its heartbeat and the operator's switches. */
export interface ServiceRow {
  /** `node` for the scheduler and backup, `node@backend` for a volume service, as Cinder names them. */
  host: string;
  binary: ServiceBinary;
  availabilityZone: string;
  disabled: boolean;
  disabledReason: string | null;
  frozen: boolean;
  createdAt: string;
  /** The last heartbeat; null until the first one after the row was created. */
  updatedAt: string | null;
  /** The process writing the heartbeats (`<uuid> <pid> <hostname>`); null when none claimed it or it stopped cleanly. */
  instance: string | null;
  /** A volume service's pool capacity at its last heartbeat; null for other services or before one. */
  capacity: { totalGb: number; freeGb: number } | null;
  /** A backup service's default backup target as its node opened it; null for other services or before start. */
  backupTarget: BackupTargetIdentity | null;
  /** A scheduler row's node API URL, where other nodes fetch its node-local volumes' bytes; null before start. */
  apiUrl: string | null;
  /** When the process that heartbeated it stopped cleanly or was found dead: the row is down whatever its age. */
  stoppedAt: string | null;
}

/** Which repository a node's default backup target is: nodes sharing one see the same `repoId`. */
export interface BackupTargetIdentity {
  name: string;
  repoId: string;
  location: string;
}

/** The services table; a heartbeat never touches the operator's switches. */
export interface ServiceStore {
  list(scope: Scope): Promise<ServiceRow[]>;
  get(scope: Scope, host: string, binary: string): Promise<ServiceRow | null>;
  /** Creates the row (enabled, not frozen) when it is missing, and stamps `updated_at` and the zone. */
  heartbeat(
    scope: Scope,
    host: string,
    binary: ServiceBinary,
    zone: string,
    now: string,
    instance?: string | null,
    capacity?: { totalGb: number; freeGb: number } | null,
  ): Promise<void>;
  /**
   * Claims a node name for `instance` in one guarded statement on the node's scheduler row: creates it, or takes
   * it over when no process holds it, this one already does, its heartbeat is older than `staleBefore`, or it is
   * still held by `deadInstance` (a process the caller saw dead). False when another process holds it: of two
   * claims racing for one name, exactly one gets true.
   */
  claimNode(
    scope: Scope,
    claim: { host: string; zone: string; now: string; instance: string; staleBefore: string; deadInstance: string | null },
  ): Promise<boolean>;
  /**
   * Stamps the node's scheduler row only while `instance` still holds it: false once another process has claimed
   * the name (this one stalled past the down time), so a woken process cannot overwrite the new holder's beats.
   * True when the row does not exist yet (no process claimed the name), or names nobody (released by a clean stop:
   * the beat takes the free name back).
   */
  beatIfHeld(scope: Scope, host: string, instance: string, now: string): Promise<boolean>;
  /** Records a cross-node write barrier: one row per volume, lifted by `liftBarrier` or ignored after `expiresAt`. */
  openBarrier(scope: Scope, barrier: { id: string; node: string; volumeIds: readonly string[]; expiresAt: string }): Promise<void>;
  /** Barriers not lifted and not expired at `now`, with their volumes. */
  activeBarriers(scope: Scope, now: string): Promise<{ id: string; node: string; volumeIds: string[]; expiresAt: string }[]>;
  /** Moves a standing barrier's expiry (its raiser is still taking the snapshots). */
  renewBarrier(scope: Scope, id: string, expiresAt: string): Promise<void>;
  /** A node says its in-flight writes to the barrier's volumes have drained and new ones wait. */
  ackBarrier(scope: Scope, id: string, node: string, now: string): Promise<void>;
  /** The nodes that acknowledged barrier `id`. */
  barrierAcks(scope: Scope, id: string): Promise<string[]>;
  /** Removes the barrier, its acks, and any barrier that expired before `now` (one left by a dead node). */
  liftBarrier(scope: Scope, id: string, now: string): Promise<void>;
  /** Records the default backup target of a node's backup service (`host` = the node). */
  setBackupTarget(scope: Scope, host: string, target: BackupTargetIdentity | null): Promise<void>;
  /** Records the API URL of a node (`host` = the node) on its scheduler row. */
  setApiUrl(scope: Scope, host: string, url: string | null): Promise<void>;
  /**
   * Clears `instance` on the rows it names and records them stopped at `now` (a clean stop, or a process found
   * dead): the name may be taken at once and the rows read down. Guarded by `instance` alone, so rows a newer
   * process claimed meanwhile are untouched. Returns how many rows it changed.
   */
  releaseInstance(scope: Scope, instance: string, now: string): Promise<number>;
  /** False when there is no such row. */
  setDisabled(scope: Scope, host: string, binary: string, disabled: boolean, reason: string | null): Promise<boolean>;
  /** Freezes or thaws a volume service (Cinder also disables it with reason `frozen` and re-enables on thaw). */
  setFrozen(scope: Scope, host: string, frozen: boolean): Promise<boolean>;
  /**
   * What `os-hosts/{host}` shows: the volumes on a volume service's host (`host` or `host#pool`), and, for each
   * project owning one of them, that project's volume and snapshot totals everywhere (Cinder's quirk, kept).
   */
  hostUsage(scope: Scope, host: string): Promise<HostUsage>;
  /** Gigabytes of volumes per volume service host (`node@backend`, pools summed), for the scheduler's weighing. */
  allocatedGbByHost(scope: Scope): Promise<Map<string, number>>;
}

export interface ProjectUsage {
  projectId: string;
  volumeCount: number;
  volumeGb: number;
  snapshotCount: number;
  snapshotGb: number;
}

export interface HostUsage {
  volumeCount: number;
  volumeGb: number;
  projects: ProjectUsage[];
}

/** Quota class limits per (class, resource). */
export interface QuotaClassStore {
  limits(scope: Scope, className: string): Promise<Record<string, number>>;
  setLimit(scope: Scope, className: string, resource: string, limit: number): Promise<void>;
}
