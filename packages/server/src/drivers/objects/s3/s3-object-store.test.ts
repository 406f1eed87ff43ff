/**
 * The S3 adapter against a real S3 server: Ceph radosgw, started by scripts/test.sh (scripts/start-ceph.sh) and
 * found through CINDERBOX_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _REGION. Without them the S3 tests are
 * skipped with the reason; CINDERBOX_TEST_S3=require makes that a failure (CI).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { objectStoreConformance } from '../conformance.js';
import { parseS3Url, S3ObjectStore, S3StoreError } from './s3-object-store.js';
import {
  emptyAndClose,
  freshS3Store as freshStore,
  s3Unavailable as unavailable,
  skipOrFailWithoutS3,
  TEST_BUCKET as BUCKET,
  testS3Options as options,
} from './test-env.js';

/** A port nothing listens on: one the kernel just gave us, closed again. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('s3:// target URLs: bucket, prefix, endpoint, region and profile are read; credentials and junk are refused', () => {
  assert.deepEqual(parseS3Url('s3://backups/site-a/repo?endpoint=http://127.0.0.1:7480&region=default&profile=ops'), {
    bucket: 'backups',
    prefix: 'site-a/repo',
    endpoint: 'http://127.0.0.1:7480',
    region: 'default',
    profile: 'ops',
  });
  assert.deepEqual(parseS3Url('s3://backups'), { bucket: 'backups', prefix: '' });
  assert.throws(() => parseS3Url('s3://key:secret@backups/x'), /credentials do not belong/);
  assert.throws(() => parseS3Url('file:///srv/repo'), /not an s3:\/\/ URL/);
  assert.throws(() => parseS3Url('s3://backups/x?colour=blue'), /unknown s3:\/\/ URL parameter "colour"/);
  assert.throws(() => parseS3Url('s3://Bad_Bucket/x'), /invalid bucket name/);
  assert.throws(() => parseS3Url('s3://backups/a/../b'), /'.' and '..' segments/);
  assert.throws(() => parseS3Url('s3://backups/a b'), /invalid object key/);
});

if (unavailable) {
  test('S3 adapter on radosgw', skipOrFailWithoutS3);
} else {
  objectStoreConformance('s3 (radosgw)', async () => {
    const store = await freshStore();
    return { store, cleanup: () => emptyAndClose(store) };
  });

  describe('S3 adapter on radosgw', () => {
    test('create-only: the server refuses a second conditional PUT with 412, and put reports existed without rewriting', async () => {
      const store = await freshStore();
      try {
        await store.put('chunks/aa/k', Buffer.from('first'));
        // The server itself enforces If-None-Match (a fake S3 would overwrite silently).
        await assert.rejects(
          store.client.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: store.objectName('chunks/aa/k'), Body: 'x', IfNoneMatch: '*' }),
          ),
          (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412,
        );
        const before = await store.head('chunks/aa/k');
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(await store.put('chunks/aa/k', Buffer.from('second'), { touchExisting: true }), { existed: true });
        assert.equal((await store.get('chunks/aa/k')).toString(), 'first');
        const after = await store.head('chunks/aa/k');
        assert.ok((after?.mtime.getTime() ?? 0) > (before?.mtime.getTime() ?? 0), 'touchExisting moved the mtime');
      } finally {
        await emptyAndClose(store);
      }
    });

    test('list pages through more keys than one response holds', async () => {
      const store = await freshStore({ listPageSize: 2 });
      try {
        const keys = Array.from({ length: 7 }, (_, i) => `p/k${i}`);
        await Promise.all(keys.map((k) => store.put(k, Buffer.from(k))));
        const seen: string[] = [];
        for await (const o of store.list('p/')) seen.push(o.key);
        assert.deepEqual(seen.sort(), keys);
      } finally {
        await emptyAndClose(store);
      }
    });

    test('a large object is written as a multipart upload and read back as a stream, with memory bounded by the parts', async () => {
      const store = await freshStore({ partSize: 8 * 1024 * 1024, partConcurrency: 2 });
      const size = 128 * 1024 * 1024;
      const piece = 1024 * 1024;
      let peak = 0;
      const base = process.memoryUsage().rss;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss - base);
      }, 10);
      try {
        const written = createHash('sha256');
        // Generated as it is read: the whole object never exists in this process.
        const source = Readable.from(
          (function* () {
            for (let off = 0; off < size; off += piece) {
              const b = randomBytes(piece);
              written.update(b);
              yield b;
            }
          })(),
        );
        assert.deepEqual(await store.putStream('big/object', source), { size });
        const info = await store.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: store.objectName('big/object') }));
        assert.match(info.ETag ?? '', /-16"?$/, 'stored as 16 parts of 8 MiB');
        assert.equal((await store.head('big/object'))?.size, size);
        const read = createHash('sha256');
        let readBytes = 0;
        for await (const c of await store.getStream('big/object')) {
          read.update(c as Buffer);
          readBytes += (c as Buffer).length;
        }
        assert.equal(readBytes, size);
        assert.equal(read.digest('hex'), written.digest('hex'));
        // Parts of 8 MiB, two in flight plus one being filled: far below the object's 128 MiB.
        assert.ok(peak < 96 * 1024 * 1024, `memory grew by ${Math.round(peak / 1048576)} MiB for a 128 MiB object`);
      } finally {
        clearInterval(sampler);
        await emptyAndClose(store);
      }
    });

    test('wrong credentials: a clear error that names the target and the credentials, on every operation', async () => {
      await freshStore(); // the bucket exists: only the credentials are wrong
      const store = new S3ObjectStore(options({ prefix: 'x', credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong' } }));
      try {
        for (const op of [() => store.put('k', Buffer.from('x')), () => store.get('k'), () => store.head('k'), () => store.probe()]) {
          await assert.rejects(op(), (e: unknown) => {
            assert.ok(e instanceof S3StoreError, String(e));
            assert.equal(e.reason, 'auth');
            assert.equal(e.kind, 'serviceUnavailable');
            assert.match(e.message, /refused the credentials/);
            assert.ok(e.message.includes(`s3://${BUCKET}/x/`), e.message);
            return true;
          });
        }
      } finally {
        store.destroy();
      }
    });

    test('credentials from the standard chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a named profile', async () => {
      const seed = await freshStore();
      const { accessKeyId, secretAccessKey } = options().credentials ?? { accessKeyId: '', secretAccessKey: '' };
      const saved = { ...process.env };
      const dir = await mkdtemp(join(tmpdir(), 'cbx-aws-'));
      try {
        await seed.put('k', Buffer.from('from explicit credentials'));
        const fromEnv = new S3ObjectStore({ ...options({ prefix: seed.prefix }), credentials: undefined });
        process.env.AWS_ACCESS_KEY_ID = accessKeyId;
        process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
        assert.equal((await fromEnv.get('k')).toString(), 'from explicit credentials');
        fromEnv.destroy();
        delete process.env.AWS_ACCESS_KEY_ID;
        delete process.env.AWS_SECRET_ACCESS_KEY;
        await writeFile(join(dir, 'credentials'), `[cbx]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n`);
        await writeFile(join(dir, 'config'), '');
        process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
        process.env.AWS_CONFIG_FILE = join(dir, 'config');
        const fromProfile = new S3ObjectStore({ ...options({ prefix: seed.prefix }), credentials: undefined, profile: 'cbx' });
        assert.equal((await fromProfile.get('k')).toString(), 'from explicit credentials');
        fromProfile.destroy();
      } finally {
        for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE']) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
        await rm(dir, { recursive: true, force: true });
        await emptyAndClose(seed);
      }
    });

    test('a missing bucket is named as such', async () => {
      const store = new S3ObjectStore(options({ bucket: `cbx-missing-${randomBytes(4).toString('hex')}` }));
      try {
        await assert.rejects(store.put('k', Buffer.from('x')), (e: unknown) => {
          assert.ok(e instanceof S3StoreError, String(e));
          assert.equal(e.reason, 'bucket');
          assert.match(e.message, /no such bucket/);
          return true;
        });
      } finally {
        store.destroy();
      }
    });
  });
}

test('an endpoint that does not answer: a clear "unavailable" error naming the endpoint, after the retries', async () => {
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const store = new S3ObjectStore({
    bucket: 'cbx-down',
    endpoint,
    region: 'default',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 2,
  });
  try {
    const ops = [
      () => store.put('k', Buffer.from('x')),
      () => store.getStream('k'),
      () => store.probe(),
      async () => {
        for await (const _ of store.list('')) break;
      },
    ];
    for (const op of ops) {
      await assert.rejects(
        op(),
        (e: unknown) => {
          assert.ok(e instanceof S3StoreError, String(e));
          assert.equal(e.reason, 'unavailable');
          assert.equal(e.status, 503);
          assert.ok(e.message.includes(endpoint), e.message);
          return true;
        },
      );
    }
  } finally {
    store.destroy();
  }
});
