import { randomUUID } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';

/** Cinder always has a default volume type named `__DEFAULT__`; volumes created without a type get it. */
export const defaultVolumeType: Migration = {
  async up(db: Kysely<unknown>) {
    const k = db as unknown as Kysely<{
      volume_types: {
        id: string;
        name: string;
        description: string | null;
        is_public: number;
        extra_specs: string;
        created_at: string;
      };
    }>;
    const existing = await k
      .selectFrom('volume_types')
      .select('id')
      .where('name', '=', '__DEFAULT__')
      .executeTakeFirst();
    if (existing) return;
    await k
      .insertInto('volume_types')
      .values({
        id: randomUUID(),
        name: '__DEFAULT__',
        description: 'Default Volume Type',
        is_public: 1,
        extra_specs: '{}',
        created_at: `${new Date().toISOString().slice(0, 23)}000`,
      })
      .execute();
  },
};
