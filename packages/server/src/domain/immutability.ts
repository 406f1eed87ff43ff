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

const HOUR_MS = 3600 * 1000;

/**
 * The retention actually set on the store for a backup that must stay until `until`: rounded up to the next
 * multiple of a step of a quarter of the remaining period (whole hours, at least one hour, at most 7 days). Chained
 * incrementals inside one step then find the chunks they share with their parent already held long enough and
 * extend nothing but their new chunks (BackupRepository.retain); the price is holding objects on the store at most
 * one step (≤ 25 %, ≤ 7 days) past `locked_until`. The API's own refusal still ends at `locked_until`.
 */
export function storeRetentionEnd(until: Date, now: Date = new Date()): Date {
  const period = Math.max(0, until.getTime() - now.getTime());
  const step = Math.min(7 * DAY_MS, Math.max(HOUR_MS, Math.round(period / 4 / HOUR_MS) * HOUR_MS));
  return new Date(Math.ceil(until.getTime() / step) * step);
}
