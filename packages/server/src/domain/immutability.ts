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

/** The retention end of a backup created at `now` (stored time) with these lock periods; null when none applies. */
export function lockedUntilFor(now: string, ...days: Array<number | null | undefined>): string | null {
  const d = Math.max(0, ...days.map((x) => x ?? 0));
  if (d <= 0) return null;
  return storedTime(new Date(parseStoredTime(now).getTime() + d * DAY_MS));
}

/**
 * Whether a backup is still locked at `now` (stored times compare as text). Only a committed backup (it has a
 * manifest, so its locator is set) is: one that failed or never finished was not retained on the store, and
 * refusing to delete it would keep a useless record for the whole period.
 */
export function isLocked(b: { locked_until: string | null; locator: string | null }, now: string): boolean {
  return b.locator !== null && b.locked_until !== null && b.locked_until > now;
}
