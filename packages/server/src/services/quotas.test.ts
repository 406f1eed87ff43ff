import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_QUOTAS } from '../config/config.js';
import { DomainError } from '../domain/errors.js';
import type { MetadataStore } from '../domain/ports/metadata-store.js';
import { openTestDatabase } from '../test-support/harness.js';
import { metadataOver, type OpenedMetadata } from '../wiring.js';
import { QuotaService } from './quotas.js';
import { VolumeTypeService } from './volume-types.js';

describe('quota service', () => {
  let dir: string;
  let metadata: OpenedMetadata;
  let quotas: QuotaService;
  let store: MetadataStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-quota-'));
    // Once per store, as the HTTP suites run: a fresh PostgreSQL database when CINDERBOX_TEST_DATABASE_URL is set.
    metadata = metadataOver(await openTestDatabase(dir));
    store = metadata.store;
    quotas = new QuotaService(store, metadata.quotas, DEFAULT_QUOTAS, new VolumeTypeService(store, metadata.volumeTypes));
  });
  after(async () => {
    await metadata.database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('reservations count up to the limit and the next one is a 413 with Cinder text', async () => {
    await quotas.setLimits('p1', { snapshots: 2 });
    for (let i = 0; i < 2; i++) await store.transaction((tx) => quotas.reserve(tx, 'p1', { snapshots: 1, gigabytes: 1 }));
    await assert.rejects(
      store.transaction((tx) => quotas.reserve(tx, 'p1', { snapshots: 1, gigabytes: 1 })),
      (e: unknown) => e instanceof DomainError && e.status === 413 && e.message.startsWith('SnapshotLimitExceeded') && e.retryAfter === 0,
    );
    assert.deepEqual(await quotas.usage('p1'), { snapshots: 2, gigabytes: 2 });
  });

  test('usage near the 32-bit top is a 413, never an integer overflow in the store, limited or unlimited', async () => {
    const top = 2147483647;
    await quotas.setLimits('p-top', { gigabytes: top, per_volume_gigabytes: -1 });
    await store.transaction((tx) => quotas.reserve(tx, 'p-top', { gigabytes: top - 1 }));
    for (const gigabytes of [2, top]) {
      await assert.rejects(
        store.transaction((tx) => quotas.reserve(tx, 'p-top', { gigabytes })),
        (e: unknown) => e instanceof DomainError && e.status === 413,
      );
    }
    await quotas.setLimits('p-top', { gigabytes: -1 });
    await store.transaction((tx) => quotas.reserve(tx, 'p-top', { gigabytes: 1 }));
    await assert.rejects(
      store.transaction((tx) => quotas.reserve(tx, 'p-top', { gigabytes: 1 })),
      (e: unknown) => e instanceof DomainError && e.status === 413,
    );
    assert.equal((await quotas.usage('p-top')).gigabytes, top);
  });

  test('a refused reservation rolls back every resource of the same request', async () => {
    await quotas.setLimits('p2', { gigabytes: 5 });
    await assert.rejects(store.transaction((tx) => quotas.reserve(tx, 'p2', { volumes: 1, gigabytes: 6 })), /VolumeSizeExceedsAvailableQuota/);
    assert.deepEqual(await quotas.usage('p2'), {});
  });

  test('release gives capacity back; -1 is unlimited; per-volume limit is checked', async () => {
    await quotas.setLimits('p3', { volumes: -1, per_volume_gigabytes: 3 });
    await store.transaction((tx) => quotas.reserve(tx, 'p3', { volumes: 50 }));
    await store.transaction((tx) => quotas.release(tx, 'p3', { volumes: 20 }));
    assert.equal((await quotas.usage('p3')).volumes, 30);
    await assert.rejects(store.transaction((tx) => quotas.reserve(tx, 'p3', { volume_size: 4, gigabytes: 4 })), /VolumeSizeExceedsLimit/);
  });

  test('a limit below current usage is refused; reset returns to defaults', async () => {
    await store.transaction((tx) => quotas.reserve(tx, 'p4', { volumes: 3 }));
    await assert.rejects(quotas.setLimits('p4', { volumes: 2 }), (e: unknown) => e instanceof DomainError && e.status === 400);
    await quotas.setLimits('p4', { volumes: 7 });
    assert.equal((await quotas.limits('p4')).volumes, 7);
    await quotas.resetLimits('p4');
    assert.equal((await quotas.limits('p4')).volumes, DEFAULT_QUOTAS.volumes);
    assert.equal((await quotas.limits('p4')).snapshots___DEFAULT__, -1);
  });
});
