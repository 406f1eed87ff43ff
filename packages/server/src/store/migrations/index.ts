import type { Migration, MigrationProvider } from 'kysely';
import { initial } from './0001-initial.js';

/** In-code provider: no directory scanning, so the compiled server and tsx runs see the same list. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
