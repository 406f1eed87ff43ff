import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { COMPRESSIONS, type Compression } from '../backup-repo/index.js';
import { backupTargetsConfig, type BackupTargetSpec } from './backup-targets.js';
import { type RegionSpec, regionsConfig } from './regions.js';
import { chooseBackends, type RbdBackendConfig, type VolumeDriverKind } from './volume-backends.js';

export interface BackendConfig {
  /** Backend name, the middle part of `host@backend#pool`. */
  name: string;
  driver: VolumeDriverKind;
  /** Pool name; one pool per backend today. */
  pool: string;
  /** The Ceph pool and cluster access of an `rbd` backend. */
  rbd?: RbdBackendConfig;
}

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Base URL advertised in the catalog and links; when unset, taken from each request's scheme and Host. */
  publicUrl: string | null;
  /**
   * Where the other nodes of a cluster reach this node's API (`serve --advertise-url`, CINDERBOX_ADVERTISE_URL);
   * null: the listening address. They read a node-local volume's bytes through it when moving it to their node.
   */
  advertiseUrl: string | null;
  /**
   * This node's name (`serve --node-name`, CINDERBOX_NODE_NAME, or the older CINDERBOX_SERVICE_HOST): the `host`
   * part of `host@backend#pool` names and of the services rows. Nodes sharing one PostgreSQL database need
   * distinct names; the node-local volumes (raw, qcow2) named after one run only there.
   */
  serviceHost: string;
  /** Seconds between service heartbeats (Cinder's `report_interval`; CINDERBOX_SERVICE_REPORT_SECONDS, default 10). */
  serviceReportSeconds: number;
  /** A service without a heartbeat for this long is `down` (Cinder's `service_down_time`; CINDERBOX_SERVICE_DOWN_SECONDS, default 60). */
  serviceDownSeconds: number;
  /** How often the task engine looks for work no dispatch started here (another node's, an expired lease). */
  taskPollMs: number;
  region: string;
  availabilityZone: string;
  database: DatabaseConfig;
  backends: BackendConfig[];
  /** Which driver new volumes get and why, for the startup log. */
  volumeDriverReason: string;
  tokenTtlSeconds: number;
  /** Used only on first start of an empty store. */
  bootstrapAdminPassword: string | null;
  logLevel: string;
  /** Lease of a running task; another node may take the task over once it expires. */
  taskLeaseSeconds: number;
  /** Quota defaults, applied to projects without an explicit limit. */
  quotaDefaults: Record<string, number>;
  /**
   * 32-byte key of an encrypted backup repository (AES-256-GCM chunks, keyed chunk ids), from
   * CINDERBOX_BACKUP_KEY or CINDERBOX_BACKUP_KEY_FILE; null = plain repository. Never logged.
   */
  backupKey: Buffer | null;
  /** Chunk compression of new backups, from CINDERBOX_BACKUP_COMPRESSION (auto, zstd, lz4, none; default auto). */
  backupCompression: Compression;
  /**
   * Backup targets besides the data directory's repository (target `default`): `serve --backup-target`,
   * CINDERBOX_BACKUP_TARGETS. See backup-targets.ts.
   */
  backupTargets: BackupTargetSpec[];
  /** Where backups go that do not choose a target (`--default-backup-target`, CINDERBOX_DEFAULT_BACKUP_TARGET). */
  defaultBackupTarget: string;
  /** CBR replication regions, each a backup target (`serve --region NAME=TARGET`, CINDERBOX_REGIONS; regions.ts). */
  regions: RegionSpec[];
  /** Failed-login throttling (serve --login-*, CINDERBOX_LOGIN_*). */
  loginThrottle: LoginThrottleConfig;
  /** How long user messages are kept (Cinder's `message_ttl`; CINDERBOX_MESSAGE_TTL, default 30 days). */
  messageTtlSeconds: number;
  /** How often expired user messages are deleted (Cinder's `message_reap_interval`; CINDERBOX_MESSAGE_REAP_INTERVAL, default a day). */
  messageReapSeconds: number;
}

