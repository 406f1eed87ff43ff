import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SnapshotRecord } from '../../services/block-storage/index.js';
import { ApiVersion, MAX_VERSION } from '../common/api-version.js';
import { SNAPSHOTS_LIST, usesStoredHead } from '../../store/list-query.js';
import { snapshotDetailFields, snapshotDetailView } from './views.js';

const rec: SnapshotRecord = {
  snapshot: {
    id: 'sid',
    project_id: 'pid',
    user_id: 'uid',
    volume_id: 'vid',
    name: 'n',
    description: null,
    size: 3,
    status: 'available',
    progress: '100%',
    volume_type_id: null,
    use_quota: true,
    provider_location: 'secret',
    hidden: false,
    created_at: 'c',
    updated_at: null,
    group_snapshot_id: 'gs',
  },
  metadata: { k: 'v' },
  groupSnapshotId: 'gs',
};

const BASE = ['id', 'created_at', 'updated_at', 'name', 'description', 'volume_id', 'status', 'size', 'metadata'];
const EXT = ['os-extended-snapshot-attributes:progress', 'os-extended-snapshot-attributes:project_id'];

// The show and detail-list views at the base and the newest microversions are written as single literals; every
// microversion must still show exactly Cinder's keys, in one order, with the record's values.
test('snapshot detail view: the keys of each microversion, in order, with or without the extension attributes', () => {
  const cases: [string, boolean, string[]][] = [
    ['3.0', true, [...BASE, ...EXT]],
    ['3.13', true, [...BASE, ...EXT]],
    ['3.14', true, [...BASE, 'group_snapshot_id', ...EXT]],
    ['3.41', true, [...BASE, 'group_snapshot_id', 'user_id', ...EXT]],
    ['3.64', true, [...BASE, 'group_snapshot_id', 'user_id', ...EXT]],
    ['3.65', true, [...BASE, 'group_snapshot_id', 'user_id', 'consumes_quota', ...EXT]],
    [`${MAX_VERSION.major}.${MAX_VERSION.minor}`, true, [...BASE, 'group_snapshot_id', 'user_id', 'consumes_quota', ...EXT]],
    ['3.0', false, BASE],
    ['3.65', false, [...BASE, 'group_snapshot_id', 'user_id', 'consumes_quota']],
  ];
  for (const [v, extended, keys] of cases) {
    const [major, minor] = v.split('.').map(Number) as [number, number];
    const view = snapshotDetailView(rec, new ApiVersion(major, minor), extended) as Record<string, unknown>;
    assert.deepEqual(Object.keys(view), keys, `${v} extended=${extended}`);
    const want: Record<string, unknown> = {
      id: 'sid', created_at: 'c', updated_at: null, name: 'n', description: null, volume_id: 'vid', status: 'available',
      size: 3, metadata: { k: 'v' }, group_snapshot_id: 'gs', user_id: 'uid', consumes_quota: true,
      'os-extended-snapshot-attributes:progress': '100%', 'os-extended-snapshot-attributes:project_id': 'pid',
    };
    for (const k of keys) assert.deepEqual(view[k], want[k], `${v} ${k}`);
  }
});

test('the snapshot detail fields at every microversion gate set reuse the stored rendering (migration 0033)', () => {
  // Fields the stored head does not cover still list correctly (json_object per row), but lose the concatenation
  // path silently: a field added to the view needs the head re-rendered by a migration, or belongs to the gated ones.
  for (const v of ['3.0', '3.13', '3.14', '3.40', '3.41', '3.64', '3.65', MAX_VERSION.toString()]) {
    const [maj, min] = v.split('.').map(Number) as [number, number];
    assert.ok(usesStoredHead(SNAPSHOTS_LIST, snapshotDetailFields(new ApiVersion(maj, min))), `at ${v}`);
  }
});
