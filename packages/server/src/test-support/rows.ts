import type { Snapshot } from '../domain/snapshot.js';

/** A stored snapshot row for store-level tests: project `p`, volume `v`, available, named after its id. */
export function snapshotRow(id: string, over: Partial<Snapshot> = {}): Snapshot {
  return {
    id,
    project_id: 'p',
    user_id: 'u',
    volume_id: 'v',
    name: id,
    description: null,
    size: 1,
    status: 'available',
    progress: '100%',
    volume_type_id: null,
    use_quota: true,
    provider_location: null,
    hidden: false,
    created_at: '2026-12-07T00:00:00.000000',
    updated_at: null,
    ...over,
  };
}
