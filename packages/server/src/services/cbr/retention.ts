import { invalid } from './errors.js';

/** A policy's `operation_definition` after validation; -1 = unlimited, as on the wire. */
export interface Retention {
  max_backups: number;
  retention_duration_days: number;
  day_backups: number;
  week_backups: number;
  month_backups: number;
  year_backups: number;
  /** `UTC+01:00` form, or null when no long-term rule is set. */
  timezone: string | null;
}

const LONG_TERM = ['day_backups', 'week_backups', 'month_backups', 'year_backups'] as const;
const TZ_RE = /^UTC([+-])(\d{2}):(\d{2})$/;

/**
 * An operation_definition's retention, its fields already checked against the contract (a request's) or stored
 * after that check. The rules across fields are checked here, on the merged definition an update makes:
 * `retention_duration_days` cannot be combined with `max_backups` or the long-term counts; any long-term count
 * needs a timezone; with neither a count nor a duration, backups are kept forever.
 */
export function parseRetention(d: Record<string, unknown>): Retention {
  const out: Retention = {
    max_backups: typeof d.max_backups === 'number' ? d.max_backups : -1,
    retention_duration_days: typeof d.retention_duration_days === 'number' ? d.retention_duration_days : -1,
    day_backups: 0,
    week_backups: 0,
    month_backups: 0,
    year_backups: 0,
    timezone: null,
  };
  let longTerm = false;
  for (const k of LONG_TERM) {
    const n = d[k];
    if (typeof n !== 'number') continue;
    out[k] = n;
    if (out[k] > 0) longTerm = true;
  }
  if (typeof d.timezone === 'string') out.timezone = d.timezone;
  if (longTerm && out.timezone === null)
    throw invalid('operation_definition.timezone is required with day_backups, week_backups, month_backups or year_backups.');
  if (out.retention_duration_days !== -1 && (out.max_backups !== -1 || longTerm))
    throw invalid('retention_duration_days cannot be combined with max_backups or day/week/month/year_backups.');
  return out;
}

function parseOffset(tz: string): number | null {
  const m = TZ_RE.exec(tz);
  if (!m) return null;
  const h = Number(m[2]);
  const min = Number(m[3]);
  if (h > 14 || min > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (h * 60 + min) * 60_000;
}

export interface RetainedBackup {
  id: string;
  createdAt: Date;
  /** Immutable until a later instant (cinderbox extension): never expired, whatever the rules say. */
  locked?: boolean;
}

function periodKey(kind: (typeof LONG_TERM)[number], local: Date): string {
  const y = local.getUTCFullYear();
  switch (kind) {
    case 'day_backups':
      return local.toISOString().slice(0, 10);
    case 'week_backups': {
      const day = Math.floor(local.getTime() / 86_400_000);
      return `w${Math.floor((day - 4) / 7)}`;
    }
    case 'month_backups':
      return `${y}-${local.getUTCMonth()}`;
    case 'year_backups':
      return `${y}`;
  }
}

/**
 * The backups of one resource that the rules remove. The newest is never removed. `max_backups` keeps the newest
 * N; each long-term count keeps the newest backup of each of the N latest days/weeks/months/years (in the policy's
 * timezone) that hold a backup, in addition; `retention_duration_days` removes what is older than N days.
 */
export function expiredBackups(backups: RetainedBackup[], r: Retention, now: Date): string[] {
  // Locked backups still count towards max_backups and the periods: a lock postpones a deletion, it does not make
  // the rules keep more; the next run after the lock ends deletes them.
  const locked = new Set(backups.filter((b) => b.locked).map((b) => b.id));
  return expiredIgnoringLocks(backups, r, now).filter((id) => !locked.has(id));
}

/** `expiredBackups` for each resource's backups on their own (rules count per protected resource). */
export function expiredPerResource<B extends { id: string; resource_id: string }>(
  backups: readonly B[],
  r: Retention,
  now: Date,
  describe: (b: B) => RetainedBackup,
): string[] {
  const byResource = new Map<string, B[]>();
  for (const b of backups) {
    const list = byResource.get(b.resource_id);
    if (list) list.push(b);
    else byResource.set(b.resource_id, [b]);
  }
  return [...byResource.values()].flatMap((list) => expiredBackups(list.map(describe), r, now));
}

function expiredIgnoringLocks(backups: RetainedBackup[], r: Retention, now: Date): string[] {
  const sorted = [...backups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
  if (sorted.length <= 1) return [];
  const newest = sorted[0]!.id;
  if (r.retention_duration_days !== -1) {
    const cutoff = now.getTime() - r.retention_duration_days * 86_400_000;
    return sorted.filter((b) => b.id !== newest && b.createdAt.getTime() < cutoff).map((b) => b.id);
  }
  if (r.max_backups === -1) return [];
  const keep = new Set(sorted.slice(0, r.max_backups).map((b) => b.id));
  const offset = r.timezone ? (parseOffset(r.timezone) ?? 0) : 0;
  for (const kind of LONG_TERM) {
    const n = r[kind];
    if (n <= 0) continue;
    const seen = new Set<string>();
    for (const b of sorted) {
      const key = periodKey(kind, new Date(b.createdAt.getTime() + offset));
      if (seen.has(key)) continue;
      if (seen.size >= n) break;
      seen.add(key);
      keep.add(b.id);
    }
  }
  keep.add(newest);
  return sorted.filter((b) => !keep.has(b.id)).map((b) => b.id);
}
