import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DATABASE_DEFAULTS, idleInTransactionTimeoutMs, type ServerConfig } from '../config/config.js';
import type { AuthContext } from '../domain/auth-context.js';
import { badRequest, notFound, policyForbidden } from '../domain/errors.js';
import type { MetadataStore, Scope } from '../domain/ports/metadata-store.js';
import type { BackupTargetIdentity, ServiceBinary, ServiceRow, ServiceStore } from '../domain/ports/service-store.js';
import { storedTime, type Clock } from '../domain/time.js';
import { LogLevels } from './log-levels.js';
import { instanceKnownDead, PROCESS_INSTANCE } from './process-liveness.js';
import { hostMatches, nodeOfVolumeHost, serviceHostOf } from './service-hosts.js';

/** How often a running node stamps its services' `updated_at` (Cinder's `report_interval` default). */
export const HEARTBEAT_INTERVAL_SECONDS = 10;
/** A service whose last heartbeat is older than this is `down` (Cinder's `service_down_time` default). */
export const SERVICE_DOWN_SECONDS = 60;

/** Where new work of a backend may go: a node whose volume service for it is enabled and up. */
export interface SchedulableHost {
  node: string;
  backend: string;
}

export interface ServiceEntry {
  binary: ServiceBinary;
  host: string;
  zone: string;
  status: 'enabled' | 'disabled';
  state: 'up' | 'down';
  updatedAt: string | null;
  disabledReason: string | null;
  frozen: boolean;
  /** A volume service's pool capacity at its last heartbeat. */
  capacity: { totalGb: number; freeGb: number } | null;
}

const BINARIES = ['cinder-scheduler', 'cinder-volume', 'cinder-backup'] as const;

/** The backup service's work, as task kinds. */
const BACKUP_TASK_KINDS: readonly string[] = ['backup.create', 'backup.restore', 'backup.delete', 'cbr.backup', 'cbr.restore', 'cbr.delete', 'cbr.replicate'];

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The order Cinder's list shows (rows by creation): per node, its scheduler, its volume services, its backup service. */
function creationOrder(a: ServiceEntry, b: ServiceEntry): number {
  const node = (s: ServiceEntry) => s.host.split('@')[0]!;
  const rank = (s: ServiceEntry) => BINARIES.indexOf(s.binary);
  return cmp(node(a), node(b)) || rank(a) - rank(b) || cmp(a.host, b.host);
}
/**
 * The `services` table as the running node keeps it: a heartbeat every {@link HEARTBEAT_INTERVAL_SECONDS}
 * seconds for each role this node runs (the scheduler, one volume service per backend, the backup service), and
 * the operator's switches (`os-services` disable/enable/freeze/thaw) that scheduling reads. Rows of other nodes
 * (issue #17) are listed with the state their own heartbeats give them.
 */
export class ServiceRegistry {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private readonly logLevels: LogLevels;

  constructor(
    private readonly deps: {
      store: MetadataStore;
      services: ServiceStore;
      clock: Clock;
      config: Pick<ServerConfig, 'serviceHost' | 'availabilityZone' | 'backends'> &
        Partial<Pick<ServerConfig, 'serviceReportSeconds' | 'serviceDownSeconds' | 'database' | 'dataDir'>>;
      logger: Logger;
      /** Who claims the node name; tests racing two claimants in one process give each its own. */
      instance?: string;
      /** Called once when a heartbeat finds the node name held by another process (this one must stop working). */
      onNodeNameLost?: () => void;
      /** This node's default backup target, recorded in its backup service's row and compared with other nodes'. */
      backupTarget?: BackupTargetIdentity;
    },
  ) {
    this.instance = deps.instance ?? PROCESS_INSTANCE;
    this.logLevels = new LogLevels({ logger: deps.logger, serviceHost: deps.config.serviceHost, ownServices: () => this.ownServices() });
  }

  /** This process, as written in the rows it heartbeats: tells it apart from another process under the same name. */
  readonly instance: string;

