/** The clock is a port so that schedulers and token expiry can be tested without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * Stored timestamps are UTC text with microseconds and no zone (`2026-11-23T14:58:44.123000`): they sort
 * lexically on SQLite and PostgreSQL alike, and they are already Cinder's wire format.
 */
export function storedTime(d: Date): string {
  return `${d.toISOString().slice(0, 23)}000`;
}

/** Keystone's format: the same instant with a trailing `Z` (Tempest parses it strictly). */
export function keystoneTime(stored: string | Date): string {
  const s = typeof stored === 'string' ? stored : storedTime(stored);
  return `${s}Z`;
}

export function parseStoredTime(s: string): Date {
  return new Date(`${s.slice(0, 23)}Z`);
}
