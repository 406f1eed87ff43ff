/**
 * The one conformance suite every ObjectStore adapter must pass (fs now, S3 later). Call it from the adapter's
 * test file with a factory that returns a fresh, empty store:
 *
 *   objectStoreConformance('fs', async () => ({ store, cleanup }));
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { ObjectInfo, ObjectStore } from '../../domain/ports/object-store.js';

export interface ConformanceFixture {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of it) out.push(o);
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

async function readStream(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as { code?: unknown }).code, code);
    return true;
  });
}

export function objectStoreConformance(name: string, factory: () => Promise<ConformanceFixture>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    const withStore = (fn: (store: ObjectStore) => Promise<void>) => async () => {
      const fx = await factory();
      try {
        await fn(fx.store);
      } finally {
        await fx.cleanup();
      }
    };

    test(
      'put then get returns the same bytes, and head reports the size',
      withStore(async (store) => {
        const data = randomBytes(300_000);
        assert.deepEqual(await store.put('a/b/obj1', data), { existed: false });
        assert.ok((await store.get('a/b/obj1')).equals(data));
        const info = await store.head('a/b/obj1');
        assert.equal(info?.size, data.length);
        assert.equal(info?.key, 'a/b/obj1');
        assert.ok(info.mtime instanceof Date);
        assert.ok((await readStream(await store.getStream('a/b/obj1'))).equals(data));
      }),
    );

    test(
      'onDataReleased: the caller may reuse its buffer from then on, and the object keeps the bytes it had',
      withStore(async (store) => {
        const data = randomBytes(200_000);
        const original = Buffer.from(data);
        let releasedBeforeSettled = false;
        let settled = false;
        const put = store.put('reuse/obj', data, {
          onDataReleased: () => {
            releasedBeforeSettled = !settled;
            data.fill(0xee);
          },
        });
        await put;
        settled = true;
        assert.ok(releasedBeforeSettled, 'onDataReleased ran before put() settled');
        assert.ok((await store.get('reuse/obj')).equals(original));
      }),
    );

    test(
      'empty objects round-trip',
      withStore(async (store) => {
        await store.put('empty', Buffer.alloc(0));
        assert.equal((await store.get('empty')).length, 0);
        assert.equal((await store.head('empty'))?.size, 0);
      }),
    );

    test(
      'put is create-only: a second put reports existed and keeps the first content',
      withStore(async (store) => {
        await store.put('k', Buffer.from('first'));
        assert.deepEqual(await store.put('k', Buffer.from('second')), { existed: true });
        assert.equal((await store.get('k')).toString(), 'first');
      }),
    );

    test(
      'put with overwrite replaces the content',
      withStore(async (store) => {
        await store.put('k', Buffer.from('first'));
        await store.put('k', Buffer.from('second'), { overwrite: true });
        assert.equal((await store.get('k')).toString(), 'second');
      }),
    );

    test(
      'concurrent create-only puts of one key: exactly one creates it',
      withStore(async (store) => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.put('race/k', Buffer.from(`writer-${i}`))),
        );
        assert.equal(results.filter((r) => !r.existed).length, 1);
        assert.match((await store.get('race/k')).toString(), /^writer-\d$/);
      }),
    );

    test(
      'missing objects: get rejects ENOENT, head is null, delete returns false, touch rejects ENOENT',
      withStore(async (store) => {
        await rejectsWithCode(store.get('nope/x'), 'ENOENT');
        await rejectsWithCode(store.getStream('nope/x'), 'ENOENT');
        assert.equal(await store.head('nope/x'), null);
        assert.equal(await store.delete('nope/x'), false);
        await rejectsWithCode(store.touch('nope/x'), 'ENOENT');
      }),
    );

    test(
      'delete removes the object and is idempotent',
      withStore(async (store) => {
        await store.put('d/x', Buffer.from('x'));
        assert.equal(await store.delete('d/x'), true);
        assert.equal(await store.head('d/x'), null);
        assert.equal(await store.delete('d/x'), false);
        await store.flush();
      }),
    );

    test(
      'list yields exactly the keys with the prefix, across nesting levels',
      withStore(async (store) => {
        for (const k of ['chunks/ab/1', 'chunks/ab/2', 'chunks/cd/3', 'chunksX/4', 'backups/c1/b.manifest', 'config']) {
          await store.put(k, Buffer.from(k));
        }
        const keys = async (p: string) => (await collect(store.list(p))).map((o) => o.key);
        assert.deepEqual(await keys('chunks/'), ['chunks/ab/1', 'chunks/ab/2', 'chunks/cd/3']);
        assert.deepEqual(await keys('chunks/ab/'), ['chunks/ab/1', 'chunks/ab/2']);
        assert.deepEqual(await keys('chunks'), ['chunks/ab/1', 'chunks/ab/2', 'chunks/cd/3', 'chunksX/4']);
        assert.deepEqual(await keys('backups/c1/b'), ['backups/c1/b.manifest']);
        assert.deepEqual(await keys('nothing/'), []);
        const all = await collect(store.list(''));
        assert.equal(all.length, 6);
        assert.equal(all.find((o) => o.key === 'config')?.size, 'config'.length);
      }),
    );

    test(
      'touch moves mtime forward',
      withStore(async (store) => {
        await store.put('t', Buffer.from('t'));
        const before = (await store.head('t'))?.mtime.getTime() ?? 0;
        await new Promise((r) => setTimeout(r, 30));
        await store.touch('t');
        const after = (await store.head('t'))?.mtime.getTime() ?? 0;
        assert.ok(after > before, `mtime ${after} should be after ${before}`);
      }),
    );

    test(
      'keys that could escape the store or alias another key are rejected with EINVAL',
      withStore(async (store) => {
        for (const bad of ['', '/abs', '../x', 'a/../b', 'a//b', 'a/./b', 'a/', 'sp ace', 'a\\b', 'nul\0']) {
          await rejectsWithCode(store.put(bad, Buffer.from('x')), 'EINVAL');
          await rejectsWithCode(store.get(bad), 'EINVAL');
          await rejectsWithCode(store.head(bad), 'EINVAL');
          await rejectsWithCode(store.delete(bad), 'EINVAL');
        }
      }),
    );

    test(
      'flush and sweepTemporaries succeed on an idle store and leave objects alone',
      withStore(async (store) => {
        await store.put('keep/me', Buffer.from('x'));
        await store.flush();
        assert.equal(await store.sweepTemporaries(), 0);
        assert.equal((await store.get('keep/me')).toString(), 'x');
      }),
    );
  });
}
