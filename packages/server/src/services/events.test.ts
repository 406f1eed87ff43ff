/**
 * The change bus is fed after commit: a status written in a transaction is published once it commits, never for
 * a transaction rolled back, and at once outside any transaction (a real store, SQLite or PostgreSQL).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Volume } from '../domain/volume.js';
import { openTestDatabase } from '../test-support/harness.js';
import { metadataOver, type OpenedMetadata } from '../wiring.js';
import { type ChangeEvent, ChangeEvents, observeChanges } from './events.js';

let dir: string;
let raw: OpenedMetadata;
let m: OpenedMetadata;
const bus = new ChangeEvents({ now: () => new Date('2026-12-07T10:00:00Z') });
const seen: ChangeEvent[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-events-'));
  raw = metadataOver(await openTestDatabase(dir));
  m = observeChanges(raw, bus);
  bus.subscribe((e) => seen.push(e));
});
after(async () => {
  await raw.database.close();
  await rm(dir, { recursive: true, force: true });
});

async function defaultTypeId(): Promise<string> {
  const t = await raw.volumeTypes.byName(raw.store.root, '__DEFAULT__');
  return t!.id;
}

function volume(typeId: string): Volume {
  return {
    id: randomUUID(),
    project_id: 'p1',
    user_id: 'u1',
    name: null,
    description: null,
    size: 1,
    status: 'creating',
    previous_status: null,
    attach_status: 'detached',
    migration_status: null,
    availability_zone: 'nova',
    volume_type_id: typeId,
    snapshot_id: null,
    source_volid: null,
    backup_id: null,
    bootable: false,
    multiattach: false,
    host: 'cinderbox@raw#raw',
    driver: 'raw',
    provider_location: null,
    use_quota: true,
    created_at: '2026-12-07T10:00:00.000000',
    updated_at: null,
  };
}

test('a change inside a transaction is published after the commit, none for a rollback, at once outside one', async () => {
  const v = volume(await defaultTypeId());
  await m.store.transaction(async (tx) => {
    await m.blockStorage.volumes.insert(tx, v);
    assert.equal(seen.length, 0, 'nothing before the commit');
  });
  assert.deepEqual(seen, [{ type: 'volume', id: v.id, status: 'creating', progress: null, project_id: 'p1', at: '2026-12-07T10:00:00.000Z' }]);

  await assert.rejects(
    m.store.transaction(async (tx) => {
      const t = await m.blockStorage.volumes.transition(tx, v.id, ['creating'], 'available');
      assert.ok(t.ok);
      throw new Error('changed my mind');
    }),
    /changed my mind/,
  );
  assert.equal(seen.length, 1, 'a rolled-back transition is not published');

  // A guarded move that does not happen says nothing either.
  assert.equal((await m.blockStorage.volumes.transition(m.store.root, v.id, ['in-use'], 'available')).ok, false);
  assert.equal(seen.length, 1);

  assert.ok((await m.blockStorage.volumes.transition(m.store.root, v.id, ['creating'], 'available')).ok);
  assert.equal(seen.at(-1)?.status, 'available');
  await m.blockStorage.volumes.remove(m.store.root, v.id);
  assert.equal(seen.at(-1)?.status, 'deleted');
  assert.equal(seen.length, 3);
});

test('a listener that throws does not keep the others from hearing the change', () => {
  const heard: string[] = [];
  const off1 = bus.subscribe(() => {
    throw new Error('closed socket');
  });
  const off2 = bus.subscribe((e) => heard.push(e.id));
  bus.publish({ type: 'repo-job', id: 'j1', status: 'running', progress: 0, project_id: 'p1' });
  off1();
  off2();
  assert.deepEqual(heard, ['j1']);
});