  private get downSeconds(): number {
    return this.deps.config.serviceDownSeconds ?? SERVICE_DOWN_SECONDS;
  }

  private now(): string {
    return storedTime(this.deps.clock.now());
  }

  /** The services this node runs, as (host, binary). */
  ownServices(): { host: string; binary: ServiceBinary }[] {
    const node = this.deps.config.serviceHost;
    return [
      { host: node, binary: 'cinder-scheduler' },
      ...this.deps.config.backends.map((b) => ({ host: `${node}@${b.name}`, binary: 'cinder-volume' as const })),
      { host: node, binary: 'cinder-backup' },
    ];
  }

  /**
   * This node's pool capacity: every backend's files share the data directory's filesystem (the pools view has
   * always said so; an RBD pool's own figures are the RBD driver's business), null without a data directory.
   */
  async capacity(): Promise<{ totalGb: number; freeGb: number } | null> {
    if (!this.deps.config.dataDir) return null;
    const fs = await statfs(this.deps.config.dataDir).catch(() => null);
    if (!fs) return null;
    const gib = (bytes: number) => Math.round((bytes / 1024 ** 3) * 100) / 100;
    return { totalGb: gib(fs.blocks * fs.bsize), freeGb: gib(fs.bavail * fs.bsize) };
  }

  async heartbeat(): Promise<void> {
    if (this.lostTo !== null) return;
    const now = this.now();
    const capacity = await this.capacity();
    const node = this.deps.config.serviceHost;
    const held = await this.deps.store.transaction(async (tx) => {
      // The scheduler row carries the claim: stamped only while it still names this process, and in the same
      // transaction as the other rows, so a woken process that lost the name writes none of them. The row lock
      // this update takes also orders it against a racing claim (which then sees a fresh beat and fails).
      if (!(await this.deps.services.beatIfHeld(tx, node, this.instance, now))) return false;
      for (const s of this.ownServices())
        await this.deps.services.heartbeat(
          tx,
          s.host,
          s.binary,
          this.deps.config.availabilityZone,
          now,
          this.instance,
          s.binary === 'cinder-volume' ? capacity : null,
        );
      return true;
    });
    if (!held) {
      const holder = await this.deps.services.get(this.deps.store.root, node, 'cinder-scheduler').catch(() => null);
      this.nameLost(holder?.instance ?? null);
      return;
    }
    this.lastBeatMs = performance.now();
    // Every node sweeps at each beat, so a dead peer of this machine is recorded down even while nobody lists.
    await this.entries().catch((err) => this.deps.logger.warn({ err }, 'checking the other nodes of this machine failed'));
    // Read back at each beat, so a disable through another node's API reaches this node within one interval.
    const own = await this.deps.services.get(this.deps.store.root, this.deps.config.serviceHost, 'cinder-backup');
    this.backupDisabled = own?.disabled ?? false;
  }

  private backupDisabled = false;
  /** Monotonic time of the last beat that found the name still held (a stall shows as a gap, SIGSTOP included). */
  private lastBeatMs = performance.now();
  /** Set once another process is found holding this node's name: the `instance` it holds (or '' unknown). */
  private lostTo: string | null = null;

  /** Whether this process still holds the node name; false for good once another process was found holding it. */
  get holdsNodeName(): boolean {
    return this.lostTo === null;
  }

  /**
   * Whether this process may take work now: it holds the name, and its last confirmed beat is younger than the
   * down time. After a stall (a paused VM, SIGSTOP, a long GC) another process may already hold the name, so no
   * task is claimed until a beat confirms it again (or finds it lost).
   */
  mayTakeWork(): boolean {
    return this.lostTo === null && performance.now() - this.lastBeatMs < this.downSeconds * 1000;
  }

  private nameLost(holder: string | null): void {
    if (this.lostTo !== null) return;
    this.lostTo = holder ?? '';
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const [, pid, host] = (holder ?? '').split(' ');
    const who = holder ? `process ${pid} on ${host}` : 'another process';
    this.deps.logger.fatal(
      `node name ${JSON.stringify(this.deps.config.serviceHost)} was taken over by ${who} while this process (${this.instance.split(' ')[1]}) was not heartbeating (stalled past the ${this.downSeconds} s down time): this process stops taking tasks and shuts down`,
    );
    this.deps.onNodeNameLost?.();
  }