export interface LoginThrottleConfig {
  /** Failed password logins from one source address within the window before that address is locked. */
  maxFailures: number;
  windowSeconds: number;
  /** Failed logins against one user (from any address) within the window before the user is locked. */
  userMaxFailures: number;
  /** First lockout; each further lockout of the same key doubles it, up to `lockoutMaxSeconds`. */
  lockoutBaseSeconds: number;
  lockoutMaxSeconds: number;
  /** Entries kept per table (addresses, users, known-good pairs); the least recently used go first. */
  maxEntries: number;
}

export const LOGIN_THROTTLE_DEFAULTS: LoginThrottleConfig = {
  maxFailures: 5,
  windowSeconds: 60,
  userMaxFailures: 20,
  lockoutBaseSeconds: 1,
  lockoutMaxSeconds: 300,
  maxEntries: 10_000,
};

function loginThrottleFrom(input: Partial<LoginThrottleConfig>, env: NodeJS.ProcessEnv): LoginThrottleConfig {
  const pick = (key: keyof LoginThrottleConfig, name: string, min: number): number => {
    const v = input[key] ?? intFromEnv(name, env) ?? LOGIN_THROTTLE_DEFAULTS[key];
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer of at least ${min}, got ${v}`);
    return v;
  };
  const c: LoginThrottleConfig = {
    maxFailures: pick('maxFailures', 'CINDERBOX_LOGIN_MAX_FAILURES', 1),
    windowSeconds: pick('windowSeconds', 'CINDERBOX_LOGIN_WINDOW', 1),
    userMaxFailures: pick('userMaxFailures', 'CINDERBOX_LOGIN_USER_MAX_FAILURES', 1),
    lockoutBaseSeconds: pick('lockoutBaseSeconds', 'CINDERBOX_LOGIN_LOCKOUT', 1),
    lockoutMaxSeconds: pick('lockoutMaxSeconds', 'CINDERBOX_LOGIN_LOCKOUT_MAX', 1),
    maxEntries: LOGIN_THROTTLE_DEFAULTS.maxEntries,
  };
  if (c.lockoutMaxSeconds < c.lockoutBaseSeconds) throw new Error('CINDERBOX_LOGIN_LOCKOUT_MAX must not be below CINDERBOX_LOGIN_LOCKOUT');
  return c;
}

/**
 * The metadata store: SQLite in the data directory, or PostgreSQL at `url`. The pool and timeout settings
 * apply to PostgreSQL only; unset, they take the defaults below.
 */
export type DatabaseConfig =
  | {
      kind: 'sqlite';
      /** Size of the space reserve kept for status writes on a full disk (CINDERBOX_METADATA_RESERVE_MB, default 32; 0 = none). */
      reserveBytes?: number;
    }
  | {
      kind: 'postgres';
      url: string;
      /** Connections per server process (CINDERBOX_DATABASE_POOL_SIZE, default 10). */
      poolSize?: number;
      /** Longest a statement may run before PostgreSQL cancels it (CINDERBOX_DATABASE_STATEMENT_TIMEOUT_MS, default 30 s). */
      statementTimeoutMs?: number;
      /** Longest a request waits for a connection, e.g. while the database is down (default 5 s). */
      connectTimeoutMs?: number;
    };

export const DATABASE_DEFAULTS = { poolSize: 10, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000 } as const;

/**
 * How long PostgreSQL lets a session sit idle inside a transaction before it ends it (a bug or a hung peer): never
 * shorter than the statement timeout. Whoever waits on a row lock such a session holds can wait this long.
 */
export function idleInTransactionTimeoutMs(statementTimeoutMs: number): number {
  return Math.max(statementTimeoutMs, 60_000);
}

/** `postgres://…` / `postgresql://…` selects PostgreSQL; empty or `sqlite` the embedded store; anything else is refused. */
export function databaseFromUrl(url: string | undefined, env: NodeJS.ProcessEnv = {}): DatabaseConfig {
  if (url === undefined || url === '' || url === 'sqlite') {
    const mb = intFromEnv('CINDERBOX_METADATA_RESERVE_MB', env);
    if (mb !== undefined && mb < 0) throw new Error('CINDERBOX_METADATA_RESERVE_MB must not be negative');
    return mb === undefined ? { kind: 'sqlite' } : { kind: 'sqlite', reserveBytes: mb * 1024 * 1024 };
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error('the database URL must be postgres://user:password@host:port/database (or empty for SQLite in the data directory)');
  }
  const poolSize = intFromEnv('CINDERBOX_DATABASE_POOL_SIZE', env);
  if (poolSize !== undefined && poolSize < 1) throw new Error('CINDERBOX_DATABASE_POOL_SIZE must be at least 1');
  const statementTimeoutMs = intFromEnv('CINDERBOX_DATABASE_STATEMENT_TIMEOUT_MS', env);
  if (statementTimeoutMs !== undefined && statementTimeoutMs < 0) throw new Error('CINDERBOX_DATABASE_STATEMENT_TIMEOUT_MS must not be negative');
  return {
    kind: 'postgres',
    url,
    ...(poolSize === undefined ? {} : { poolSize }),
    ...(statementTimeoutMs === undefined ? {} : { statementTimeoutMs }),
  };
}

/** The URL with its password masked, for logs. */
export function redactedDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable database URL)';
  }
}

