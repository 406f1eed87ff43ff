import { randomUUID } from 'node:crypto';
import { badRequest } from '../../domain/errors.js';

/** Keystone ids: uuid4 as 32 hex digits. */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  // better-sqlite3 and pg respectively.
  return code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

export function parseJsonObject(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function parseJsonStrings(text: string | null): string[] {
  if (!text) return [];
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Keystone's rule for tags: no commas or slashes, 1–255 characters, at most 80 per project. */
export function checkTags(tags: string[]): void {
  if (tags.length > 80) throw badRequest('Invalid input for field \'tags\': a project may have at most 80 tags.');
  for (const t of tags) {
    if (t.length === 0 || t.length > 255 || t.includes(',') || t.includes('/')) {
      throw badRequest(`Invalid input for field 'tags': '${t}' is not a valid tag (1-255 characters, no ',' or '/').`);
    }
  }
  if (new Set(tags).size !== tags.length) throw badRequest("Invalid input for field 'tags': tags must be unique.");
}
