/**
 * The S3 server of the tests (not part of the runtime): Ceph radosgw, started by scripts/test.sh with
 * scripts/start-ceph.sh and found through CINDERBOX_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _REGION.
 * Without them S3 tests skip, saying why; CINDERBOX_TEST_S3=require makes that a failure (CI).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.js';

const env = {
  endpoint: process.env.CINDERBOX_TEST_S3_ENDPOINT,
  accessKeyId: process.env.CINDERBOX_TEST_S3_ACCESS_KEY,
  secretAccessKey: process.env.CINDERBOX_TEST_S3_SECRET_KEY,
  region: process.env.CINDERBOX_TEST_S3_REGION ?? 'default',
};

/** Why S3 tests cannot run here, or null when they can. */
export const s3Unavailable: string | null =
  env.endpoint && env.accessKeyId && env.secretAccessKey
    ? null
    : 'no S3 server: CINDERBOX_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY are not set (scripts/test.sh starts radosgw with scripts/start-ceph.sh)';

/** The test that stands in for S3 tests that cannot run: skipped with the reason, or failed under require. */
export function skipOrFailWithoutS3(t: TestContext): void {
  const why = s3Unavailable ?? 'S3 is available';
  if (process.env.CINDERBOX_TEST_S3 === 'require') assert.fail(`CINDERBOX_TEST_S3=require, but ${why}`);
  t.skip(why);
}

/** One bucket per test process; each store gets a fresh prefix in it. */
export const TEST_BUCKET = `cbx-test-${process.pid}-${randomBytes(3).toString('hex')}`;

export function testS3Options(extra: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions {
  return {
    bucket: TEST_BUCKET,
    endpoint: env.endpoint,
    region: env.region,
    credentials: { accessKeyId: env.accessKeyId ?? '', secretAccessKey: env.secretAccessKey ?? '' },
    ...extra,
  };
}

let bucketReady: Promise<void> | undefined;

/** A store on a fresh prefix of the test bucket (or on `extra.prefix`): no other test sees its keys. */
export async function freshS3Store(extra: Partial<S3ObjectStoreOptions> = {}): Promise<S3ObjectStore> {
  const store = new S3ObjectStore(testS3Options({ prefix: `t-${randomBytes(6).toString('hex')}`, ...extra }));
  bucketReady ??= store.ensureBucket();
  await bucketReady;
  return store;
}

/** Deletes every object of the store's prefix and closes its client. */
export async function emptyAndClose(store: S3ObjectStore): Promise<void> {
  try {
    for await (const o of store.list('')) await store.delete(o.key);
  } finally {
    store.destroy();
  }
}