export interface ConfigInput {
  /** Overrides CINDERBOX_DATABASE_URL (`serve --database-url`). */
  databaseUrl?: string;
  host?: string;
  port?: number;
  dataDir?: string;
  publicUrl?: string;
  logLevel?: string;
  loginThrottle?: Partial<LoginThrottleConfig>;
  /** `NAME=URL` specs (`serve --backup-target`, repeatable); overrides CINDERBOX_BACKUP_TARGETS. */
  backupTargets?: string[];
  defaultBackupTarget?: string;
  /** `NAME=TARGET` specs (`serve --region`, repeatable); overrides CINDERBOX_REGIONS. */
  regions?: string[];
  /** `serve --node-name`; overrides CINDERBOX_NODE_NAME and CINDERBOX_SERVICE_HOST. */
  nodeName?: string;
  /** `serve --advertise-url`; overrides CINDERBOX_ADVERTISE_URL. */
  advertiseUrl?: string;
}

export const DEFAULT_QUOTAS: Record<string, number> = {
  volumes: 10,
  snapshots: 10,
  gigabytes: 1000,
  backups: 10,
  backup_gigabytes: 1000,
  per_volume_gigabytes: -1,
  groups: 10,
};

function intFromEnv(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

function positiveFromEnv(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const n = intFromEnv(name, env);
  if (n !== undefined && n < 1) throw new Error(`${name} must be a positive number of seconds, got ${n}`);
  return n;
}

const BACKUP_KEY_FORMAT = '32 bytes written as 64 hex digits or as base64 (e.g. `openssl rand -hex 32`)';

/** 64 hex digits, or standard/url-safe base64 of exactly 32 bytes; surrounding whitespace is ignored. */
export function parseBackupKey(text: string, source: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const key = Buffer.from(t, 'base64');
    if (key.length === 32) return key;
  }
  throw new Error(`${source} must hold a backup repository key of ${BACKUP_KEY_FORMAT}`);
}