  /**
   * Task kinds this node does not take when any node may run them: backups, restores and backup deletes while
   * its backup service is disabled (Cinder's backup scheduling skips a disabled backup service). Bound tasks (a
   * local volume's) still run here: no other node could run them.
   */
  declinedTaskKinds(): readonly string[] {
    return this.backupDisabled ? BACKUP_TASK_KINDS : [];
  }

  /**
   * Refuses to start a second live process under this node's name (both would claim the node's local tasks and
   * write its heartbeats), and, on SQLite, a node beside another live one (SQLite is one node's store: nodes share
   * work only through PostgreSQL). Live = a scheduler heartbeat younger than the down time written by another
   * process (its `instance`): a process of this machine whose pid is gone is dead at once (kill -9); one that
   * stopped cleanly cleared its instance. A process on another machine is trusted to live until its heartbeat ages.
   */
  async checkNodeName(): Promise<void> {
    const node = this.deps.config.serviceHost;
    const nowMs = this.deps.clock.now().getTime();
    const sqlite = this.deps.config.database?.kind !== 'postgres';
    const describe = (r: ServiceRow) => {
      const age = Math.round((nowMs - Date.parse(r.updatedAt ?? r.createdAt)) / 1000);
      const [, pid, host] = (r.instance ?? '').split(' ');
      return { age, who: `process ${pid} on ${host}, last heartbeat ${Math.max(0, age)} s ago` };
    };
    const inUse = (r: ServiceRow) =>
      new Error(
        `node name ${JSON.stringify(node)} is in use by a live node (${describe(r).who}): give this one another --node-name, or stop that one (a node that died is taken over once its heartbeat is ${this.downSeconds} s old)`,
      );
    let deadInstance: string | null = null;
    for (const r of await this.deps.services.list(this.deps.store.root)) {
      if (r.binary !== 'cinder-scheduler' || !r.instance || r.instance === this.instance) continue;
      const { age, who } = describe(r);
      const mayRun = !instanceKnownDead(r.instance);
      if (r.host === node && !mayRun) deadInstance = r.instance;
      if (age > this.downSeconds || !mayRun) continue;
      if (r.host === node) throw inUse(r);
      if (sqlite) {
        throw new Error(
          `node ${JSON.stringify(r.host)} is live on this SQLite store (${who}); several nodes need a shared PostgreSQL database (CINDERBOX_DATABASE_URL)`,
        );
      }
    }
    // The read above only explains; the claim itself is one guarded statement, so of two processes starting under
    // one name at the same instant exactly one gets it (the other may have read the row before either wrote).
    const claim = () =>
      this.deps.services.claimNode(this.deps.store.root, {
        host: node,
        zone: this.deps.config.availabilityZone,
        now: storedTime(new Date(nowMs)),
        instance: this.instance,
        staleBefore: storedTime(new Date(nowMs - this.downSeconds * 1000)),
        deadInstance,
      });
    // A holder stalled inside its heartbeat's transaction (SIGSTOP, a paused VM) keeps that row locked until
    // PostgreSQL ends its session for idling in a transaction (idle_in_transaction_session_timeout), which can
    // outlast one statement timeout: a claim cancelled that way is tried again, not refused, until the stalled
    // session must have been ended (that timeout, plus one statement's worth for the claim that then runs).
    const db = this.deps.config.database;
    const statementMs = (db?.kind === 'postgres' ? db.statementTimeoutMs : undefined) ?? DATABASE_DEFAULTS.statementTimeoutMs;
    const lockWaitUntil = performance.now() + idleInTransactionTimeoutMs(statementMs) + statementMs;
    let claimed: boolean;
    for (;;) {
      try {
        claimed = await claim();
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '57014' || performance.now() > lockWaitUntil) throw err;
        this.deps.logger.warn({ node }, 'claiming the node name waited a statement timeout on a row another process holds locked; trying again');
      }
    }
    if (!claimed) {
      const holder = await this.deps.services.get(this.deps.store.root, node, 'cinder-scheduler');
      throw inUse(holder ?? { instance: '? ? ?', updatedAt: null, createdAt: storedTime(new Date(nowMs)) } as ServiceRow);
    }
  }

  /**
   * Records where the other nodes reach this node's API (its scheduler row), once it listens: they read its
   * node-local volumes' bytes there when one moves to their node.
   */
  async recordApiUrl(url: string): Promise<void> {
    await this.deps.services.setApiUrl(this.deps.store.root, this.deps.config.serviceHost, url);
  }

  /**
   * Records this node's default backup target and warns (once, at start) about every live node whose own differs:
   * a backup one node makes there cannot be restored or deleted by the other, and a node-local `file://`
   * directory looks shared only by its path. Returns the warnings (for tests); never refuses to start, since an
   * operator may be moving nodes from one target to another one at a time.
   */
  async checkBackupTarget(): Promise<string[]> {
    const own = this.deps.backupTarget;
    if (!own) return [];
    const node = this.deps.config.serviceHost;
    await this.deps.services.setBackupTarget(this.deps.store.root, node, own);
    const nowMs = this.deps.clock.now().getTime();
    const warnings: string[] = [];
    for (const r of await this.deps.services.list(this.deps.store.root)) {
      const other = r.backupTarget;
      if (r.binary !== 'cinder-backup' || r.host === node || !other || r.stoppedAt !== null) continue;
      if (Math.abs(nowMs - Date.parse(r.updatedAt ?? r.createdAt)) > this.downSeconds * 1000) continue;
      if (other.name === own.name && other.repoId === own.repoId) continue;
      const fileHint = [own, other].some((t) => t.location.startsWith('file:'))
        ? ' A file:// target must be one directory every node mounts: the same path on two machines is two repositories.'
        : '';
      warnings.push(
        `backup target ${JSON.stringify(own.name)} of node ${node} (repository ${own.repoId} at ${own.location}) is not node ${r.host}'s default target ${JSON.stringify(other.name)} (repository ${other.repoId} at ${other.location}): backups one of them makes cannot be restored or deleted by the other. Give every node the same shared --backup-target.${fileHint}`,
      );
    }
    for (const w of warnings) this.deps.logger.warn(w);
    return warnings;
  }

  /** First heartbeat now (so the API lists this node at once), then every interval until stop. */
  async start(): Promise<void> {
    await this.checkNodeName();
    await this.heartbeat();
    await this.checkBackupTarget().catch((err) => this.deps.logger.warn({ err }, 'comparing backup targets with the other nodes failed'));
    this.timer = setInterval(() => {
      if (this.beating) return;
      this.beating = this.heartbeat()
        .catch((err) => this.deps.logger.warn({ err }, 'service heartbeat failed'))
        .finally(() => {
          this.beating = null;
        });
    }, (this.deps.config.serviceReportSeconds ?? HEARTBEAT_INTERVAL_SECONDS) * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    // The rows stay, recorded stopped: they read `down` at once (no barrier waits for this node's ack, no node
    // schedules onto it) and the name is free now.
    await this.deps.services
      .releaseInstance(this.deps.store.root, this.instance, this.now())
      .catch((err) => this.deps.logger.warn({ err }, 'releasing the node name failed'));
  }

  private entry(r: ServiceRow, nowMs: number): ServiceEntry {
    const seen = Date.parse(r.updatedAt ?? r.createdAt);
    const alive = r.stoppedAt === null && Math.abs(nowMs - seen) <= this.downSeconds * 1000;
    return {
      binary: r.binary,
      host: r.host,
      zone: r.availabilityZone,
      status: r.disabled ? 'disabled' : 'enabled',
      state: alive ? 'up' : 'down',
      updatedAt: r.updatedAt,
      disabledReason: r.disabledReason,
      frozen: r.frozen,
      capacity: r.capacity,
    };
  }

  async entries(scope: Scope = this.deps.store.root): Promise<ServiceEntry[]> {
    const nowMs = this.deps.clock.now().getTime();
    const rows = await this.markDeadPeers(await this.deps.services.list(scope), scope);
    return rows.map((r) => this.entry(r, nowMs)).sort(creationOrder);
  }

  /**
   * Rows whose process is known dead (a process of this machine whose pid is gone: see {@link instanceKnownDead})
   * read as stopped now, rather than up until their heartbeat is older than the down time. Read through the root
   * scope, the rows are also recorded stopped, guarded by the dead process's `instance` (so rows a restarted node
   * claimed meanwhile stay its own); inside a caller's transaction they are only shown down, so this read takes no
   * row locks there (the next root read or heartbeat records them).
   */
  private async markDeadPeers(rows: ServiceRow[], scope: Scope): Promise<ServiceRow[]> {
    const dead = new Set<string>();
    for (const r of rows)
      if (r.instance && r.instance !== this.instance && r.stoppedAt === null && !dead.has(r.instance) && instanceKnownDead(r.instance))
        dead.add(r.instance);
    if (dead.size === 0) return rows;
    const now = this.now();
    if (scope === this.deps.store.root) {
      for (const instance of dead) {
        const n = await this.deps.services.releaseInstance(scope, instance, now).catch((err) => {
          this.deps.logger.warn({ err }, 'recording a dead node stopped failed');
          return 0;
        });
        if (n > 0) {
          const [, pid, host] = instance.split(' ');
          const nodes = [...new Set(rows.filter((r) => r.instance === instance).map((r) => nodeOfVolumeHost(r.host)))];
          this.deps.logger.warn(`node ${nodes.join(', ')} (process ${pid} on ${host}) is gone: its services are down`);
        }
      }
    }
    return rows.map((r) => (r.instance && dead.has(r.instance) ? { ...r, instance: null, stoppedAt: now } : r));
  }

  async list(ctx: AuthContext, filters: { host?: string; binary?: string } = {}): Promise<ServiceEntry[]> {
    if (!ctx.isAdmin) throw policyForbidden('volume_extension:services:index');
    return (await this.entries()).filter(
      (s) => (filters.binary === undefined || s.binary === filters.binary) && (filters.host === undefined || hostMatches(s.host, filters.host)),
    );
  }

  /** Enable, disable or disable with a reason; Cinder's 404 when no service has that host and binary. */
  async setEnabled(ctx: AuthContext, host: string, binary: string, enabled: boolean, reason?: string | null): Promise<void> {
    if (!ctx.isAdmin) throw policyForbidden('volume_extension:services:update');
    // Enabling clears the reason (Cinder's extended-services update does); a plain disable leaves it.
    const current = await this.deps.services.get(this.deps.store.root, host, binary);
    if (!current) throw notFound(`Service ${binary} on host ${host} could not be found.`);
    const newReason = enabled ? null : reason === undefined ? current.disabledReason : reason;
    await this.deps.services.setDisabled(this.deps.store.root, host, binary, !enabled, newReason);
    if (host === this.deps.config.serviceHost && binary === 'cinder-backup') this.backupDisabled = !enabled;
  }

  /** Freeze (or thaw) every volume service `host` names; Cinder's 400s for no such service and for no change. */
  async setFrozen(ctx: AuthContext, host: string, frozen: boolean): Promise<void> {
    if (!ctx.isAdmin) throw policyForbidden(frozen ? 'volume_extension:services:freeze' : 'volume_extension:services:thaw');
    await this.deps.store.transaction(async (tx) => {
      const targets = (await this.deps.services.list(tx)).filter((s) => s.binary === 'cinder-volume' && hostMatches(s.host, host));
      if (targets.length === 0) throw badRequest(`Invalid input received: Service ${host} could not be found.`);
      const changing = targets.filter((s) => s.frozen !== frozen);
      if (changing.length === 0) throw badRequest(`Invalid input received: Host is already ${frozen ? 'Frozen' : 'Thawed'}.`);
      for (const s of changing) await this.deps.services.setFrozen(tx, s.host, frozen);
    });
  }

  /** Names of this node's backends whose volume service is enabled and up: where new volumes may go. */
  async schedulableBackends(scope: Scope = this.deps.store.root): Promise<Set<string>> {
    const node = this.deps.config.serviceHost;
    const byHost = new Map((await this.entries(scope)).filter((s) => s.binary === 'cinder-volume').map((s) => [s.host, s]));
    const out = new Set<string>();
    for (const b of this.deps.config.backends) {
      const s = byHost.get(`${node}@${b.name}`);
      // A backend whose row is not written yet (the first heartbeat runs before the API listens) counts as up.
      if (!s || (s.status === 'enabled' && s.state === 'up')) out.add(b.name);
    }
    return out;
  }

  /**
   * Every (node, backend) whose volume service is enabled and up, this node's backends included even before their
   * first row is written. Backends are named alike on every node of a cluster (same configuration); a backend
   * this node has no configuration for is left out, since nothing here could tell its driver.
   */
  async schedulableHosts(scope: Scope = this.deps.store.root): Promise<(SchedulableHost & { allocatedGb: number; freeGb: number | null })[]> {
    const node = this.deps.config.serviceHost;
    const known = new Set(this.deps.config.backends.map((b) => b.name));
    const out: (SchedulableHost & { freeGb: number | null })[] = [];
    const seen = new Set<string>();
    for (const s of await this.entries(scope)) {
      if (s.binary !== 'cinder-volume') continue;
      const at = s.host.indexOf('@');
      if (at < 0) continue;
      const host = { node: s.host.slice(0, at), backend: s.host.slice(at + 1), freeGb: s.capacity?.freeGb ?? null };
      seen.add(s.host);
      if (known.has(host.backend) && s.status === 'enabled' && s.state === 'up') out.push(host);
    }
    for (const b of this.deps.config.backends) if (!seen.has(`${node}@${b.name}`)) out.push({ node, backend: b.name, freeGb: null });
    // What is already placed on each, for the scheduler's weighing (Cinder's allocated-capacity weigher).
    const allocated = out.length > 1 ? await this.deps.services.allocatedGbByHost(scope) : new Map<string, number>();
    return out.map((h) => ({ ...h, allocatedGb: allocated.get(`${h.node}@${h.backend}`) ?? 0 }));
  }

  /** Nodes whose backup service is enabled and up (where backups that may run anywhere are run). */
  async backupNodes(scope: Scope = this.deps.store.root): Promise<string[]> {
    return (await this.entries(scope))
      .filter((s) => s.binary === 'cinder-backup' && s.status === 'enabled' && s.state === 'up')
      .map((s) => s.host);
  }

  /** Whether an enabled, up backup service exists in the zone (Cinder's backup scheduling check). */
  async backupServiceAvailable(zone: string, scope: Scope = this.deps.store.root): Promise<boolean> {
    const backups = (await this.entries(scope)).filter((s) => s.binary === 'cinder-backup');
    if (backups.length === 0) return true;
    return backups.some((s) => s.status === 'enabled' && s.state === 'up' && s.zone === zone);
  }

  /** Whether the volume service of a volume's host (`node@backend#pool`) is frozen. */
  async isFrozen(volumeHost: string | null, scope: Scope = this.deps.store.root): Promise<boolean> {
    if (!volumeHost) return false;
    const s = await this.deps.services.get(scope, serviceHostOf(volumeHost), 'cinder-volume');
    return s?.frozen ?? false;
  }

  // ---- log levels (3.32) ----

  setLogLevels(ctx: AuthContext, body: { binary?: string | null; server?: string | null; prefix?: string | null; level?: string | null }): void {
    this.logLevels.setLogLevels(ctx, body);
  }

  getLogLevels(ctx: AuthContext, body: { binary?: string | null; server?: string | null; prefix?: string | null }): { host: string; binary: string; levels: Record<string, string> }[] {
    return this.logLevels.getLogLevels(ctx, body);
  }
}
