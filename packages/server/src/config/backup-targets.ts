/**
 * Backup targets from the command line and the environment: `NAME=s3://bucket/prefix?endpoint=URL&region=R`
 * or `NAME=file:///absolute/path`, repeatable (`serve --backup-target`, or CINDERBOX_BACKUP_TARGETS with the
 * specs separated by whitespace), and which one is the default (`--default-backup-target`,
 * CINDERBOX_DEFAULT_BACKUP_TARGET; otherwise the first configured one; with none configured, the data
 * directory's repository, target `default`, as before targets existed).
 */
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR_TARGET } from '../domain/ports/backup-targets.js';
import { parseS3Url, type S3ObjectStoreOptions } from '../drivers/objects/s3/s3-options.js';

/** Also a valid Cinder container name, so a backup's `container` can name a target. */
export const TARGET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Immutability of a target (`lock_days=N`, optional `lock_mode=compliance|governance`; see README, Immutable backups). */
export interface TargetLock {
  /** Each new backup's retention in days (1-36500). */
  lockDays?: number;
}

export type BackupTargetSpec =
  | ({ name: string; kind: 's3'; url: string; s3: S3ObjectStoreOptions } & TargetLock)
  | ({ name: string; kind: 'file'; url: string; path: string } & TargetLock);

/** Takes the lock parameters out of a target URL (the rest goes to the URL's own parser). */
function splitLock(url: string): { url: string; lockDays?: number; lockMode?: 'COMPLIANCE' | 'GOVERNANCE' } {
  const q = url.indexOf('?');
  if (q < 0) return { url };
  const params = new URLSearchParams(url.slice(q + 1));
  const days = params.get('lock_days');
  const mode = params.get('lock_mode');
  params.delete('lock_days');
  params.delete('lock_mode');
  const rest = params.toString();
  const out: ReturnType<typeof splitLock> = { url: url.slice(0, q) + (rest ? `?${rest}` : '') };
  if (days !== null) {
    if (!/^[0-9]{1,5}$/.test(days) || Number(days) < 1 || Number(days) > 36500) throw new Error(`lock_days must be a whole number of days from 1 to 36500, not ${JSON.stringify(days)}`);
    out.lockDays = Number(days);
  }
  if (mode !== null) {
    const m = mode.toUpperCase();
    if (m !== 'COMPLIANCE' && m !== 'GOVERNANCE') throw new Error(`lock_mode must be compliance or governance, not ${JSON.stringify(mode)}`);
    if (days === null) throw new Error('lock_mode needs lock_days');
    out.lockMode = m;
  }
  return out;
}

export interface BackupTargetsConfig {
  targets: BackupTargetSpec[];
  /** Always set: `default` (the data directory's repository) when nothing else is configured. */
  defaultTarget: string;
}

/** One `NAME=URL`; every defect is an error naming the spec. */
export function parseBackupTarget(spec: string): BackupTargetSpec {
  const eq = spec.indexOf('=');
  const fail = (why: string) => new Error(`backup target ${JSON.stringify(spec)}: ${why}`);
  if (eq <= 0) throw fail('expected NAME=s3://bucket/prefix?endpoint=URL&region=R or NAME=file:///path');
  const name = spec.slice(0, eq);
  let lock: ReturnType<typeof splitLock>;
  try {
    lock = splitLock(spec.slice(eq + 1));
  } catch (e) {
    throw fail((e as Error).message);
  }
  const url = lock.url;
  const lockDays = lock.lockDays === undefined ? {} : { lockDays: lock.lockDays };
  if (!TARGET_NAME_RE.test(name)) throw fail("the name must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
  if (name === DATA_DIR_TARGET) throw fail(`the name ${DATA_DIR_TARGET} is the data directory's repository`);
  if (url.startsWith('s3://')) {
    try {
      const s3 = parseS3Url(url);
      // COMPLIANCE unless asked: a lock that an administrator's credentials can lift does not stop an attacker who stole them.
      if (lock.lockDays !== undefined) s3.objectLock = { mode: lock.lockMode ?? 'COMPLIANCE' };
      return { name, kind: 's3', url: spec.slice(eq + 1), s3, ...lockDays };
    } catch (e) {
      throw fail((e as Error).message);
    }
  }
  if (url.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (e) {
      throw fail((e as Error).message);
    }
    if (!isAbsolute(path) || path === '/') throw fail('a file:// target needs an absolute directory other than /');
    if (lock.lockMode !== undefined) throw fail('lock_mode is for s3:// targets (a directory has no Object Lock)');
    return { name, kind: 'file', url: spec.slice(eq + 1), path, ...lockDays };
  }
  throw fail('only s3:// and file:// targets are supported');
}

/** The configured targets and the default; names must be unique and the default one of them (or `default`). */
export function backupTargetsConfig(
  input: { targets?: string[]; defaultTarget?: string },
  env: NodeJS.ProcessEnv,
): BackupTargetsConfig {
  const specs = input.targets ?? (env.CINDERBOX_BACKUP_TARGETS ?? '').split(/\s+/).filter(Boolean);
  const targets = specs.map(parseBackupTarget);
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.name)) throw new Error(`backup target ${JSON.stringify(t.name)} is configured twice`);
    seen.add(t.name);
  }
  const chosen = input.defaultTarget ?? (env.CINDERBOX_DEFAULT_BACKUP_TARGET || undefined);
  if (chosen !== undefined && chosen !== DATA_DIR_TARGET && !seen.has(chosen)) {
    throw new Error(
      `the default backup target ${JSON.stringify(chosen)} is not configured (configured: ${[DATA_DIR_TARGET, ...seen].join(', ')})`,
    );
  }
  return { targets, defaultTarget: chosen ?? targets[0]?.name ?? DATA_DIR_TARGET };
}