/** The backup repository key from the environment, or null; a malformed or unreadable key is a startup error. */
export function backupKeyFromEnv(env: NodeJS.ProcessEnv): Buffer | null {
  const inline = env.CINDERBOX_BACKUP_KEY || undefined;
  const file = env.CINDERBOX_BACKUP_KEY_FILE || undefined;
  if (inline !== undefined && file !== undefined) {
    throw new Error('set only one of CINDERBOX_BACKUP_KEY and CINDERBOX_BACKUP_KEY_FILE');
  }
  if (inline !== undefined) return parseBackupKey(inline, 'CINDERBOX_BACKUP_KEY');
  if (file === undefined) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`CINDERBOX_BACKUP_KEY_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseBackupKey(text, `CINDERBOX_BACKUP_KEY_FILE (${file})`);
}

export function backupCompressionFromEnv(env: NodeJS.ProcessEnv): Compression {
  const value = env.CINDERBOX_BACKUP_COMPRESSION || 'auto';
  if (!(COMPRESSIONS as readonly string[]).includes(value)) {
    throw new Error(
      `CINDERBOX_BACKUP_COMPRESSION must be one of ${COMPRESSIONS.join(', ')}, not ${JSON.stringify(value)}`,
    );
  }
  return value as Compression;
}

/** Flags win over CINDERBOX_* environment variables, which win over defaults. */
export function loadConfig(input: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const dataDir = resolve(input.dataDir ?? env.CINDERBOX_DATA_DIR ?? '.cinderbox');
  const publicUrl = (input.publicUrl ?? env.CINDERBOX_PUBLIC_URL ?? '').replace(/\/+$/, '') || null;
  const dbUrl = input.databaseUrl ?? env.CINDERBOX_DATABASE_URL;
  const volumeBackends = chooseBackends(env);
  const targets = backupTargetsConfig({ targets: input.backupTargets, defaultTarget: input.defaultBackupTarget }, env);
  return {
    host: input.host ?? env.CINDERBOX_HOST ?? '127.0.0.1',
    port: input.port ?? intFromEnv('CINDERBOX_PORT', env) ?? 8776,
    dataDir,
    publicUrl,
    advertiseUrl: (input.advertiseUrl ?? env.CINDERBOX_ADVERTISE_URL ?? '').replace(/\/+$/, '') || null,
    serviceHost: nodeNameFrom(input.nodeName ?? (env.CINDERBOX_NODE_NAME || undefined) ?? (env.CINDERBOX_SERVICE_HOST || undefined)),
    ...serviceTimes(env),
    // On PostgreSQL other nodes enqueue work for this one (its local volumes), which only the poll picks up.
    taskPollMs: positiveFromEnv('CINDERBOX_TASK_POLL_MS', env) ?? (dbUrl && dbUrl !== 'sqlite' ? 1000 : 5000),
    region: 'RegionOne',
    availabilityZone: 'nova',
    database: databaseFromUrl(dbUrl, env),
    backends: volumeBackends.backends,
    volumeDriverReason: volumeBackends.reason,
    tokenTtlSeconds: intFromEnv('CINDERBOX_TOKEN_TTL', env) ?? 3600 * 4,
    bootstrapAdminPassword: env.CINDERBOX_ADMIN_PASSWORD || null,
    logLevel: input.logLevel ?? env.CINDERBOX_LOG_LEVEL ?? 'warn',
    taskLeaseSeconds: intFromEnv('CINDERBOX_TASK_LEASE', env) ?? 30,
    quotaDefaults: { ...DEFAULT_QUOTAS },
    backupKey: backupKeyFromEnv(env),
    backupCompression: backupCompressionFromEnv(env),
    backupTargets: targets.targets,
    defaultBackupTarget: targets.defaultTarget,
    regions: regionsConfig({ regions: input.regions }, env, targets.targets.map((t) => t.name)),
    loginThrottle: loginThrottleFrom(input.loginThrottle ?? {}, env),
    messageTtlSeconds: positiveFromEnv('CINDERBOX_MESSAGE_TTL', env) ?? 2_592_000,
    messageReapSeconds: positiveFromEnv('CINDERBOX_MESSAGE_REAP_INTERVAL', env) ?? 86_400,
  };
}

/**
 * A node name is a host name part of Cinder's `host@backend#pool`: it may not contain `@`, `#`, `/` or blanks
 * (they would make host filters and pool names ambiguous).
 */
export function nodeNameFrom(name: string | undefined): string {
  if (name === undefined) return 'cinderbox';
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$/.test(name)) {
    throw new Error(`node name ${JSON.stringify(name)} is not valid: use letters, digits, '.', '_', ':' and '-' (no '@', '#', '/' or spaces)`);
  }
  return name;
}

/** Heartbeat and down times; tests shrink them so a stopped node shows `down` in seconds. */
function serviceTimes(env: NodeJS.ProcessEnv): { serviceReportSeconds: number; serviceDownSeconds: number } {
  const serviceReportSeconds = positiveFromEnv('CINDERBOX_SERVICE_REPORT_SECONDS', env) ?? 10;
  const serviceDownSeconds = positiveFromEnv('CINDERBOX_SERVICE_DOWN_SECONDS', env) ?? 60;
  // Cinder warns when service_down_time is below 2.5 x report_interval: services would flap between up and down.
  if (serviceDownSeconds < 2 * serviceReportSeconds) {
    throw new Error(
      `CINDERBOX_SERVICE_DOWN_SECONDS (${serviceDownSeconds}) must be at least twice CINDERBOX_SERVICE_REPORT_SECONDS (${serviceReportSeconds})`,
    );
  }
  return { serviceReportSeconds, serviceDownSeconds };
}

export function backendHostName(config: Pick<ServerConfig, 'serviceHost'>, b: BackendConfig): string {
  return `${config.serviceHost}@${b.name}#${b.pool}`;
}
