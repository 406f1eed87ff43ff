import { randomUUID } from 'node:crypto';
import { badRequest } from '../../domain/errors.js';

/** Keystone ids: uuid4 as 32 hex digits. */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
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
