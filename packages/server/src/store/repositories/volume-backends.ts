import type { Scope } from '../../domain/ports/metadata-store.js';
import { executor } from '../metadata-store.js';

/**
 * The backends (driver names) existing volumes were created on, so the composition root can open a backend the
 * configuration no longer lists. Belongs with the volumes repository once it exists (issue #14).
 */
export async function volumeBackendsInUse(scope: Scope): Promise<string[]> {
  const rows = await executor(scope).selectFrom('volumes').select('driver').distinct().orderBy('driver').execute();
  return rows.map((r) => r.driver);
}
