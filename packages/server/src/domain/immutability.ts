/**
 * Immutable backups (a cinderbox extension): a backup made on a target configured with `lock_days=N`, or in a CBR
 * vault created with `lock_days`, records the end of its retention (`locked_until`). Before that instant no API
 * deletes it (Cinder delete and force-delete, CBR delete, retention policies); on S3 with Object Lock the store
 * itself refuses too. The lock is the longer of the target's and the vault's.
 */
import { parseStoredTime, storedTime } from './time.js';

const DAY_MS = 24 * 3600 * 1000;

/** Upper bound of lock days (100 years), for the API and target URLs alike. */
export const MAX_LOCK_DAYS = 36500;

const HOUR_MS = 3600 * 1000;

/**
 * The retention end of a backup created at `now` (stored time) with these lock periods; null when none applies.
 * `now` + the longest period, rounded up to a multiple of a step of a quarter of that period (whole hours, at
 * least one hour, at most 7 days): backups made within one step share their end, so on an Object Lock store an
 * incremental finds the chunks it shares with its parent already held to its own date and extends only its new
 * ones (BackupRepository.retain). A lock thus lasts at least the days asked for, and at most one step longer.
 */
export function lockedUntilFor(now: string, ...days: Array<number | null | undefined>): string | null {
  const d = Math.max(0, ...days.map((x) => x ?? 0));
  if (d <= 0) return null;
  const period = d * DAY_MS;
  const step = lockStep(period);
  return storedTime(new Date(Math.ceil((parseStoredTime(now).getTime() + period) / step) * step));
}

/** The rounding step of a lock period (see lockedUntilFor). */
export function lockStep(periodMs: number): number {
  return Math.min(7 * DAY_MS, Math.max(HOUR_MS, Math.round(periodMs / 4 / HOUR_MS) * HOUR_MS));
}

/**
 * Whether a backup is still locked at `now` (stored times compare as text). Only a committed backup (it has a
 * manifest, so its locator is set) is: one that failed or never finished was not retained on the store, and
 * refusing to delete it would keep a useless record for the whole period.
 */
export function isLocked(b: { locked_until: string | null; locator: string | null }, now: string): boolean {
  return b.locator !== null && b.locked_until !== null && b.locked_until > now;
}
